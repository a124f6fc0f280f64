"""Which exceptions mean "the database failed", and their cause in words fit for a log line.

SQLAlchemy wraps the driver's errors, but not all of them pass through it: the bulk writes
and the writer lock use the DB-API connection directly. So the whole chain of an exception
is searched, for SQLAlchemy's errors and for the driver's own.

A failure of the database (unreachable, cut off, silent, out of space, locked too long) is
a PEP 249 `OperationalError` or `InterfaceError`, a connection SQLAlchemy found broken, or a
pool with no connection to give. Other database errors (a constraint, a value the column
cannot take, bad SQL) are faults of this server, not of the database: retrying would not help.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import exc

from switchvox_server.faults import DatabaseUnavailable

REDACTED = "***"


def database_failure(
    error: BaseException, dbapi: Any, secret: str | None = None
) -> DatabaseUnavailable | None:
    """The failure `error` stands for, if it (or what led to it) is the database failing;
    None for anything else. `dbapi` is the driver's module, `secret` the database password,
    replaced in the cause should a message ever repeat it."""
    for link in _chain(error):
        cause = _cause(link, dbapi)
        if cause is not None:
            if secret:
                cause = cause.replace(secret, REDACTED)
            return DatabaseUnavailable(cause)
    return None


def _cause(error: BaseException, dbapi: Any) -> str | None:
    if isinstance(error, DatabaseUnavailable):
        return str(error)
    if isinstance(error, exc.DBAPIError):
        original = error.orig if error.orig is not None else error
        if error.connection_invalidated or _unavailable(original, dbapi):
            return _describe(original)
        return None
    if isinstance(error, exc.TimeoutError | exc.DisconnectionError):
        # The pool's own errors: no free connection in time, or one found broken.
        return f"{type(error).__name__}: {error.args[0] if error.args else error}"
    if _unavailable(error, dbapi):
        return _describe(error)
    return None


def _unavailable(error: BaseException, dbapi: Any) -> bool:
    if dbapi is None:
        return False
    return isinstance(error, dbapi.OperationalError | dbapi.InterfaceError)


def _describe(error: BaseException) -> str:
    """The class and first line of a driver error: never the statement's parameters, nor a
    row that a later line of the server's message (psycopg's CONTEXT) may quote."""
    primary = getattr(getattr(error, "diag", None), "message_primary", None)
    lines = str(error).strip().splitlines()
    text = primary or (lines[0] if lines else "")
    code = getattr(error, "sqlstate", None)
    name = type(error).__name__
    return f"{name} ({code}): {text}" if code else f"{name}: {text}"


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, then what caused it or was being handled when it was raised; each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
