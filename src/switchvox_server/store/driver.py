"""What this server sets on every DB-API connection, shared by the engine and by the helper
process that stores large uploads (which does without SQLAlchemy to stay small), and the
check that a DATABASE_URL's driver is installed."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any

from switchvox_server.faults import ConfigurationError
from switchvox_server.settings import DEFAULT_DB_STATEMENT_TIMEOUT

# Every bulk writer takes this PostgreSQL advisory lock for its transaction, so uploads
# from any number of server processes apply one after another and never race on a number.
BULK_WRITE_LOCK_KEY = 0x5356_0001
# What installs the DB-API module of each (dialect, driver) the server is made for; SQLite's
# comes with Python.
_DRIVER_EXTRAS = {("postgresql", "psycopg"): "pip install 'switchvox-server[postgres]'"}
_SUPPORTED = "sqlite:///FILE and postgresql+psycopg://"


def require_driver(url: str) -> None:
    """Raise a ConfigurationError that says what to install when the DB-API module `url`
    names cannot be imported, rather than the ImportError SQLAlchemy would pass on."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    try:
        parsed.get_dialect().import_dbapi()
    except ImportError as error:
        key = (parsed.get_backend_name(), parsed.get_driver_name())
        driver = error.name or key[1]
        reason = " ".join(str(error).split())  # psycopg explains on several lines
        problem = f"DATABASE_URL needs the {driver} driver, which cannot be imported ({reason})"
        if key in _DRIVER_EXTRAS:
            raise ConfigurationError(f"{problem}: {_DRIVER_EXTRAS[key]}") from None
        raise ConfigurationError(
            f"{problem}; this server works with {_SUPPORTED}"
            f" ({_DRIVER_EXTRAS['postgresql', 'psycopg']})"
        ) from None


def configure_sqlite(
    dbapi_connection: Any, *, busy_timeout: float = DEFAULT_DB_STATEMENT_TIMEOUT
) -> None:
    """WAL (readers go on while an upload writes), foreign keys, how long (in seconds) to
    wait for a lock another connection holds before "database is locked", and transactions
    begun by us rather than by pysqlite, which begins them late and never with IMMEDIATE."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={max(1, round(busy_timeout * 1000))}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def begin_exclusive(dbapi_connection: Any, dialect: str) -> None:
    """Begin a transaction that holds the writer lock until it ends."""
    cursor = dbapi_connection.cursor()
    try:
        if dialect == "sqlite":
            # IMMEDIATE takes the write lock now, so a bulk upload never fails half-way on
            # SQLITE_BUSY when it first writes; readers carry on under WAL.
            cursor.execute("BEGIN IMMEDIATE")
        elif dialect == "postgresql":
            cursor.execute(f"SELECT pg_advisory_xact_lock({BULK_WRITE_LOCK_KEY})")
    finally:
        cursor.close()


@dataclass(frozen=True, slots=True)
class ConnectionSpec:
    """How to open a DB-API connection to the store: module, arguments and dialect."""

    dialect: str
    module: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def connect(self) -> Any:
        connection = importlib.import_module(self.module).connect(*self.args, **self.kwargs)
        if self.dialect == "sqlite":
            configure_sqlite(connection)
        return connection
