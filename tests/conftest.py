"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when
TEST_DATABASE_URL is set), the app under test, and a live server on loopback."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest
import uvicorn
from sqlalchemy import create_engine, make_url, text
from starlette.applications import Starlette
from starlette.testclient import TestClient

from switchvox_server import passwords
from switchvox_server.app import create_app
from switchvox_server.http.auth import Authenticator
from switchvox_server.http.throttle import FailureThrottle
from switchvox_server.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
ADMIN_PASSWORD = "admin-secret"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
# The least work scrypt accepts: admin accounts are hashed in almost every test, and the
# production cost (tens of milliseconds each) buys the tests nothing.
CHEAP_SCRYPT = passwords.ScryptCost(n=2, r=1, p=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip, visibly, the tests marked `postgres` when TEST_DATABASE_URL is unset."""
    if TEST_DATABASE_URL:
        return
    skip = pytest.mark.skip(reason="needs TEST_DATABASE_URL (PostgreSQL)")
    for item in items:
        if item.get_closest_marker("postgres") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def cheap_scrypt(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash admin passwords at the cheapest scrypt cost in this process, unless the test is
    marked `real_scrypt`. Servers in subprocesses (tests/servers.py) keep the real cost."""
    if request.node.get_closest_marker("real_scrypt") is None:
        monkeypatch.setattr(passwords, "SCRYPT_COST", CHEAP_SCRYPT)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A PostgreSQL database of this test run's own, created beside TEST_DATABASE_URL's, so
    that concurrent runs on one server never drop each other's tables."""
    if not TEST_DATABASE_URL:
        yield None
        return
    server = make_url(TEST_DATABASE_URL)
    name = f"switchvox_test_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path, postgres_url: str | None) -> str:
    """An empty database: a fresh SQLite file, or the run's PostgreSQL database emptied."""
    if postgres_url is None:
        return f"sqlite:///{tmp_path / 'switchvox.db'}"
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return postgres_url


@pytest.fixture
def cli_environment(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment a command run in-process sees: the test database and admin password,
    and no other SWITCHVOX_ setting of the machine."""
    for name in list(os.environ):
        if name.startswith("SWITCHVOX_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SWITCHVOX_ADMIN_PASSWORD", ADMIN_PASSWORD)


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Helper processes for large uploads are tested on their own (test_writer.py); an app
    # started per test would otherwise start one each.
    return Settings(database_url=database_url, admin_password=ADMIN_PASSWORD, writer_process=False)


@pytest.fixture
def make_client(settings: Settings) -> Iterator[Callable[..., TestClient]]:
    """Start the app with changed settings; every client started is closed afterwards."""
    clients: list[TestClient] = []

    def start(**changes: object) -> TestClient:
        client = TestClient(create_app(replace(settings, **changes)))  # type: ignore[arg-type]
        client.__enter__()
        client.auth = ("admin", ADMIN_PASSWORD)
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(app: Starlette, port: int, **options: Any) -> Iterator[None]:
    """Serve `app` with uvicorn on 127.0.0.1:`port` in a thread while the block runs."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    with serving(create_app(settings), port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def unthrottled(client: TestClient) -> TestClient:
    """The app with a throttle that never holds an address back or delays an answer, so that
    every sign-in is checked."""
    state = cast(Starlette, client.app).state
    state.sign_in = replace(state.sign_in, throttle=FailureThrottle(free=10**9))
    return client


@pytest.fixture
def authenticator(client: TestClient) -> Authenticator:
    """The running app's Authenticator, to check headers without HTTP."""
    return cast(Authenticator, cast(Starlette, client.app).state.authenticator)
