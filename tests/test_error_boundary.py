"""Whatever fails inside the server is answered with a fault envelope and HTTP 200 on /xml and
/json, never a plain 500; it is logged once, with the access-log line, and never with a
credential."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, cast

import httpx2
import pytest
from lxml import etree
from sqlalchemy import create_engine
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

import switchvox_server.app
from switchvox_server.faults import FAULTS
from switchvox_server.logs import server_log_config
from switchvox_server.methods.extensions import GET_INFO
from switchvox_server.methods.registry import Method, MethodContext, MethodRegistry
from switchvox_server.principals import Principal
from switchvox_server.protocol.request import ApiRequest
from switchvox_server.tree import Element
from tests.conftest import ADMIN_PASSWORD
from tests.helpers import fault, request_xml

INTERNAL = (FAULTS.INTERNAL_ERROR.code, FAULTS.INTERNAL_ERROR.template)
UNAVAILABLE = (FAULTS.DATABASE_UNAVAILABLE.code, FAULTS.DATABASE_UNAVAILABLE.template)
GET_INFO_JSON = json.dumps(
    {"request": {"method": GET_INFO, "parameters": {"extensions": ["301"]}}}
).encode()
BASIC = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()


def failing(error: BaseException) -> Callable[[ApiRequest, MethodContext], Element]:
    """A method handler that raises `error`."""

    def handler(request: ApiRequest, context: MethodContext) -> Element:
        raise error

    return handler


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch) -> Callable[[BaseException], None]:
    """Make getInfo's handler raise the given exception."""

    real_resolve = MethodRegistry.resolve

    def install(error: BaseException) -> None:
        def resolve(registry: MethodRegistry, name: str, principal: Principal) -> Method:
            method = real_resolve(registry, name, principal)
            if name != GET_INFO:
                return method
            return Method(method.name, method.access, failing(error))

        monkeypatch.setattr(MethodRegistry, "resolve", resolve)

    return install


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="switchvox_server")
    return caplog


@pytest.fixture
def http(live_server: str) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=live_server, trust_env=False, timeout=30) as client:
        yield client


def fault_of(response: httpx2.Response) -> tuple[int, str]:
    """The single (code, message) of an XML or JSON fault answer."""
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("application/json"):
        error = json.loads(response.content)["response"]["errors"]["error"]
        return int(error["code"]), str(error["message"])
    return fault(etree.fromstring(response.content))


def digest_header(http: httpx2.Client) -> str:
    """A Digest answer (RFC 2069 form) to a fresh challenge of the server."""
    challenge = http.post("/xml").headers.get_list("www-authenticate")[0]
    nonce = challenge.split('nonce="', 1)[1].split('"', 1)[0]
    ha1 = hashlib.md5(f"admin:switchvox_api_auth:{ADMIN_PASSWORD}".encode()).hexdigest()
    ha2 = hashlib.md5(b"POST:/xml").hexdigest()
    response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
    return (
        f'Digest username="admin", realm="switchvox_api_auth", nonce="{nonce}", uri="/xml",'
        f' response="{response}"'
    )


def access_lines(logs: pytest.LogCaptureFixture) -> list[dict[str, str]]:
    """The fields of each access-log line (their values are plain words here)."""
    lines = [r.getMessage() for r in logs.records if r.name == "switchvox_server.access"]
    return [dict(field.split("=", 1) for field in line.split()) for line in lines]


def assert_no_credential(logs: pytest.LogCaptureFixture, *secrets: str) -> None:
    """Check that no log record carries the admin password, the Basic token or `secrets`."""
    text = logs.text + "".join(record.getMessage() for record in logs.records)
    for secret in (ADMIN_PASSWORD, BASIC.split()[1], *secrets):
        assert secret not in text


@pytest.mark.parametrize(
    "error",
    [RuntimeError("boom"), KeyError("missing"), ValueError("bad"), AssertionError()],
    ids=lambda error: type(error).__name__,
)
def test_an_exception_in_a_method_is_fault_10008_logged_once(
    http: httpx2.Client,
    inject: Callable[[BaseException], None],
    logs: pytest.LogCaptureFixture,
    error: Exception,
) -> None:
    """Any unexpected exception of a handler, over real HTTP with Basic and with Digest, is
    fault 10008 with HTTP 200, one traceback and one access-log line, and no credential."""
    inject(error)
    authorization = digest_header(http)
    for header in (BASIC, authorization):
        logs.clear()
        response = http.post(
            "/xml",
            content=request_xml(GET_INFO, extensions="<extension>301</extension>"),
            headers={"Authorization": header},
        )
        assert fault_of(response) == INTERNAL
        tracebacks = [record for record in logs.records if record.exc_info]
        assert len(tracebacks) == 1
        assert tracebacks[0].exc_info is not None
        assert tracebacks[0].exc_info[1] is error
        [line] = access_lines(logs)
        assert (line["method"], line["outcome"], line["status"]) == (GET_INFO, "fault:10008", "200")
        assert_no_credential(logs, authorization.split("response=")[1])


