"""Connection limits over real servers: a deadline for every request head, a bound on
connections, and a bounded wait for requests in flight at shutdown."""

from __future__ import annotations

import base64
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import replace
from urllib.parse import urlsplit

import httpx2
import pytest

from switchvox_server.settings import Settings
from switchvox_server.testing import serve_app
from tests.conftest import ADMIN_PASSWORD
from tests.servers import UVICORN, server_process

HEAD_TIMEOUT = 1.0
AUTHORIZATION = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
# A request head sent a byte at a time: complete only after the deadline.
DRIBBLED_HEAD = b"POST /xml HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"


@contextmanager
def live(settings: Settings, **changes: object) -> Iterator[tuple[str, int]]:
    """The app served as `serve` serves it, with changed settings; (host, port)."""
    changed = replace(settings, **changes)  # type: ignore[arg-type]
    with serve_app(changed) as url:
        yield "127.0.0.1", urlsplit(url).port or 0


def connect(address: tuple[str, int]) -> socket.socket:
    """A non-blocking TCP connection to `address`."""
    connection = socket.create_connection(address, timeout=5)
    connection.setblocking(False)
    return connection


def is_closed(connection: socket.socket) -> bool:
    """Whether the server has closed `connection` (without waiting)."""
    readable, _, _ = select.select([connection], [], [], 0)
    if not readable:
        return False
    try:
        return connection.recv(65536) == b""
    except ConnectionResetError:
        return True


def healthz_seconds(http: httpx2.Client) -> float:
    """How long a successful /healthz takes, in seconds."""
    started = time.perf_counter()
    assert http.get("/healthz").status_code == 200
    return time.perf_counter() - started


@pytest.mark.slow
def test_idle_and_dribbling_connections_are_closed_after_the_head_timeout(
    settings: Settings,
) -> None:
    """50 connections that send nothing, one that dribbles its head a byte every 50 ms, and
    one that dribbles its second request's head after a first answer, are all closed about
    SWITCHVOX_HEADER_TIMEOUT after they began waiting, while /healthz answers within 0.5 s."""
    with (
        live(settings, header_timeout=HEAD_TIMEOUT) as address,
        ExitStack() as stack,
        httpx2.Client(base_url=f"http://{address[0]}:{address[1]}", trust_env=False) as http,
    ):
        reused = stack.enter_context(socket.create_connection(address, timeout=5))
        reused.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert reused.recv(65536).startswith(b"HTTP/1.1 200")
        reused.setblocking(False)
        started = time.monotonic()
        idle = [stack.enter_context(connect(address)) for _ in range(50)]
        dribbler = stack.enter_context(connect(address))
        waiting = [*idle, dribbler, reused]
        closed_after: dict[int, float] = {}
        slowest = 0.0
        sent = 0
        while len(closed_after) < len(waiting) and time.monotonic() - started < 5:
            for connection in (dribbler, reused):
                if id(connection) not in closed_after and sent < len(DRIBBLED_HEAD):
                    with suppress(BrokenPipeError, ConnectionResetError):
                        connection.send(DRIBBLED_HEAD[sent : sent + 1])
            sent += 1
            for connection in waiting:
                if id(connection) not in closed_after and is_closed(connection):
                    closed_after[id(connection)] = time.monotonic() - started
            slowest = max(slowest, healthz_seconds(http))
            time.sleep(0.05)
        assert len(closed_after) == len(waiting), "some connections were never closed"
        assert min(closed_after.values()) > HEAD_TIMEOUT - 0.1
        assert max(closed_after.values()) < HEAD_TIMEOUT + 1.5
        assert slowest < 0.5


@pytest.mark.slow
def test_connections_beyond_the_limit_are_closed_at_once(settings: Settings) -> None:
    """With SWITCHVOX_MAX_CONNECTIONS at 10, of 15 idle connections the 5 beyond the limit
    are closed at once, while the 10 stay open (until their head deadline)."""
    with live(settings, max_connections=10) as address, ExitStack() as stack:
        connections = [stack.enter_context(connect(address)) for _ in range(15)]
        time.sleep(0.5)
        closed = [connection for connection in connections if is_closed(connection)]
        assert len(closed) == 5


def test_a_request_over_the_limit_is_answered_503(settings: Settings) -> None:
    """When SWITCHVOX_MAX_CONNECTIONS connections are open, a request on one of them is
    answered 503 rather than left waiting."""
    with live(settings, max_connections=2) as address, ExitStack() as stack:
        stack.enter_context(connect(address))
        probe = stack.enter_context(socket.create_connection(address, timeout=5))
        probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert probe.recv(65536).startswith(b"HTTP/1.1 503")


def start_upload(address: tuple[str, int], body_sent: bytes) -> socket.socket:
    """An authenticated POST /xml whose 200-byte body is only begun, so it stays in flight."""
    connection = socket.create_connection(address, timeout=10)
    connection.sendall(
        b"POST /xml HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
        + f"Authorization: {AUTHORIZATION}\r\nContent-Length: 200\r\n\r\n".encode()
        + body_sent
    )
    return connection


@pytest.mark.slow
def test_shutdown_waits_for_requests_in_flight_up_to_its_timeout(settings: Settings) -> None:
    """At shutdown a request that completes within SWITCHVOX_SHUTDOWN_TIMEOUT gets its
    answer, and one that never does is given up after it: the server stops in about 1 s."""
    answers: list[bytes] = []
    with ExitStack() as sockets:
        with live(settings, shutdown_timeout=1) as address:
            finishing = sockets.enter_context(start_upload(address, b"<request/>"))
            sockets.enter_context(start_upload(address, b"<request"))
            time.sleep(0.3)  # both are being read

            def finish() -> None:
                time.sleep(0.3)
                finishing.sendall(b" " * 190)
                answers.append(finishing.recv(65536))

            finisher = threading.Thread(target=finish)
            finisher.start()
            stopping = time.monotonic()
        stopped_after = time.monotonic() - stopping
        finisher.join(10)
    assert answers, "the request that finished during shutdown got no answer"
    assert answers[0].startswith(b"HTTP/1.1 200")
    assert 0.9 < stopped_after < 5


@pytest.mark.slow
def test_uvicorn_run_directly_takes_the_head_deadline_from_the_environment(
    database_url: str,
) -> None:
    """`uvicorn switchvox_server.asgi:app --http switchvox_server.asgi:Protocol` closes a
    connection that sends nothing after SWITCHVOX_HEADER_TIMEOUT."""
    command = (*UVICORN, "--http", "switchvox_server.asgi:Protocol")
    environment = {"SWITCHVOX_HEADER_TIMEOUT": "1", "SWITCHVOX_WRITER_PROCESS": "false"}
    with server_process(database_url, env=environment, command=command) as server:
        host, _, port = server.url.removeprefix("http://").partition(":")
        with connect((host, int(port))) as idle:
            started = time.monotonic()
            while not is_closed(idle) and time.monotonic() - started < 5:
                time.sleep(0.05)
            assert 0.9 < time.monotonic() - started < 3
