"""Safe retries (docs/history.md): a writing request sent with an `Idempotency-Key` header
is applied once. A repeat of it gets the first answer again, byte for byte; the same key
with another request is a fault; a repeat while the first still runs waits for its answer,
then gives up with a fault, and never applies a second time.

"The same request" is the same caller, path, method, parameters and file content (a retried
multipart body has a new boundary, so the bytes differ). Keys live in the database, so every
server process sees them; they are kept KEEP_HOURS. A request answered with a fault wrote
nothing: its key is released, and a retry runs again.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO

from sqlalchemy.exc import IntegrityError

from switchvox_server.faults import FAULTS, ApiError
from switchvox_server.history.recorder import FileDigest
from switchvox_server.protocol.request import ParameterValue
from switchvox_server.store import retries as store
from switchvox_server.store.database import Database

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEEP_HOURS = 24
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.2
_SHOWN_KEY_CHARS = 64


@dataclass(frozen=True, slots=True)
class Rendered:
    """A whole answer: its body, content type and extra headers."""

    body: bytes
    content_type: str
    headers: Mapping[str, str]


def request_digest(
    caller: str,
    path: str,
    method: str,
    parameters: Mapping[str, ParameterValue],
    upload: IO[bytes] | None,
) -> str:
    """What makes two requests the same one."""
    file = None if upload is None else FileDigest.of(upload).sha256
    identity = [caller, path, method, sorted(parameters.items()), file]
    return hashlib.sha256(repr(identity).encode("utf-8", "surrogatepass")).hexdigest()


def answer_once(database: Database, key: str, digest: str, run: Callable[[], Rendered]) -> Rendered:
    """The answer of the request `digest` under `key`: run now, or the stored one. Blocking
    (it may wait for a running first request): call it from a worker thread."""
    if not (0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()):
        raise ApiError(FAULTS.INVALID_IDEMPOTENCY_KEY)
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        with database.sessions.begin() as session:
            store.expire(session, now - timedelta(hours=KEEP_HOURS))
            store.claim(session, key, digest, now)
    except IntegrityError:
        return _stored_answer(database, key, digest)
    try:
        rendered = run()
    except BaseException:
        # A fault or a failure: nothing was applied, so a retry may run again.
        with database.sessions.begin() as session:
            store.release(session, key)
        raise
    with database.sessions.begin() as session:
        store.complete(
            session,
            key,
            rendered.content_type,
            json.dumps(dict(rendered.headers)),
            zlib.compress(rendered.body),
        )
    return rendered


def _stored_answer(database: Database, key: str, digest: str) -> Rendered:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        with database.sessions.begin() as session:
            row = store.find(session, key)
        if row is not None and row["request_digest"] != digest:
            raise ApiError(FAULTS.REUSED_IDEMPOTENCY_KEY, _shown(key))
        if row is not None and row["done"] and row["body"] is not None:
            headers = json.loads(row["headers"])
            return Rendered(zlib.decompress(row["body"]), row["content_type"], headers)
        # Still running, or released by a first request that failed: try again later.
        if row is None or time.monotonic() >= deadline:
            raise ApiError(FAULTS.RUNNING_IDEMPOTENCY_KEY, _shown(key))
        time.sleep(POLL_SECONDS)


def _shown(key: str) -> str:
    return key if len(key) <= _SHOWN_KEY_CHARS else key[:_SHOWN_KEY_CHARS] + "…"
