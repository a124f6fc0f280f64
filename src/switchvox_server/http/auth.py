"""Who is calling: HTTP Basic and Digest credentials checked against the store.

Admin accounts authenticate with their name; extensions with their number and web password.
A wrong password costs the same work whatever it names (an admin, an extension, or a name that
exists nowhere): both lookups, then one comparison with a Digest HA1, a stand-in one for a name
without an account. Only a Basic password that matches an admin's HA1 goes on to the slow
scrypt hash (`SlowCheck`, run by http/signin.py), so a caller who does not know a password can
never make the server pay for one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import urlsplit

from switchvox_server.http.basic import parse_basic, split_scheme
from switchvox_server.http.digest import (
    NonceAuthority,
    NonceState,
    challenge_headers,
    parse_digest,
    verify_digest,
)
from switchvox_server.passwords import REALM, verify_ha1
from switchvox_server.principals import Principal
from switchvox_server.store.accounts import (
    MAX_ADMIN_NAME_LENGTH,
    StoredCredentials,
    admin_credentials,
    extension_credentials,
)
from switchvox_server.store.database import Database
from switchvox_server.store.models import AccessLevel

# Far above what any client sends (a Digest answer is a few hundred characters), and low
# enough that parsing the most a client may send costs next to nothing.
MAX_AUTHORIZATION_CHARS = 8 * 1024
# Compared with in place of a stored HA1 when the name has no account: never an MD5 output
# anyone can hit on purpose, and the same work as a real comparison.
_NO_ACCOUNT_HA1 = "0" * 32


class Verdict(Enum):
    """Why a request was not authenticated; STALE asks a Digest client to retry. HELD_BACK:
    refused unchecked by the throttle; BUSY: no slot for the slow hash. The value appears in
    the access log."""

    MISSING = "missing"
    REJECTED = "rejected"
    STALE = "stale"
    HELD_BACK = "held-back"
    BUSY = "busy"


@dataclass(frozen=True, slots=True)
class SlowCheck:
    """A Basic password that matched an admin's HA1 and still has to pass its scrypt hash."""

    name: str
    password: str = field(repr=False)
    stored_hash: str = field(repr=False)
    principal: Principal


@dataclass(frozen=True, slots=True)
class Attempt:
    """What a check found, and the account name it tried: None when the credentials named
    nothing that could be an account, so the throttle counts the failure for the address only."""

    account: str | None
    outcome: Principal | Verdict | SlowCheck


@dataclass(frozen=True, slots=True)
class Authenticator:
    """Checks Authorization headers and builds the 401 challenge."""

    database: Database
    nonces: NonceAuthority
    digest_enabled: bool

    def check(self, method: str, target: str, authorization: str) -> Attempt:
        """What the non-empty `authorization` proves for a request to `target` (its path and
        query). Blocking: run it in a worker thread (it reads the store)."""
        if len(authorization) > MAX_AUTHORIZATION_CHARS:
            return Attempt(None, Verdict.REJECTED)
        scheme, _ = split_scheme(authorization)
        if scheme == "basic":
            return self._basic(authorization)
        if scheme == "digest" and self.digest_enabled:
            return self._digest(method, target, authorization)
        return Attempt(None, Verdict.REJECTED)

    def challenge(self, *, stale: bool = False) -> list[tuple[str, str]]:
        return challenge_headers(
            self.nonces.issue(), digest_enabled=self.digest_enabled, stale=stale
        )

    def _basic(self, authorization: str) -> Attempt:
        parsed = parse_basic(authorization)
        if parsed is None:
            return Attempt(None, Verdict.REJECTED)
        name, password = parsed
        account = _account_name(name)
        credentials = self._lookup(account)
        stored_ha1 = _NO_ACCOUNT_HA1 if credentials is None else credentials.digest_ha1
        if not verify_ha1(name, password, stored_ha1) or credentials is None:
            return Attempt(account, Verdict.REJECTED)
        principal = _principal(credentials)
        if credentials.password_hash is None:
            return Attempt(account, principal)
        return Attempt(account, SlowCheck(name, password, credentials.password_hash, principal))

    def _digest(self, method: str, target: str, authorization: str) -> Attempt:
        digest = parse_digest(authorization)
        if digest is None:
            return Attempt(None, Verdict.REJECTED)
        account = _account_name(digest.username)
        if digest.realm != REALM or not _same_target(digest.uri, target):
            return Attempt(account, Verdict.REJECTED)
        state = self.nonces.check(digest.nonce)
        if state is NonceState.INVALID:
            return Attempt(account, Verdict.REJECTED)
        credentials = self._lookup(account)
        stored_ha1 = _NO_ACCOUNT_HA1 if credentials is None else credentials.digest_ha1
        if not verify_digest(stored_ha1, method, digest) or credentials is None:
            return Attempt(account, Verdict.REJECTED)
        # A right answer to an expired nonce proves the password but not freshness.
        if state is NonceState.STALE:
            return Attempt(account, Verdict.STALE)
        return Attempt(account, _principal(credentials))

    def _lookup(self, account: str | None) -> StoredCredentials | None:
        """The credentials stored for `account`. Both tables are asked whatever the name, so
        the time taken does not tell which one holds it, or whether either does."""
        if account is None:
            return None
        with self.database.sessions() as session:
            extension = extension_credentials(session, account)
            admin = admin_credentials(session, account)
        return extension if extension is not None else admin


def _account_name(name: str) -> str | None:
    """`name` if an account could have it; None for a name no account can have (empty, too
    long, or with a control character, which PostgreSQL text cannot even hold), so that it
    never reaches the store."""
    if 0 < len(name) <= MAX_ADMIN_NAME_LENGTH and name.isprintable():
        return name
    return None


def _same_target(uri: str, target: str) -> bool:
    """Whether a Digest `uri` names the requested resource; some clients send the absolute
    URL, so only its path and query are compared. Without this check a response captured
    for one endpoint would open the other."""
    try:
        parsed = urlsplit(uri)
    except ValueError:  # an unbalanced "[" or a host that is no IPv6 address, among others
        return False
    path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    return path == target


def _principal(credentials: StoredCredentials) -> Principal:
    if credentials.access is None:
        return Principal.EXTENSION
    if credentials.access is AccessLevel.FULL:
        return Principal.FULL_ADMIN
    return Principal.READ_ONLY_ADMIN
