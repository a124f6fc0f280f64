"""What this server sets on every DB-API connection, shared by the engine and by the helper
process that stores large uploads (which does without SQLAlchemy to stay small)."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any

# Every bulk writer takes this PostgreSQL advisory lock for its transaction, so uploads
# from any number of server processes apply one after another and never race on a number.
BULK_WRITE_LOCK_KEY = 0x5356_0001
SQLITE_BUSY_TIMEOUT_MS = 60_000


def configure_sqlite(dbapi_connection: Any) -> None:
    """WAL (readers go on while an upload writes), foreign keys, a generous busy timeout,
    and transactions begun by us rather than by pysqlite, which begins them late and never
    with IMMEDIATE."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
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


# Database drivers that are extras of this package, by the URL scheme that needs them.
_EXTRA_DRIVERS = {"postgresql+psycopg": ("psycopg", "postgres")}


def missing_driver(url: str) -> str | None:
    """A one-line message naming the extra to install when `url` needs a driver that is
    not installed; None when nothing is missing."""
    scheme = url.partition(":")[0].strip().lower()
    needed = _EXTRA_DRIVERS.get(scheme)
    if needed is None or importlib.util.find_spec(needed[0]) is not None:
        return None
    module, extra = needed
    return (
        f"DATABASE_URL needs the {module} driver, which is not installed:"
        f" pip install 'switchvox-server[{extra}]'"
    )
