"""The helper process that stores large uploads (see `store.writer`), and its protocol.

It imports neither SQLAlchemy nor the server, so it costs little memory: the parent
compiles the statements and passes the DB-API connection arguments.

Protocol. Frames on the helper's standard input and output, each an 8-byte big-endian
length and a pickled tuple whose first item is its kind:

    parent -> helper                          helper -> parent
    (OPEN, spec, limits, statements, key)     (READY,)  or  (FAILED, cause)
    (WRITE, inserts, rewrites)                nothing; or (FAILED, cause) at once
    (EXECUTE, statement, rows)                nothing; or (FAILED, cause) at once
    (FINISH, commit)                          (FINISHED,)  or  (FAILED, cause)

- One upload is OPEN (connect, apply `limits`, take the writer lock), any number of WRITE
  (a batch of extensions) and EXECUTE (another statement of the upload: its history
  record), then one FINISH that commits or rolls back; then the helper waits for the next OPEN.
- FAILED is always the helper's last word: it says why in one line (the database's own
  message), rolls back by closing its connection, and exits with status 1. Nothing more
  is sent to it; the parent reaps it and never reuses it.
- Its input closing (the parent is done with it, or died) ends it with status 0, rolling
  back an unfinished upload.
- The parent bounds each exchange in time (`store.writer.HelperTimeouts`), and kills a
  helper that misses the deadline.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import pickle
import signal
import struct
import sys
from collections.abc import Callable
from typing import IO, Any

from switchvox_server.store.bulk_writes import BulkStatements, execute_rows, write_rows
from switchvox_server.store.driver import ConnectionSpec, begin_exclusive

OPEN, WRITE, EXECUTE, FINISH = "open", "write", "execute", "finish"
READY, FINISHED, FAILED = "ready", "finished", "failed"
FRAME_HEADER = struct.Struct(">Q")
# libpq rounds a connect timeout below 2 seconds up to 2.
MIN_PG_CONNECT_TIMEOUT = 2

Answer = Callable[..., None]
"""Sends one message to the parent: its kind, then its items."""


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """What the helper sets on its connection: seconds to connect, and seconds any one
    statement (waiting for the writer lock included) may take."""

    connect_timeout: float
    statement_timeout: float


def frame(message: tuple[Any, ...]) -> bytes:
    """One message as it goes over the pipe."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME_HEADER.pack(len(body)) + body


def serve(inbox: IO[bytes], outbox: IO[bytes]) -> int:
    """Serve uploads until the input closes (0) or one fails (1): the exit status."""

    def answer(*message: Any) -> None:
        outbox.write(frame(message))
        outbox.flush()

    while (message := _receive(inbox)) is not None:
        if message[0] != OPEN:
            answer(FAILED, f"the helper expected {OPEN!r}, not {message[0]!r}")
            return 1
        outcome = _serve_upload(message, inbox, answer)
        if outcome is None:
            return 0  # the input closed mid-upload: rolled back
        if not outcome:
            return 1
    return 0


def _serve_upload(message: tuple[Any, ...], inbox: IO[bytes], answer: Answer) -> bool | None:
    """One upload from OPEN to FINISH: True when it ended well, False when it failed (and
    FAILED was sent), None when the input closed before FINISH."""
    _, spec, limits, statements, secret_key = message
    try:
        connection = _open(spec, limits)
    except Exception as error:
        answer(FAILED, f"connecting to the database failed: {_describe(error)}")
        return False
    try:
        answer(READY)
        return _store(connection, statements, secret_key, inbox, answer)
    finally:
        # Closing rolls back whatever was not committed; a connection that died is closed.
        with contextlib.suppress(Exception):
            connection.close()


def _store(
    connection: Any,
    statements: BulkStatements,
    secret_key: bytes,
    inbox: IO[bytes],
    answer: Answer,
) -> bool | None:
    while (message := _receive(inbox)) is not None:
        kind = message[0]
        if kind == WRITE:
            try:
                write_rows(connection, statements, message[1], message[2], secret_key)
            except Exception as error:
                answer(FAILED, f"storing a batch failed: {_describe(error)}")
                return False
        elif kind == EXECUTE:
            try:
                execute_rows(connection, message[1], message[2])
            except Exception as error:
                answer(FAILED, f"storing the upload's record failed: {_describe(error)}")
                return False
        elif kind == FINISH:
            commit = bool(message[1])
            try:
                if commit:
                    connection.commit()
                else:
                    connection.rollback()
            except Exception as error:
                step = "committing" if commit else "rolling back"
                answer(FAILED, f"{step} the upload failed: {_describe(error)}")
                return False
            answer(FINISHED)
            return True
        else:
            answer(
                FAILED, f"the helper expected {WRITE!r}, {EXECUTE!r} or {FINISH!r}, not {kind!r}"
            )
            return False
    return None


def _open(spec: ConnectionSpec, limits: ConnectionLimits) -> Any:
    """A connection with the limits applied, holding the writer lock."""
    kwargs = dict(spec.kwargs)
    if spec.dialect == "postgresql":
        kwargs["connect_timeout"] = max(MIN_PG_CONNECT_TIMEOUT, math.ceil(limits.connect_timeout))
    connection = dataclasses.replace(spec, kwargs=kwargs).connect()
    statement_ms = max(1, round(limits.statement_timeout * 1000))
    cursor = connection.cursor()
    try:
        if spec.dialect == "postgresql":
            # Enforced by the server; the parent's deadline covers a server gone silent.
            cursor.execute(f"SET statement_timeout = {statement_ms}")
        elif spec.dialect == "sqlite":
            # SQLite's only wait is for a lock, the writer lock above all.
            cursor.execute(f"PRAGMA busy_timeout = {statement_ms}")
    finally:
        cursor.close()
    begin_exclusive(connection, spec.dialect)
    return connection


def _receive(inbox: IO[bytes]) -> tuple[Any, ...] | None:
    """The next message, or None once the input has closed."""
    header = inbox.read(FRAME_HEADER.size)
    if len(header) < FRAME_HEADER.size:
        return None
    (size,) = FRAME_HEADER.unpack(header)
    body = inbox.read(size)
    if len(body) < size:
        return None
    message: tuple[Any, ...] = pickle.loads(body)
    return message


def _describe(error: BaseException) -> str:
    """The error's class and its first line: what the database said."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


if __name__ == "__main__":
    # Ctrl-C on a terminal reaches the whole process group: the server decides when its
    # helper ends (by closing its input), so that an upload in flight is finished or
    # rolled back in order rather than cut off by a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(serve(sys.stdin.buffer, sys.stdout.buffer))