def test_the_json_endpoint_answers_10008_in_json(
    http: httpx2.Client, inject: Callable[[BaseException], None], logs: pytest.LogCaptureFixture
) -> None:
    """On /json the same failure is the fault envelope in JSON, with HTTP 200."""
    inject(RuntimeError("boom"))
    response = http.post("/json", content=GET_INFO_JSON, headers={"Authorization": BASIC})
    assert fault_of(response) == INTERNAL
    assert len(access_lines(logs)) == 1


@pytest.fixture
def driver(database_url: str) -> ModuleType:
    """The DB-API module of the test database's driver."""
    return cast(ModuleType, create_engine(database_url).dialect.loaded_dbapi)


@pytest.mark.parametrize(
    "message", ["database is locked", "database or disk is full", "disk I/O error"]
)
def test_a_database_failure_in_a_method_is_fault_10007_with_its_cause(
    http: httpx2.Client,
    inject: Callable[[BaseException], None],
    logs: pytest.LogCaptureFixture,
    driver: ModuleType,
    message: str,
) -> None:
    """The driver's OperationalError raised anywhere in a method is fault 10007, logged on
    one line with its cause and no traceback."""
    error = driver.OperationalError(message)
    inject(error)
    response = http.post(
        "/xml",
        content=request_xml(GET_INFO, extensions="<extension>301</extension>"),
        headers={"Authorization": BASIC},
    )
    assert fault_of(response) == UNAVAILABLE
    assert not [record for record in logs.records if record.exc_info]
    causes = [r.getMessage() for r in logs.records if r.name == "switchvox_server.http.failures"]
    assert causes == [f"database unavailable: OperationalError: {error}"]
    [line] = access_lines(logs)
    assert (line["outcome"], line["status"]) == ("fault:10007", "200")
    assert_no_credential(logs)


def test_a_failing_authentication_lookup_is_a_fault_too(
    http: httpx2.Client,
    monkeypatch: pytest.MonkeyPatch,
    logs: pytest.LogCaptureFixture,
    driver: ModuleType,
) -> None:
    """A database failure while checking the credentials is fault 10007, not a 500."""

    def lookup(self: object, name: str) -> None:
        raise driver.OperationalError("unable to open database file")

    monkeypatch.setattr("switchvox_server.http.auth.Authenticator._lookup", lookup)
    response = http.post("/xml", content=request_xml(GET_INFO), headers={"Authorization": BASIC})
    assert fault_of(response) == UNAVAILABLE
    assert len(access_lines(logs)) == 1
    assert_no_credential(logs)


@pytest.mark.parametrize("path", ["/xml", "/json"])
def test_an_exception_outside_the_endpoint_is_fault_10008(
    monkeypatch: pytest.MonkeyPatch, settings: Any, logs: pytest.LogCaptureFixture, path: str
) -> None:
    """An exception that escapes the endpoint itself reaches Starlette's handler: still the
    fault envelope of the path's format with HTTP 200, and an access-log line."""

    def broken_endpoint(envelope: object) -> Callable[[Request], object]:
        async def endpoint(request: Request) -> Response:
            raise RuntimeError("outside the boundary")

        return endpoint

    monkeypatch.setattr(switchvox_server.app, "api_endpoint", broken_endpoint)
    app = switchvox_server.app.create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(path, content=b"", auth=("admin", ADMIN_PASSWORD))
    assert response.status_code == 200
    content_type = response.headers["content-type"]
    assert content_type.startswith("application/json" if path == "/json" else "application/xml")
    assert str(FAULTS.INTERNAL_ERROR.code) in response.text
    assert FAULTS.INTERNAL_ERROR.template in response.text
    [line] = access_lines(logs)
    assert (line["path"], line["outcome"], line["status"]) == (path, "fault:10008", "200")


def test_an_exception_on_another_path_is_a_json_500_with_its_access_line(
    monkeypatch: pytest.MonkeyPatch, settings: Any, logs: pytest.LogCaptureFixture
) -> None:
    """Off the API paths there is no fault envelope to answer with: a JSON 500, not
    Starlette's plain text, and still an access-log line."""

    async def broken_health(request: Request) -> Response:
        raise RuntimeError("health check broke")

    monkeypatch.setattr(switchvox_server.app, "healthz", broken_health)
    app = switchvox_server.app.create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/healthz")
    assert (response.status_code, response.json()) == (500, {"status": "error"})
    [line] = access_lines(logs)
    assert (line["path"], line["outcome"], line["status"]) == ("/healthz", "error", "500")


def test_the_pools_own_error_paths_reach_the_console() -> None:
    """`serve` gives SQLAlchemy's pool warnings (a connection that failed to reset or close)
    the server's console handler, beside uvicorn's own loggers."""
    config = server_log_config()
    assert config["loggers"]["sqlalchemy.pool"]["handlers"] == ["switchvox"]
    assert config["loggers"]["sqlalchemy.pool"]["level"] == "WARNING"
    assert "uvicorn.error" in config["loggers"]
