"""Shared fixtures: a migrated database of each test's own (SQLite by default, PostgreSQL
when TEST_DATABASE_URL is set), the app under test, and a live server on loopback."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, MetaData, Table, create_engine, make_url, text
from starlette.applications import Starlette
from starlette.testclient import TestClient

from switchvox_server import passwords
from switchvox_server.app import create_app
from switchvox_server.http.auth import Authenticator
from switchvox_server.http.throttle import FailureThrottle
from switchvox_server.settings import Settings
from switchvox_server.store.database import migrate, open_database
from switchvox_server.testing import ServerThread

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


class StoppingServers:
    """Live servers told to stop whose threads are joined later: uvicorn takes 0.1 to 0.2 s
    to stop, and a test need not wait for it while the server's database is its own."""

    def __init__(self) -> None:
        self._servers: list[ServerThread] = []

    def add(self, server: ServerThread) -> None:
        server.stop()
        self._servers.append(server)

    def join(self) -> None:
        """Wait until every server told to stop has stopped."""
        while self._servers:
            self._servers.pop().join()


class TestDatabases:
    """Where each test's database comes from: one migrated once per run. On SQLite each test
    gets a copy of its file; on PostgreSQL the run has a database of its own (so concurrent
    runs on one server never touch each other's), put back before each test to the rows and
    sequence values the migrations left, in one transaction."""

    def __init__(self, directory: Path, stopping: StoppingServers) -> None:
        self._stopping = stopping
        self._server = make_url(TEST_DATABASE_URL) if TEST_DATABASE_URL else None
        self._admin = (
            None
            if self._server is None
            else create_engine(self._server, isolation_level="AUTOCOMMIT")
        )
        self._name = f"switchvox_test_{os.getpid()}"
        self._template_file = directory / "template.db"
        self._url = self._create(self._name, self._template_file)
        database = open_database(self._url)
        try:
            migrate(database)
        finally:
            database.dispose()
        self._engine = None if self._server is None else create_engine(self._url)
        self._snapshot = None if self._engine is None else _Snapshot.of(self._engine)

    def migrated(self, directory: Path) -> str:
        """A database at the newest revision with nothing stored in it."""
        if self._engine is None or self._snapshot is None:
            shutil.copyfile(self._template_file, directory / "switchvox.db")
            return f"sqlite:///{directory / 'switchvox.db'}"
        # The previous test's server may still be stopping on the database put back here.
        self._stopping.join()
        self._snapshot.restore(self._engine)
        return self._url

    def empty(self, directory: Path) -> str:
        """A database without a single table."""
        return self._create(f"{self._name}_empty", directory / "empty.db")

    def close(self) -> None:
        if self._admin is None or self._engine is None:
            return
        self._stopping.join()
        self._engine.dispose()
        with self._admin.connect() as connection:
            for name in (self._name, f"{self._name}_empty"):
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        self._admin.dispose()

    def _create(self, name: str, file: Path) -> str:
        """The database `name` made anew on PostgreSQL, else the SQLite `file`."""
        if self._server is None or self._admin is None:
            return f"sqlite:///{file}"
        with self._admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {name}"))
        return self._server.set(database=name).render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """The rows of every table and the state of every sequence of a PostgreSQL database.
    Putting them back costs a few milliseconds, where making a database anew costs from 60
    to 500 (it writes and syncs every file of the copy)."""

    tables: list[Table]
    rows: dict[str, list[dict[str, Any]]]
    sequences: list[tuple[str, str, int | None, int]]

    @classmethod
    def of(cls, engine: Engine) -> _Snapshot:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            rows = {
                table.name: [dict(row._mapping) for row in connection.execute(table.select())]
                for table in metadata.sorted_tables
            }
            sequences = connection.execute(
                text("SELECT schemaname, sequencename, last_value, start_value FROM pg_sequences")
            ).all()
        return cls(metadata.sorted_tables, rows, [tuple(row) for row in sequences])

    def restore(self, engine: Engine) -> None:
        with engine.begin() as connection:
            # A test that left a lock behind fails the next one here, rather than hanging it.
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            for table in reversed(self.tables):
                connection.execute(table.delete())
            for table in self.tables:
                if self.rows[table.name]:
                    connection.execute(table.insert(), self.rows[table.name])
            for schema, name, last_value, start in self.sequences:
                connection.execute(
                    text(
                        "SELECT setval(format('%I.%I', CAST(:schema AS text), CAST(:name AS text))"
                        "::regclass, CAST(:at AS bigint), CAST(:used AS boolean))"
                    ),
                    {
                        "schema": schema,
                        "name": name,
                        "at": start if last_value is None else last_value,
                        "used": last_value is not None,
                    },
                )


@pytest.fixture(scope="session")
def stopping_servers() -> Iterator[StoppingServers]:
    stopping = StoppingServers()
    yield stopping
    stopping.join()


@pytest.fixture(scope="session")
def test_databases(
    tmp_path_factory: pytest.TempPathFactory, stopping_servers: StoppingServers
) -> Iterator[TestDatabases]:
    databases = TestDatabases(tmp_path_factory.mktemp("template"), stopping_servers)
    yield databases
    databases.close()


@pytest.fixture
def database_url(tmp_path: Path, test_databases: TestDatabases) -> str:
    """A database of this test's own, migrated, with nothing stored in it yet."""
    return test_databases.migrated(tmp_path)


@pytest.fixture
def empty_database_url(tmp_path: Path, test_databases: TestDatabases) -> str:
    """A database of this test's own without a single table, for tests of the migrations."""
    return test_databases.empty(tmp_path)


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


@pytest.fixture
def start_server(
    settings: Settings, stopping_servers: StoppingServers
) -> Iterator[Callable[..., str]]:
    """Serve the app with uvicorn on a free loopback port (for `settings`, or other settings,
    or a given app); returns its base URL. Each server stops when the test ends."""
    started: list[ServerThread] = []

    def start(changed: Settings | None = None, *, app: Starlette | None = None) -> str:
        server = ServerThread(changed or settings, app=app)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        stopping_servers.add(server)


@pytest.fixture
def live_server(start_server: Callable[..., str]) -> str:
    """The app served by uvicorn on a free loopback port; its base URL."""
    return start_server()


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
