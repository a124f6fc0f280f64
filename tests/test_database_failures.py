"""A failing database answers fault 10007 with HTTP 200, writes nothing, logs its cause and
costs a request seconds, not forever; service resumes by itself once the database answers.

PostgreSQL's failures go through a proxy this test controls (tests/db_proxy.py): cut,
silent, back. SQLite's are a lock held by another connection and a full database.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
import psycopg
import pytest
from lxml import etree
from sqlalchemy import event, exc, make_url
from starlette.testclient import TestClient

from switchvox_server.app import create_app
from switchvox_server.faults import FAULTS, DatabaseUnavailable
from switchvox_server.http import readiness
from switchvox_server.http.readiness import READINESS_TIMEOUT_SECONDS, ReadinessCheck
from switchvox_server.methods.extensions import GET_INFO, SEARCH
from switchvox_server.settings import Settings
from switchvox_server.store.driver import BULK_WRITE_LOCK_KEY
from switchvox_server.store.failures import database_failure
from switchvox_server.store.postgres import SERVER_GRACE_SECONDS
from switchvox_server.testing import serve_app
from tests.conftest import ADMIN_PASSWORD
from tests.db_proxy import DatabaseProxy, Mode, proxied
from tests.helpers import fault, request_xml, stored_extensions, upload
from tests.servers import AUTH, csv_bytes, post_upload, report_of, wait_for, writer_lock_held

UNAVAILABLE = (FAULTS.DATABASE_UNAVAILABLE.code, FAULTS.DATABASE_UNAVAILABLE.template)
# Short timeouts keep the suite quick; the bounds below scale with them. libpq's connect
# timeout is whole seconds, at least 2.
CONNECT_TIMEOUT = 2.0
STATEMENT_TIMEOUT = 1.0
# A request meets one failed wait: a ping and a new connection, or one statement. Plus slack
# for a loaded machine. (With the defaults: max(10, 16) s, inside the 20 s promised.)
FAULT_WITHIN = max(2 * CONNECT_TIMEOUT, STATEMENT_TIMEOUT + SERVER_GRACE_SECONDS) + 3.0
SEEDED = range(3000, 3010)
LATER = range(4000, 4010)
MID_STREAM_ROWS = 20_000


@dataclass(frozen=True, slots=True)
class ProxiedServer:
    proxy: DatabaseProxy
    url: str
    direct_url: str  # the database itself, past the proxy, for checking what was stored


@contextmanager
def serving_through_a_proxy(database_url: str, **timeouts: float) -> Iterator[ProxiedServer]:
    """The server on a live port, its database reached through a proxy the test drives."""
    with proxied(database_url) as (proxy, url):
        settings = Settings(
            database_url=url,
            admin_password=ADMIN_PASSWORD,
            writer_process=False,
            **timeouts,  # type: ignore[arg-type]  # only the float timeouts are passed
        )
        with serve_app(settings) as url:
            yield ProxiedServer(proxy, url, database_url)


@pytest.fixture
def proxied_server(database_url: str) -> Iterator[ProxiedServer]:
    with serving_through_a_proxy(
        database_url, db_connect_timeout=CONNECT_TIMEOUT, db_statement_timeout=STATEMENT_TIMEOUT
    ) as server:
        yield server


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="switchvox_server")
    return caplog


def fault_of(response: httpx2.Response) -> tuple[int, str]:
    """The single (code, message) of a fault answer."""
    assert response.status_code == 200, response.text
    return fault(etree.fromstring(response.content))


def api_calls(http: httpx2.Client, url: str) -> dict[str, Callable[[], httpx2.Response]]:
    """getInfo, search and a bulk upload of LATER, each ready to send."""

    def call(envelope: bytes) -> Callable[[], httpx2.Response]:
        return lambda: http.post(f"{url}/xml", content=envelope, auth=AUTH)

    return {
        "getInfo": call(request_xml(GET_INFO, extensions="<extension>3000</extension>")),
        "search": call(request_xml(SEARCH)),
        "upload": lambda: post_upload(http, url, csv_bytes(LATER)),
    }


def assert_answers(response: httpx2.Response) -> None:
    """Check that `response` is an answer with a result, not a fault."""
    assert response.status_code == 200, response.text
    assert etree.fromstring(response.content).find("result") is not None, response.text


# --------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("mode", [Mode.CUT, Mode.SILENT], ids=lambda mode: mode.value)
def test_requests_during_an_outage_get_10007_and_service_resumes(
    proxied_server: ProxiedServer, mode: Mode, logs: pytest.LogCaptureFixture
) -> None:
    """With the database cut off or silent, getInfo, search and an upload each answer 10007
    within the bound and the upload stores nothing; once it is back, all three work at once."""
    server = proxied_server
    with httpx2.Client(trust_env=False, timeout=60) as http:
        report_of(post_upload(http, server.url, csv_bytes(SEEDED)))
        server.proxy.set_mode(mode)
        for name, send in api_calls(http, server.url).items():
            started = time.monotonic()
            response = send()
            assert fault_of(response) == UNAVAILABLE, name
            assert time.monotonic() - started < FAULT_WITHIN, name
        assert set(stored_extensions(server.direct_url)) == {str(number) for number in SEEDED}

        server.proxy.set_mode(Mode.PASS)
        for send in api_calls(http, server.url).values():
            assert_answers(send())
    assert set(stored_extensions(server.direct_url)) == {str(n) for n in (*SEEDED, *LATER)}
    causes = [r.getMessage() for r in logs.records if r.name == "switchvox_server.http.failures"]
    assert len(causes) == 3
    assert all(cause.startswith("database unavailable: ") for cause in causes)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("mode", [Mode.CUT, Mode.SILENT], ids=lambda mode: mode.value)
def test_an_upload_cut_off_mid_stream_stores_nothing(
    proxied_server: ProxiedServer, mode: Mode
) -> None:
    """An upload whose database is cut off or falls silent while it stores its rows answers
    10007 within the bound and leaves none of them; the next upload is stored."""
    server = proxied_server
    rows = csv_bytes(range(100_000, 100_000 + MID_STREAM_ROWS))

    def send() -> httpx2.Response:
        with httpx2.Client(trust_env=False, timeout=120) as http:
            return post_upload(http, server.url, rows)

    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(send)
        wait_for(
            lambda: writer_lock_held(server.direct_url) or pending.done(),
            timeout=60,
            what="the upload holds the writer lock",
        )
        assert not pending.done(), "the upload ended before the database failed"
        server.proxy.set_mode(mode)
        switched = time.monotonic()
        response = pending.result(timeout=120)
    assert fault_of(response) == UNAVAILABLE
    assert time.monotonic() - switched < FAULT_WITHIN
    assert set(stored_extensions(server.direct_url)) == set()

    server.proxy.set_mode(Mode.PASS)
    with httpx2.Client(trust_env=False, timeout=60) as http:
        assert report_of(post_upload(http, server.url, csv_bytes(SEEDED)))["created"]
    assert set(stored_extensions(server.direct_url)) == {str(number) for number in SEEDED}


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("mode", [Mode.CUT, Mode.SILENT], ids=lambda mode: mode.value)
def test_readiness_follows_the_database_and_health_never_waits(
    proxied_server: ProxiedServer, mode: Mode
) -> None:
    """With the database cut off or silent, /readyz says 503 within the readiness timeout and
    /healthz answers at once; when it is back, /readyz says ready again by itself."""
    server = proxied_server
    with httpx2.Client(base_url=server.url, trust_env=False, timeout=30) as http:
        assert http.get("/readyz").status_code == 200
        server.proxy.set_mode(mode)
        for _ in range(3):  # later probes share the check still in flight
            started = time.monotonic()
            assert http.get("/readyz").status_code == 503
            assert time.monotonic() - started < READINESS_TIMEOUT_SECONDS + 1.0
            started = time.monotonic()
            assert http.get("/healthz").status_code == 200
            assert time.monotonic() - started < 0.5
        server.proxy.set_mode(Mode.PASS)
        wait_for(
            lambda: http.get("/readyz").status_code == 200,
            timeout=2 * CONNECT_TIMEOUT + READINESS_TIMEOUT_SECONDS + 5,
            what="/readyz says ready again",
        )


@pytest.mark.postgres
@pytest.mark.slow
def test_with_the_default_timeouts_a_silent_database_is_answered_in_time(
    database_url: str,
) -> None:
    """With the default timeouts and a silent database, /readyz says not ready within 5 s
    and getInfo, its pooled connection pinged first, answers 10007 within 20 s."""
    with (
        serving_through_a_proxy(database_url) as server,
        httpx2.Client(base_url=server.url, trust_env=False, timeout=60) as http,
    ):
        get_info = api_calls(http, server.url)["getInfo"]
        assert_answers(get_info())  # a connection now waits in the pool
        server.proxy.set_mode(Mode.SILENT)
        started = time.monotonic()
        assert http.get("/readyz").status_code == 503
        assert time.monotonic() - started < 5.0
        started = time.monotonic()
        assert fault_of(get_info()) == UNAVAILABLE
        assert time.monotonic() - started < 20.0


# --------------------------------------------------------------------------- both stores


@contextmanager
def writer_lock_taken(database_url: str) -> Iterator[None]:
    """Another connection holds the bulk writer lock while the block runs."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(False)) as locker:
        locker.execute("SELECT pg_advisory_xact_lock(%s)", (BULK_WRITE_LOCK_KEY,))
        yield
        locker.rollback()


