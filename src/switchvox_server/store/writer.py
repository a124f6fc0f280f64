"""Where an upload's writes go: its own session, or a helper process.

A large upload spends about as long storing its rows (and hashing their secrets) as reading
and checking them, and one Python process cannot do both at once. A `ProcessWriter` hands
each batch to a helper process (`switchvox_server.store.helper`, where the protocol is
written down) that holds the upload's transaction and the writer lock, so the database
stores one batch while this process checks the next, on the machine's second core. The
rows it writes never need to be read back during the upload (repeats within a file are
caught before any lookup), so lookups run on an ordinary session here.

Every way a helper can fail (its database refuses a batch or the commit, its connection
dies, it is killed, it stops answering) becomes one `WriterFailed` carrying the real cause;
the helper is then reaped and never used again. `WriterPool` keeps a few idle helpers.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, Protocol

from sqlalchemy.orm import Session

from switchvox_server.faults import DatabaseUnavailable
from switchvox_server.settings import Settings
from switchvox_server.store import helper as protocol
from switchvox_server.store.bulk_writes import (
    BulkStatements,
    PlainStatement,
    Rows,
    StatementRows,
    execute_rows,
    write_rows,
)
from switchvox_server.store.database import Database, connection_spec
from switchvox_server.store.queries import bulk_statements

logger = logging.getLogger(__name__)

# Beyond the statement timeout, what a healthy helper may need to answer: its own start,
# one batch's hashing, the pipe.
REPLY_MARGIN_SECONDS = 2.0
# How long a helper whose input was closed may take to exit before it is killed.
EXIT_WAIT_SECONDS = 5.0
# Idle helpers kept between uploads: uploads that write run one at a time (the writer
# lock), so one is enough for the next and a second covers an upload waiting for the lock.
MAX_IDLE_HELPERS = 2
_READ_BYTES = 1024 * 1024


class WriterFailed(DatabaseUnavailable):
    """The helper process could not store the upload; nothing of it was kept. The message
    is the real cause: what the database said, or how the helper ended. Answered, like any
    failure of the database, with fault 10007."""


class BatchWriter(Protocol):
    """Stores an upload's batches in its transaction."""

    def write(self, inserts: Rows, rewrites: Rows) -> None: ...

    def execute(self, statement: PlainStatement, rows: StatementRows) -> None:
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

    def execute(self, statement: PlainStatement, rows: StatementRows) -> None:
        if rows:
            execute_rows(self._session.connection().connection.driver_connection, statement, rows)


@dataclass(frozen=True, slots=True)
class HelperTimeouts:
    """The database timeouts (seconds), and the deadlines of the helper's answers that
    follow from them."""

    connect: float
    statement: float

    @classmethod
    def from_settings(cls, settings: Settings) -> HelperTimeouts:
        return cls(settings.db_connect_timeout, settings.db_statement_timeout)

    @property
    def ready(self) -> float:
        """For READY: connecting, then waiting for the writer lock (one statement)."""
        return self.connect + self.statement + REPLY_MARGIN_SECONDS

    @property
    def reply(self) -> float:
        """For taking a batch, or for FINISHED: the helper is busy with at most one
        batch (the pipe holds less than one), then the commit."""
        return self.statement + REPLY_MARGIN_SECONDS

    def limits(self) -> protocol.ConnectionLimits:
        return protocol.ConnectionLimits(self.connect, self.statement)


class _NoAnswer(Exception):
    """The helper missed a deadline."""


