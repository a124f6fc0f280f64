"""Where an upload's writes go: its own session, or a helper process.

A large upload spends about as long storing its rows as reading and checking them, and one
Python process cannot do both at once: the insert holds the interpreter for most of its
work. A `ProcessWriter` hands each batch to a helper process that holds the upload's
transaction and the writer lock, so the database stores one batch while this process checks
the next, on the machine's second core. The rows it writes never need to be read back
during the upload (repeats within a file are caught before any lookup), so lookups run on
an ordinary session here.

Run as `python -m switchvox_server.store.writer`, this module is the helper: it reads pickled
messages on standard input and answers on standard output.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO, Any, Protocol

from sqlalchemy.orm import Session

from switchvox_server.faults import SwitchvoxServerError
from switchvox_server.passwords import settle_secrets
from switchvox_server.store import queries

Rows = Sequence[dict[str, Any]]


class WriterFailed(SwitchvoxServerError):
    """The helper process could not store the upload; nothing of it was kept."""


class BatchWriter(Protocol):
    """Stores an upload's batches in its transaction."""

    def write(self, inserts: Rows, rewrites: Rows) -> None: ...


class SessionWriter:
    """Writes on a session: derives the stored forms of the rows' new secrets, then stores
    the rows."""

    def __init__(self, session: Session, secret_key: bytes) -> None:
        self._session = session
        self._secret_key = secret_key

    def write(self, inserts: Rows, rewrites: Rows) -> None:
        for row in (*inserts, *rewrites):
            settle_secrets(row, self._secret_key)
        queries.insert_extensions(self._session, inserts)
        queries.update_extensions(self._session, rewrites)


class ProcessWriter:
    """Writes in a helper process that holds the upload's transaction and writer lock.

    `open()` returns once the lock is held; `write()` returns as soon as the batch is on its
    way; `finish()` commits or rolls back and reports whether the helper stored everything.
    A parent that dies closes the pipe, and the helper rolls back.
    """

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__],
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

    def open(self, database_url: str, secret_key: bytes) -> None:
        self._send(("open", database_url, secret_key))
        self._expect("ready")

    def write(self, inserts: Rows, rewrites: Rows) -> None:
        if inserts or rewrites:
            self._send(("write", list(inserts), list(rewrites)))

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
        except (BrokenPipeError, OSError) as error:
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
    """Helper processes kept ready between uploads: starting one costs about as much as it
    saves on a large upload, so one is started ahead and reused."""

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


def _serve(inbox: IO[bytes], outbox: IO[bytes]) -> None:
    """The helper's loop: one upload after another, until its input closes."""
    from switchvox_server.store.database import open_database

    def answer(kind: str, failure: str | None = None) -> None:
        pickle.dump((kind, failure), outbox, protocol=pickle.HIGHEST_PROTOCOL)
        outbox.flush()

    while True:
        try:
            _, database_url, secret_key = pickle.load(inbox)
        except EOFError:
            return
        database = open_database(database_url)
        try:
            with database.exclusive_sessions() as session:
                session.connection()  # begins the transaction: takes the writer lock now
                answer("ready")
                outcome = _store(SessionWriter(session, secret_key), inbox)
                if outcome is None:
                    return  # the parent is gone: leaving the block rolls back
                commit, failure = outcome
                if commit and failure is None:
                    session.commit()
                else:
                    session.rollback()
                answer("finished", failure)
        finally:
            database.dispose()


def _store(writer: SessionWriter, inbox: IO[bytes]) -> tuple[bool, str | None] | None:
    """Apply batches until told to finish: (commit?, failure), or None if the input closed."""
    failure: str | None = None
    while True:
        try:
            message = pickle.load(inbox)
        except EOFError:
            return None
        if message[0] == "finish":
            return bool(message[1]), failure
        if failure is None:
            try:
                writer.write(message[1], message[2])
            except Exception as error:  # reported at finish; the transaction rolls back
                failure = f"storing a batch failed: {type(error).__name__}: {error}"


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