@pytest.mark.slow
def test_a_lock_held_too_long_is_10007_while_reads_go_on(
    make_client: Callable[..., TestClient], database_url: str, logs: pytest.LogCaptureFixture
) -> None:
    """An upload that waits longer than the statement timeout for the writer lock answers
    10007 and stores nothing, while getInfo still answers; with the lock free it is stored."""
    client = make_client(db_statement_timeout=0.5)
    with writer_lock_taken(database_url):
        started = time.monotonic()
        assert fault(upload(client, csv_bytes(SEEDED))) == UNAVAILABLE
        assert time.monotonic() - started < 0.5 + SERVER_GRACE_SECONDS + 3.0
        envelope = request_xml(GET_INFO, extensions="<extension>3000</extension>")
        answer = etree.fromstring(client.post("/xml", content=envelope).content)
        assert answer.find("result") is not None
    assert set(stored_extensions(database_url)) == set()
    [cause] = [r.getMessage() for r in logs.records if r.name == "switchvox_server.http.failures"]
    # PostgreSQL's statement_timeout starts first, so it fires before an equal lock_timeout.
    assert "database is locked" in cause or "statement timeout" in cause
    assert len(upload(client, csv_bytes(SEEDED)).findall(".//created/extension")) == len(SEEDED)


def test_the_statement_timeout_reaches_the_database(
    make_client: Callable[..., TestClient],
) -> None:
    """SWITCHVOX_DB_STATEMENT_TIMEOUT is the busy timeout of SQLite, and PostgreSQL's
    statement_timeout and lock_timeout, on every connection of the server."""
    client = make_client(db_statement_timeout=2.5)
    engine = client.app.state.database.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500
        else:
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "2500ms"
            assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "2500ms"


