"""Where an upload's writes go: its own session, or a helper process.

A large upload spends about as long storing its rows (and hashing their secrets) as reading
and checking them, and one Python process cannot do both at once. A `ProcessWriter` hands
each batch to a helper process (`switchvox_server.store.helper`) that holds the upload's
transaction and the writer lock, so the database stores one batch while this process
checks the next, on the machine's second core. The rows it writes never need to be read
back during the upload (repeats within a file are caught before any lookup), so lookups run
on an ordinary session here.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
from datetime import UTC, datetime
from typing import IO, Any, Protocol

from sqlalchemy.orm import Session

from switchvox_server.faults import SwitchvoxServerError
from switchvox_server.store.bulk_writes import (
    BulkStatements,
    PlainStatement,
    Rows,
    execute_rows,
    write_rows,
)
from switchvox_server.store.database import Database, connection_spec
from switchvox_server.store.queries import bulk_statements


class WriterFailed(SwitchvoxServerError):
    """The helper process could not store the upload; nothing of it was kept."""


class BatchWriter(Protocol):
    """Stores an upload's batches in its transaction."""

    def write(self, inserts: Rows, rewrites: Rows) -> None: ...

    def execute(self, statement: PlainStatement, rows: Rows) -> None:
        """Run another statement of the upload (its history record) in its transaction."""
        ...


def creation_time() -> datetime:
    """The creation time of an upload's new rows: now, in UTC, to the second."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


class SessionWriter:
    """Writes on the upload's own session, in this process."""

    def __init__(self, session: Session, secret_key: bytes) -> None:
        self._session = session
        self._secret_key = secret_key
        self._statements: BulkStatements | None = None

    def write(self, inserts: Rows, rewrites: Rows) -> None:
        if not (inserts or rewrites):
            return
        connection = self._session.connection()
        if self._statements is None:
            self._statements = bulk_statements(connection.dialect, creation_time())
        driver = connection.connection.driver_connection
        write_rows(driver, self._statements, inserts, rewrites, self._secret_key)

    def execute(self, statement: PlainStatement, rows: Rows) -> None:
        if rows:
            execute_rows(self._session.connection().connection.driver_connection, statement, rows)


class ProcessWriter:
    """Writes in a helper process that holds the upload's transaction and writer lock.

    `open()` returns once the lock is held; `write()` returns as soon as the batch is on its
    way; `finish()` commits or rolls back and reports whether the helper stored everything.
    A parent that dies closes the pipe, and the helper rolls back.
    """

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "switchvox_server.store.helper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._inbox: IO[bytes] = self._process.stdin
        self._outbox: IO[bytes] = self._process.stdout

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def open(self, database: Database, secret_key: bytes) -> None:
        statements = bulk_statements(database.engine.dialect, creation_time())
        self._send(("open", connection_spec(database), statements, secret_key))
        self._expect("ready")

    def write(self, inserts: Rows, rewrites: Rows) -> None:
        if inserts or rewrites:
            self._send(("write", inserts, rewrites))

    def execute(self, statement: PlainStatement, rows: Rows) -> None:
        if rows:
            self._send(("execute", statement, rows))

    def finish(self, *, commit: bool) -> None:
        """Commit (or roll back) in the helper; WriterFailed if a batch could not be stored."""
        self._send(("finish", commit))
        self._expect("finished")

    def close(self) -> None:
        """Stop the helper: closing its input ends it, rolling back anything unfinished."""
        self._inbox.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._outbox.close()

    def _send(self, message: tuple[Any, ...]) -> None:
        try:
            pickle.dump(message, self._inbox, protocol=pickle.HIGHEST_PROTOCOL)
            self._inbox.flush()
        except OSError as error:
            raise WriterFailed(f"the writer process is gone ({error})") from None

    def _expect(self, kind: str) -> None:
        try:
            answer, failure = pickle.load(self._outbox)
        except (EOFError, OSError, pickle.UnpicklingError) as error:
            raise WriterFailed(f"the writer process is gone ({error!r})") from None
        if failure is not None:
            raise WriterFailed(failure)
        if answer != kind:
            raise WriterFailed(f"the writer process answered {answer!r}, not {kind!r}")


class WriterPool:
    """Helper processes kept ready between uploads: starting one takes a large part of
    what it saves, so one is started ahead and reused."""

    def __init__(self) -> None:
        self._idle: list[ProcessWriter] = []
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """Start a helper now, so that the next large upload finds one ready."""
        with self._lock:
            if not self._idle:
                self._idle.append(ProcessWriter())

    def take(self) -> ProcessWriter:
        with self._lock:
            while self._idle:
                writer = self._idle.pop()
                if writer.alive:
                    return writer
                writer.close()
        return ProcessWriter()

    def give_back(self, writer: ProcessWriter) -> None:
        with self._lock:
            self._idle.append(writer)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for writer in idle:
            writer.close()
