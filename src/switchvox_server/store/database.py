"""One engine and its session factories per application, and the schema migrations."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from switchvox_server.faults import DatabaseUnavailable
from switchvox_server.settings import DEFAULT_DB_CONNECT_TIMEOUT, DEFAULT_DB_STATEMENT_TIMEOUT
from switchvox_server.store.driver import (
    ConnectionSpec,
    begin_exclusive,
    configure_sqlite,
    require_driver,
)
from switchvox_server.store.failures import database_failure

if TYPE_CHECKING:
    from alembic.config import Config


@dataclass(frozen=True, slots=True)
class Database:
    """The engine with two session factories: one for reads, one for serialised bulk writes."""

    engine: Engine
    sessions: sessionmaker[Session]
    exclusive_sessions: sessionmaker[Session]

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(
    url: str,
    *,
    connect_timeout: float = DEFAULT_DB_CONNECT_TIMEOUT,
    statement_timeout: float = DEFAULT_DB_STATEMENT_TIMEOUT,
) -> Database:
    """Create the engine for `url` with the per-dialect settings this server relies on, and
    the timeouts (in seconds) that bound how long a failing database can hold a request."""
    require_driver(url)
    parsed = make_url(url)
    deadlines = parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg"
    options: dict[str, Any] = {
        # Error messages (and so log lines) never carry a statement's values: secrets.
        "hide_parameters": True,
        # With deadlines, pooled connections are pinged by them, within the connect timeout.
        "pool_pre_ping": not deadlines,
    }
    if not _in_memory(parsed):  # its single-connection pool has no queue to wait in
        options["pool_timeout"] = connect_timeout
    engine = create_engine(parsed, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, statement_timeout)
    elif deadlines:
        from switchvox_server.store.postgres import install_deadlines

        install_deadlines(engine, connect_timeout, statement_timeout)
    event.listen(engine, "begin", _take_writer_lock)
    exclusive = engine.execution_options(exclusive_writer=True)
    return Database(
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        exclusive_sessions=sessionmaker(exclusive, expire_on_commit=False),
    )


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        configure_sqlite(dbapi_connection, busy_timeout=busy_timeout)


def _take_writer_lock(connection: Connection) -> None:
    # The "begin" event of SQLAlchemy's documented pysqlite recipe: SQLite transactions
    # are begun here, and an exclusive writer takes the writer lock as it begins.
    dialect = connection.dialect.name
    if connection.get_execution_options().get("exclusive_writer"):
        begin_exclusive(connection.connection.driver_connection, dialect)
    elif dialect == "sqlite":
        connection.exec_driver_sql("BEGIN")


def shared_between_processes(database: Database) -> bool:
    """Whether another process opening the same URL reaches the same data: not so for an
    in-memory SQLite database."""
    return not _in_memory(database.engine.url)


def _in_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def failure_of(database: Database, error: BaseException) -> DatabaseUnavailable | None:
    """What `error` means if the database failed under it (see store.failures), else None."""
    return database_failure(error, database.engine.dialect.dbapi, database.engine.url.password)


def connection_spec(database: Database) -> ConnectionSpec:
    """How a helper process opens its own DB-API connection to this store."""
    dialect = database.engine.dialect
    assert dialect.dbapi is not None
    args, kwargs = dialect.create_connect_args(database.engine.url)
    # SQLAlchemy's own adapters for psycopg: the helper's plain values need none.
    kwargs.pop("context", None)
    return ConnectionSpec(dialect.name, dialect.dbapi.__name__, tuple(args), dict(kwargs))


def alembic_config(url: str) -> Config:
    """The Alembic configuration for the migrations shipped with the package."""
    # Imported here: the helper process that stores large uploads never migrates, and
    # Alembic would add a tenth to its memory.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_migrations_path()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(database: Database) -> None:
    """Bring the schema up to the newest revision, on the application's own engine."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    config = alembic_config(database.engine.url.render_as_string(hide_password=False))
    # The writer lock keeps two processes starting at once from migrating side by side.
    with database.engine.execution_options(exclusive_writer=True).begin() as connection:
        # A store already at the newest revision (every start but the first after an
        # upgrade) is left as it is, without running Alembic's environment.
        current = MigrationContext.configure(connection).get_current_heads()
        if current == (_newest_revision(),):
            return
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@cache
def _newest_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(_migrations_path())).get_current_head()


def _migrations_path() -> Path:
    # A wheel carries the top-level alembic/ folder inside the package; a source checkout
    # (editable install) reads it where it stands.
    packaged = Path(str(resources.files("switchvox_server"))) / "migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "alembic"