def test_a_failure_after_the_commit_does_not_deny_the_stored_upload(
    make_client: Callable[..., TestClient],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    logs: pytest.LogCaptureFixture,
) -> None:
    """The planner statistics refreshed after a large upload has committed are a nicety: if
    the database fails then, the client still gets the report of what was stored."""
    client = make_client()
    dbapi = client.app.state.database.engine.dialect.dbapi  # type: ignore[attr-defined]

    def fail(session: object) -> None:
        raise dbapi.OperationalError("the connection is lost")

    monkeypatch.setattr("switchvox_server.store.queries.refresh_statistics", fail)
    numbers = range(10_000, 11_000)  # enough rows to refresh the statistics
    assert len(upload(client, csv_bytes(numbers)).findall(".//created/extension")) == 1000
    assert set(stored_extensions(database_url)) == {str(number) for number in numbers}
    assert any("statistics" in record.getMessage() for record in logs.records)


# --------------------------------------------------------------------------- SQLite


def test_a_full_database_is_10007_and_stores_nothing(
    tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    """An upload that runs out of space (SQLite's page limit, as a full disk does) answers
    10007 with the cause logged, and none of its rows is stored."""
    database_url = f"sqlite:///{tmp_path / 'full.db'}"
    settings = Settings(database_url=database_url, admin_password=ADMIN_PASSWORD)
    with TestClient(create_app(settings)) as client:
        client.auth = AUTH
        engine = client.app.state.database.engine  # type: ignore[attr-defined]
        with engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar()

        def cap(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 2}")

        event.listen(engine, "connect", cap)
        engine.dispose()  # the pooled connections had no cap
        assert fault(upload(client, csv_bytes(range(10_000, 13_000)))) == UNAVAILABLE
    assert set(stored_extensions(database_url)) == set()
    causes = [r.getMessage() for r in logs.records if r.name == "switchvox_server.http.failures"]
    assert causes == ["database unavailable: OperationalError: database or disk is full"]


# --------------------------------------------------------------------------- the parts


class _Unreachable(psycopg.OperationalError):
    pass


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database is locked"),
        sqlite3.OperationalError("database or disk is full"),
        sqlite3.InterfaceError("bad parameter or other API misuse"),
        exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("disk I/O error")),
        exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
        exc.InvalidatePoolError("a pooled connection failed its ping"),
        RuntimeError("while rolling back"),  # raised while handling one: see below
        DatabaseUnavailable("the writer process lost its connection"),
    ],
    ids=lambda error: f"{type(error).__name__}:{error}"[:60],
)
def test_database_failures_are_recognised(error: BaseException) -> None:
    """Every kind of database failure, wrapped by SQLAlchemy or raw from the driver, or as
    the cause of another exception, is recognised, with its cause in one line."""
    if isinstance(error, RuntimeError):
        error.__context__ = sqlite3.OperationalError("database is locked")
    failure = database_failure(error, sqlite3)
    assert failure is not None
    assert "\n" not in str(failure)


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.IntegrityError("UNIQUE constraint failed: extensions.number"),
        sqlite3.ProgrammingError("Cannot operate on a closed cursor"),
        exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")),
        ValueError("not a database problem"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_defects_are_not_database_failures(error: BaseException) -> None:
    """A constraint, a misuse of the driver or any other error is a defect of the server
    (fault 10008), not the database being unavailable."""
    assert database_failure(error, sqlite3) is None


def test_the_cause_names_no_password_and_no_statement_values() -> None:
    """The cause is the driver message's first line, without the database password, even
    when a message repeats it, and never SQLAlchemy's statement and parameters."""
    wrapped = exc.OperationalError(
        "INSERT INTO extensions VALUES (?)",
        ("secret-ha1",),
        _Unreachable('connection to "db" failed: password "hunter2" refused\nDETAIL: more'),
    )
    failure = database_failure(wrapped, psycopg, "hunter2")
    assert str(failure) == '_Unreachable: connection to "db" failed: password "***" refused'


def test_one_readiness_check_runs_however_many_probes_arrive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Probes that arrive while a check is running wait for that check, each at most the
    readiness timeout, instead of starting one each."""
    monkeypatch.setattr(readiness, "READINESS_TIMEOUT_SECONDS", 0.1)
    started: list[float] = []

    def slow_ping(self: ReadinessCheck) -> str | None:
        started.append(time.monotonic())
        time.sleep(0.5)
        return None

    monkeypatch.setattr(ReadinessCheck, "_ping", slow_ping)
    check = ReadinessCheck(database=None)  # type: ignore[arg-type]

    async def probe_five() -> list[str | None]:
        return await asyncio.gather(*(check.problem() for _ in range(5)))

    problems = asyncio.run(probe_five())
    assert len(started) == 1
    assert all(problem is not None and "within 0.1 s" in problem for problem in problems)
