"""One engine and its session factories per application, and the schema migrations."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from switchvox_server.store.driver import (
    ConnectionSpec,
    begin_exclusive,
    configure_sqlite,
    require_driver,
)

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


def open_database(url: str) -> Database:
    """Create the engine for `url` with the per-dialect settings this server relies on."""
    require_driver(url)
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    event.listen(engine, "begin", _take_writer_lock)
    exclusive = engine.execution_options(exclusive_writer=True)
    return Database(
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        exclusive_sessions=sessionmaker(exclusive, expire_on_commit=False),
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        configure_sqlite(dbapi_connection)


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
    url = database.engine.url
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


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

    config = alembic_config(database.engine.url.render_as_string(hide_password=False))
    # The writer lock keeps two processes starting at once from migrating side by side.
    with database.engine.execution_options(exclusive_writer=True).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _migrations_path() -> Path:
    # A wheel carries the top-level alembic/ folder inside the package; a source checkout
    # (editable install) reads it where it stands.
    packaged = Path(str(resources.files("switchvox_server"))) / "migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "alembic"
