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

if TYPE_CHECKING:
    from alembic.config import Config

# Every bulk writer takes this PostgreSQL advisory lock for its transaction, so uploads
# from any number of server processes apply one after another and never race on a number.
BULK_WRITE_LOCK_KEY = 0x5356_0001
SQLITE_BUSY_TIMEOUT_MS = 60_000


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
    # pysqlite's own transaction handling begins transactions late and never with
    # IMMEDIATE; SQLAlchemy's documented recipe hands that job to the "begin" event.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _take_writer_lock(connection: Connection) -> None:
    exclusive = bool(connection.get_execution_options().get("exclusive_writer"))
    if connection.dialect.name == "sqlite":
        # IMMEDIATE takes the write lock now, so a bulk upload never fails half-way on
        # SQLITE_BUSY when it first writes; readers carry on under WAL.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if exclusive else "BEGIN")
    elif exclusive and connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({BULK_WRITE_LOCK_KEY})")


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
