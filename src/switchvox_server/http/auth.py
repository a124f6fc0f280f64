"""Who is calling: HTTP Basic and Digest credentials checked against the store.

Admin accounts authenticate with their name; extensions with their number and web
password. An unknown name costs the same work and gets the same answer as a wrong
password, so the two cannot be told apart.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import threading
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from switchvox_server.http.digest import (
    NonceAuthority,
    NonceState,
    challenge_headers,
    parse_basic,
    parse_digest,
    split_scheme,
    verify_digest,
)
from switchvox_server.methods.registry import Principal
from switchvox_server.passwords import REALM, hash_password, verify_ha1, verify_password
from switchvox_server.store.accounts import (
    StoredCredentials,
    admin_credentials,
    extension_credentials,
)
from switchvox_server.store.database import Database
from switchvox_server.store.models import AccessLevel


@functools.cache
def _dummy_hash() -> str:
    """Checked when the name is unknown, so that a miss costs as much as a wrong password."""
    return hash_password("switchvox-server timing equaliser")


class VerifiedPasswords:
    """Admin passwords that already passed the slow hash.

    Clients send Basic credentials with every request; without this each request would pay
    for scrypt (tens of milliseconds and 16 MiB). Entries are keyed by an HMAC of name and
    password under the server secret, so no clear password is kept, and hold the stored
    hash they were checked against, so a changed password voids them.
    """

    def __init__(self, secret: bytes, capacity: int = 1024) -> None:
        self._secret = secret
        self._capacity = capacity
        self._entries: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, name: str, password: str, stored_hash: str) -> bool:
        key = hmac.new(self._secret, f"{name}\0{password}".encode(), hashlib.sha256).digest()
        with self._lock:
            if self._entries.get(key) == stored_hash:
                self._entries.move_to_end(key)
                return True
        if not verify_password(password, stored_hash):
            return False
        with self._lock:
            self._entries[key] = stored_hash
            if len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return True


class Verdict(Enum):
    """Why a request was not authenticated; STALE asks a Digest client to retry."""

    MISSING = "missing"
    REJECTED = "rejected"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class Authenticator:
    """Checks Authorization headers and builds the 401 challenge."""

    database: Database
    nonces: NonceAuthority
    verified: VerifiedPasswords
    digest_enabled: bool

    def authenticate(
        self, method: str, target: str, authorization: str | None
    ) -> Principal | Verdict:
        """The caller behind `authorization` for a request to `target` (path and query), or
        why there is none. Blocking: run it in a worker thread (it reads the store and may
        compute a slow hash)."""
        if not authorization:
            return Verdict.MISSING
        scheme, _ = split_scheme(authorization)
        if scheme == "basic":
            return self._basic(authorization)
        if scheme == "digest" and self.digest_enabled:
            return self._digest(method, target, authorization)
        return Verdict.REJECTED

    def challenge(self, *, stale: bool = False) -> list[tuple[str, str]]:
        return challenge_headers(
            self.nonces.issue(), digest_enabled=self.digest_enabled, stale=stale
        )

    def _basic(self, authorization: str) -> Principal | Verdict:
        parsed = parse_basic(authorization)
        if parsed is None:
            return Verdict.REJECTED
        name, password = parsed
        credentials = self._lookup(name)
        if credentials is None:
            verify_password(password, _dummy_hash())
            return Verdict.REJECTED
        if credentials.password_hash is not None:
            accepted = self.verified.check(name, password, credentials.password_hash)
        else:
            accepted = verify_ha1(name, password, credentials.digest_ha1)
        return _principal(credentials) if accepted else Verdict.REJECTED

    def _digest(self, method: str, target: str, authorization: str) -> Principal | Verdict:
        digest = parse_digest(authorization)
        if digest is None or digest.realm != REALM or not _same_target(digest.uri, target):
            return Verdict.REJECTED
        state = self.nonces.check(digest.nonce)
        if state is NonceState.INVALID:
            return Verdict.REJECTED
        credentials = self._lookup(digest.username)
        if credentials is None or not verify_digest(credentials.digest_ha1, method, digest):
            return Verdict.REJECTED
        # A right answer to an expired nonce proves the password but not freshness.
        return Verdict.STALE if state is NonceState.STALE else _principal(credentials)

    def _lookup(self, name: str) -> StoredCredentials | None:
        with self.database.sessions() as session:
            if name.isascii() and name.isdigit():
                found = extension_credentials(session, name)
                if found is not None:
                    return found
            return admin_credentials(session, name)


def _same_target(uri: str, target: str) -> bool:
    """Whether a Digest `uri` names the requested resource; some clients send the absolute
    URL, so only its path and query are compared. Without this check a response captured
    for one endpoint would open the other."""
    parsed = urlsplit(uri)
    path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    return path == target


def _principal(credentials: StoredCredentials) -> Principal:
    if credentials.access is None:
        return Principal.EXTENSION
    if credentials.access is AccessLevel.FULL:
        return Principal.FULL_ADMIN
    return Principal.READ_ONLY_ADMIN
