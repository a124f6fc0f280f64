"""`GET` and `HEAD` on the API paths, sent as a browser's exact bytes over a real socket."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
from lxml import etree

from switchvox_server.profiles import Profile
from switchvox_server.settings import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.test_auth_http import DIGEST_CHALLENGE, basic, digest

# What Firefox sends when a person types the address into its bar.
BROWSER_HEADERS = (
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate, br, zstd\r\n"
    b"Connection: keep-alive\r\n"
    b"Upgrade-Insecure-Requests: 1\r\n"
    b"Sec-Fetch-Dest: document\r\n"
    b"Sec-Fetch-Mode: navigate\r\n"
    b"Sec-Fetch-Site: none\r\n"
    b"Sec-Fetch-User: ?1\r\n"
    b"Priority: u=0, i\r\n"
)
EMPTY_REQUEST = (10001, "The request was empty.")


@pytest.fixture(params=list(Profile), ids=lambda profile: profile.value)
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Every test here runs under both profiles."""
    return replace(settings, profile=request.param)


def browser(
    base_url: str, verb: str, path: str, authorization: str | None = None
) -> tuple[http.client.HTTPResponse, bytes]:
    """Send the browser's request bytes on a fresh socket; the response and its body."""
    address = urlsplit(base_url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    head = f"{verb} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode() + BROWSER_HEADERS
    if authorization is not None:
        head += f"Authorization: {authorization}\r\n".encode()
    with socket.create_connection((host, port), timeout=30) as connection:
        connection.sendall(head + b"\r\n")
        response = http.client.HTTPResponse(connection, method=verb)
        response.begin()
        body = response.read()
    return response, body


def nonce_of(response: http.client.HTTPResponse) -> str:
    """The nonce of the one Digest challenge of `response`."""
    challenges = response.headers.get_all("WWW-Authenticate") or []
    matches = [DIGEST_CHALLENGE.fullmatch(value) for value in challenges]
    found = [match.group(1) for match in matches if match]
    assert len(found) == 1, challenges
    return found[0]


def fault_of(path: str, body: bytes) -> tuple[object, str]:
    """The (code, message) of an XML or JSON fault envelope, code as written."""
    if path == "/json":
        error = json.loads(body)["response"]["errors"]["error"]
        return error["code"], error["message"]
    node = etree.fromstring(body).find("errors/error")
    assert node is not None, body
    return int(node.get("code", "")), node.get("message", "")


@pytest.mark.parametrize("path", ["/xml", "/json"])
@pytest.mark.parametrize("verb", ["GET", "HEAD"])
def test_browser_without_credentials_is_challenged(live_server: str, verb: str, path: str) -> None:
    """A browser's GET or HEAD without credentials gets the 401 with both challenges."""
    response, _ = browser(live_server, verb, path)
    assert response.status == 401
    challenges = response.headers.get_all("WWW-Authenticate") or []
    assert 'Basic realm="switchvox_api_auth"' in challenges
    nonce_of(response)


@pytest.mark.parametrize("path", ["/xml", "/json"])
@pytest.mark.parametrize("scheme", ["basic", "digest"])
def test_browser_get_with_credentials_is_the_empty_request_fault(
    live_server: str, settings: Settings, path: str, scheme: str
) -> None:
    """Signed in with Basic or Digest, a browser's GET answers HTTP 200 and fault 10001 in
    the path's format, the code typed as the profile writes it."""
    if scheme == "basic":
        authorization = basic("admin", ADMIN_PASSWORD)
    else:
        nonce = nonce_of(browser(live_server, "GET", path)[0])
        authorization = digest("admin", ADMIN_PASSWORD, nonce, uri=path, method="GET")
    response, body = browser(live_server, "GET", path, authorization)
    assert response.status == 200, body
    code, message = fault_of(path, body)
    assert message == EMPTY_REQUEST[1]
    as_strings = settings.profile is Profile.MODERN and path == "/json"
    assert code == (str(EMPTY_REQUEST[0]) if as_strings else EMPTY_REQUEST[0])
    expected_type = "application/json" if path == "/json" else "application/xml"
    assert (response.headers.get("Content-Type") or "").startswith(expected_type)


@pytest.mark.parametrize("path", ["/xml", "/json"])
def test_head_with_credentials_is_200_without_a_body(live_server: str, path: str) -> None:
    """HEAD with valid credentials answers 200 and sends no body."""
    response, body = browser(live_server, "HEAD", path, basic("admin", ADMIN_PASSWORD))
    assert response.status == 200
    assert body == b""


def test_get_with_wrong_credentials_is_challenged(live_server: str) -> None:
    """A wrong password on GET is a 401 like on POST, never the fault envelope."""
    response, _ = browser(live_server, "GET", "/xml", basic("admin", "wrong"))
    assert response.status == 401


@pytest.mark.parametrize("path", ["/", "/favicon.ico", "/xmlx", "/api/xml"])
def test_other_paths_are_404_with_a_hint(live_server: str, path: str) -> None:
    """Any other path answers 404 with one line of plain text naming /xml and /json."""
    response, body = browser(live_server, "GET", path)
    assert response.status == 404
    assert (response.headers.get("Content-Type") or "").startswith("text/plain")
    text = body.decode()
    assert text.count("\n") == 1
    assert text.endswith("\n")
    assert "/xml" in text
    assert "/json" in text


def test_other_verbs_on_the_api_paths_stay_405(live_server: str) -> None:
    """PUT and DELETE on /xml are still HTTP-level refusals (405), not faults."""
    for verb in ("PUT", "DELETE"):
        response, _ = browser(live_server, verb, "/xml", basic("admin", ADMIN_PASSWORD))
        assert response.status == 405
