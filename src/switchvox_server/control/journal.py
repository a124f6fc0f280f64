"""The request journal: what each API call asked for (secrets redacted, an uploaded file only
as its name, size, SHA-256 and row count) and how it was answered.

Entries are written by a thread of their own, after the answer, each batch in a short
transaction of its own: recording never holds up a call, and never waits on the writer lock
of an upload (SQLite makes the thread wait instead; PostgreSQL lets it write at once).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from switchvox_server.http.basic import parse_basic, split_scheme
from switchvox_server.http.digest import parse_digest
from switchvox_server.protocol.request import ParameterValue
from switchvox_server.store import control_tables
from switchvox_server.store.database import Database

logger = logging.getLogger(__name__)

REDACTED = "***"
# A parameter whose name holds one of these is a secret (password, new_password, vm_pin…).
_SECRET_WORDS = ("password", "passwd", "pin", "secret")
# Entries waiting for the thread beyond this are dropped, so memory stays bounded even
# when the database cannot take them (SQLite behind a long upload's lock).
PENDING_LIMIT = 10_000
# Entries arriving within this time go to the database together: while calls come fast
# (tests polling, or many getInfo calls beside an upload) that is one short transaction
# per batch rather than per call. A journal read does not wait for it (see flush).
BATCH_SECONDS = 0.05
_HASH_CHUNK = 1024 * 1024
CLOSE_TIMEOUT_SECONDS = 10.0


def redacted(parameters: Mapping[str, ParameterValue]) -> dict[str, object]:
    """The parameters as JSON values, every secret one replaced by `***`."""
    return {
        name: REDACTED
        if any(word in name.lower() for word in _SECRET_WORDS)
        else (list(value) if isinstance(value, tuple) else value)
        for name, value in parameters.items()
    }


def file_summary(upload: IO[bytes], name: str | None) -> dict[str, object]:
    """Name, size and SHA-256 of an uploaded file, read from its start; nothing of its
    content. `rows` is filled in once the method has counted them."""
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    while chunk := upload.read(_HASH_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    return {"name": name, "bytes": size, "sha256": digest.hexdigest(), "rows": None}


def caller_of(authorization: str | None) -> str | None:
    """The account name of an authenticated request's credentials (never the password)."""
    if not authorization:
        return None
    scheme, _ = split_scheme(authorization)
    if scheme == "basic":
        basic = parse_basic(authorization)
        return None if basic is None else basic[0]
    if scheme == "digest":
        digest = parse_digest(authorization)
        return None if digest is None else digest.username
    return None


@dataclass(slots=True)
class CallRecord:
    """What the journal learns of a call before it is dispatched."""

    method: str = ""
    params: dict[str, object] | None = None
    file: dict[str, object] | None = None

    def row(
        self,
        at: datetime,
        caller: str | None,
        outcome: str,
        fault_code: int | None,
        http_status: int | None,
        duration_ms: int,
    ) -> dict[str, Any]:
        return {
            "at": at.astimezone(UTC).replace(tzinfo=None),
            "method": self.method[:128],
            "caller": None if caller is None else caller[:64],
            "params": json.dumps(self.params or {}),
            "file": None if self.file is None else json.dumps(self.file),
            "outcome": outcome,
            "fault_code": fault_code,
            "http_status": http_status,
            "duration_ms": duration_ms,
        }


def as_document(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A stored entry as the journal shows it."""
    return dict(entry) | {
        "at": entry["at"].isoformat(timespec="milliseconds") + "Z",
        "params": json.loads(entry["params"]),
        "file": None if entry["file"] is None else json.loads(entry["file"]),
    }


class JournalRecorder:
    """Writes journal entries from a thread of its own; `flush` waits until this process's
    entries are stored, so a journal read right after a call shows it."""

    def __init__(self, database: Database, keep: int) -> None:
        self._database = database
        self._keep = keep
        self._pending: deque[dict[str, Any]] = deque()
        self._writing = 0
        self._waiting_readers = 0
        self._closing = False
        self._dropped = 0
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="switchvox-journal", daemon=True)
        self._thread.start()

    def record(self, row: dict[str, Any]) -> None:
        with self._condition:
            if len(self._pending) >= PENDING_LIMIT:
                self._dropped += 1
                if self._dropped == 1:
                    logger.warning("journal entries are being dropped: the database lags")
                return
            self._pending.append(row)
            self._condition.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait until every entry recorded so far is stored; False on timeout."""
        with self._condition:
            self._waiting_readers += 1
            self._condition.notify_all()
            try:
                return self._condition.wait_for(
                    lambda: not self._pending and not self._writing, timeout
                )
            finally:
                self._waiting_readers -= 1

    def close(self) -> None:
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        self._thread.join(CLOSE_TIMEOUT_SECONDS)

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._pending or self._closing)
                if not self._pending:
                    return
                self._condition.wait_for(
                    lambda: self._closing or self._waiting_readers, BATCH_SECONDS
                )
                batch = list(self._pending)
                self._pending.clear()
                self._writing = len(batch)
            try:
                with self._database.sessions.begin() as session:
                    control_tables.add_journal_entries(session, batch, self._keep)
            except Exception:
                # The API answered already; a lost entry must not take the server down.
                logger.exception("could not store %d journal entries", len(batch))
            with self._condition:
                self._writing = 0
                self._condition.notify_all()