class ProcessWriter:
    """Writes in a helper process that holds the upload's transaction and writer lock.

    `open()` returns once the lock is held; `write()` returns as soon as the batch is on its
    way; `finish()` commits or rolls back. Any failure raises WriterFailed and leaves the
    writer `broken`, its helper reaped. A parent that dies closes the pipe, and the helper
    rolls back.
    """

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "switchvox_server.store.helper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._inbox = self._process.stdin.fileno()
        self._outbox = self._process.stdout.fileno()
        os.set_blocking(self._inbox, False)
        os.set_blocking(self._outbox, False)
        self._timeouts: HelperTimeouts | None = None
        self.in_transaction = False
        self.broken = False

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return not self.broken and self._process.poll() is None

    def open(self, database: Database, secret_key: bytes, timeouts: HelperTimeouts) -> None:
        self._timeouts = timeouts
        statements = bulk_statements(database.engine.dialect, creation_time())
        spec = connection_spec(database)
        self._send((protocol.OPEN, spec, timeouts.limits(), statements, secret_key))
        self._expect(protocol.READY, timeouts.ready)
        self.in_transaction = True

    def write(self, inserts: Rows, rewrites: Rows) -> None:
        if not (inserts or rewrites):
            return
        if self._answer_waiting():  # a batch already failed: stop here, with its cause
            self._fail_with_last_word()
        self._send((protocol.WRITE, inserts, rewrites))

    def execute(self, statement: PlainStatement, rows: StatementRows) -> None:
        if not rows:
            return
        if self._answer_waiting():
            self._fail_with_last_word()
        self._send((protocol.EXECUTE, statement, rows))

    def finish(self, *, commit: bool) -> None:
        """Commit (or roll back) in the helper; WriterFailed if anything was not stored."""
        self.in_transaction = False
        self._send((protocol.FINISH, commit))
        self._expect(protocol.FINISHED, self._deadline())

    def close(self) -> None:
        """Stop the helper and reap it: closing its input ends it, rolling back anything
        unfinished; one that does not exit in time is killed."""
        self.in_transaction = False
        self.broken = True
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=EXIT_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        assert self._process.stdout is not None
        self._process.stdout.close()

    def _deadline(self) -> float:
        assert self._timeouts is not None, "open() sets the timeouts"
        return self._timeouts.reply

    def _send(self, message: tuple[Any, ...]) -> None:
        data = memoryview(protocol.frame(message))
        timeout = self._deadline()
        deadline = time.monotonic() + timeout
        poller = select.poll()
        poller.register(self._inbox, select.POLLOUT)
        while data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail(f"the helper process took no message for {timeout:.1f} s", kill=True)
            if not poller.poll(remaining * 1000):
                continue
            try:
                written = os.write(self._inbox, data)
            except BlockingIOError:
                continue
            except OSError:  # its input is closed: it is gone, perhaps with its reason
                self._fail_with_last_word()
            data = data[written:]

    def _expect(self, kind: str, timeout: float) -> None:
        """Read the next answer; anything but `kind` makes this writer fail with the
        helper's reason, or with how it ended."""
        try:
            answer = self._receive(time.monotonic() + timeout)
        except _NoAnswer:
            self._fail(f"the helper process did not answer within {timeout:.1f} s", kill=True)
        if answer is None:
            self._fail(self._ending())
        if answer[0] == protocol.FAILED:
            self._fail(str(answer[1]))
        if answer[0] != kind:
            self._fail(f"the helper process answered {answer[0]!r}, not {kind!r}", kill=True)

    def _fail_with_last_word(self) -> NoReturn:
        """The helper stopped taking messages, or spoke out of turn: fail with what it
        said last (FAILED and its cause), or with how it ended."""
        try:
            answer = self._receive(time.monotonic() + REPLY_MARGIN_SECONDS)
        except _NoAnswer:
            answer = None
        if answer is not None and answer[0] == protocol.FAILED:
            self._fail(str(answer[1]))
        self._fail(self._ending(), kill=True)

    def _receive(self, deadline: float) -> tuple[Any, ...] | None:
        header = self._read(protocol.FRAME_HEADER.size, deadline)
        if header is None:
            return None
        (size,) = protocol.FRAME_HEADER.unpack(header)
        body = self._read(size, deadline)
        if body is None:
            return None
        message: tuple[Any, ...] = pickle.loads(body)
        return message

    def _read(self, size: int, deadline: float) -> bytes | None:
        """Exactly `size` bytes, or None at the end of the helper's output."""
        poller = select.poll()
        poller.register(self._outbox, select.POLLIN)
        data = bytearray()
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 and not poller.poll(0):
                raise _NoAnswer
            if not poller.poll(max(remaining, 0) * 1000):
                continue
            try:
                chunk = os.read(self._outbox, min(size - len(data), _READ_BYTES))
            except BlockingIOError:
                continue
            if not chunk:
                return None
            data += chunk
        return bytes(data)

    def _answer_waiting(self) -> bool:
        poller = select.poll()
        poller.register(self._outbox, select.POLLIN)
        return bool(poller.poll(0))

    def _ending(self) -> str:
        """How the helper ended, once it stopped talking."""
        try:
            status = self._process.wait(timeout=EXIT_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            return "the helper process stopped talking without exiting"
        if status < 0:
            return f"the helper process was killed by signal {signal.Signals(-status).name}"
        return f"the helper process exited with status {status}"

    def _fail(self, cause: str, *, kill: bool = False) -> NoReturn:
        """End this writer: the helper is stopped (killed if it may still be running) and
        reaped, and the upload fails with `cause`."""
        if kill and self._process.poll() is None:
            self._process.kill()
        self.close()
        raise WriterFailed(cause)


class WriterPool:
    """Helper processes kept ready between uploads: starting one takes a large part of
    what it saves, so one is started ahead and reused. At most `max_idle` wait; a helper
    that failed is never given back."""

    def __init__(self, max_idle: int = MAX_IDLE_HELPERS) -> None:
        self._idle: list[ProcessWriter] = []
        self._lock = threading.Lock()
        self._max_idle = max_idle
        self._closed = False
        self.started = 0
        """Helpers started so far."""
        self.uploads = 0
        """Uploads handed to a helper so far."""

    @property
    def idle(self) -> int:
        """How many helpers wait for an upload."""
        return len(self._idle)

    def prepare(self) -> None:
        """Start a helper now, so that the next large upload finds one ready."""
        with self._lock:
            self._reap_idle()
            if not self._idle:
                self._idle.append(self._start())

    @contextmanager
    def transaction(
        self, database: Database, secret_key: bytes, timeouts: HelperTimeouts
    ) -> Iterator[ProcessWriter]:
        """A helper holding the upload's transaction and the writer lock. The body commits
        with `finish(commit=True)`; anything it leaves unfinished is rolled back. After a
        failure of the helper itself nothing more is sent to it."""
        writer = self.take()
        try:
            writer.open(database, secret_key, timeouts)
            with self._lock:
                self.uploads += 1
            yield writer
        except BaseException as error:
            if writer.in_transaction:
                try:
                    writer.finish(commit=False)
                except WriterFailed as rollback:
                    # The upload fails for `error` and wrote nothing; this is only logged.
                    logger.warning("rolling back after %r failed: %s", error, rollback)
            raise
        else:
            if writer.in_transaction:
                writer.finish(commit=False)
        finally:
            self.give_back(writer)

    def take(self) -> ProcessWriter:
        with self._lock:
            self._reap_idle()
            if self._idle:
                return self._idle.pop()
            return self._start()

    def give_back(self, writer: ProcessWriter) -> None:
        """Keep a healthy helper for the next upload; stop a failed or surplus one."""
        with self._lock:
            self._reap_idle()
            keep = not self._closed and len(self._idle) < self._max_idle
            if keep and writer.alive and not writer.in_transaction:
                self._idle.append(writer)
                return
        if not writer.broken:
            writer.close()

    def close(self) -> None:
        """Stop the idle helpers; one still storing an upload stops when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for writer in idle:
            writer.close()

    def _start(self) -> ProcessWriter:
        self.started += 1
        return ProcessWriter()

    def _reap_idle(self) -> None:
        """Drop idle helpers that died while waiting (reaping them)."""
        for writer in [writer for writer in self._idle if not writer.alive]:
            self._idle.remove(writer)
            writer.close()
