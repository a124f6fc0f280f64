"""Signing a request in: the throttle first, then the cheap check, then (for an admin's Basic
password only) the slow hash, run a bounded number at a time.

The order is the point: an address the throttle holds back is refused before anything is
checked, and a slow hash runs only for a password that already matched the account's HA1.
Checks of credentials never seen to succeed take turns a few at a time, while those that
signed in lately go straight through, so a flood of guesses delays only itself.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
from collections import OrderedDict
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import Scope

from switchvox_server.http.auth import Authenticator, SlowCheck, Verdict
from switchvox_server.http.clients import client_address
from switchvox_server.http.throttle import FailureThrottle
from switchvox_server.passwords import verify_password
from switchvox_server.principals import Principal
from switchvox_server.settings import Network

# Slow hashes running at once (about 16 MiB and tens of milliseconds each), and how many
# distinct ones may wait for a slot; past that a sign-in is refused (401) rather than queued.
SLOW_HASH_SLOTS = 2
SLOW_HASH_WAITING = 14
VERIFIED_CAPACITY = 1024
# Checks of credentials not seen to succeed before, running at once (each a few queries); the
# others wait their turn, so a flood of guesses cannot crowd out known clients' checks.
NEW_CREDENTIAL_CHECKS = 4


class KnownHeaders:
    """Basic Authorization values that signed in lately, remembered as HMACs under the server
    secret. Only a scheduling hint: a known value is still checked in full, just without
    waiting behind the checks of credentials never seen to succeed."""

    def __init__(self, secret: bytes, capacity: int = VERIFIED_CAPACITY) -> None:
        self._secret = secret
        self._capacity = capacity
        self._keys: OrderedDict[bytes, None] = OrderedDict()

    def knows(self, authorization: str) -> bool:
        return self._key(authorization) in self._keys

    def remember(self, authorization: str) -> None:
        key = self._key(authorization)
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self._capacity:
            self._keys.popitem(last=False)

    def _key(self, authorization: str) -> bytes:
        data = authorization.encode("utf-8", "surrogatepass")
        return hmac.new(self._secret, data, hashlib.sha256).digest()


class SlowPasswordChecks:
    """Admin passwords checked against their scrypt hash: at most SLOW_HASH_SLOTS at once,
    each (name, password, hash) once however many requests bring it at the same moment, and
    remembered once right, so a client that sends Basic with every request pays once.

    What is remembered is an HMAC of name and password under the server secret, never the
    password, with the stored hash it passed, so a changed password voids it. Used from the
    event loop only.
    """

    def __init__(
        self,
        secret: bytes,
        *,
        slots: int = SLOW_HASH_SLOTS,
        waiting: int = SLOW_HASH_WAITING,
        capacity: int = VERIFIED_CAPACITY,
    ) -> None:
        self._secret = secret
        self._slots = asyncio.Semaphore(slots)
        self._most_pending = slots + waiting
        self._capacity = capacity
        self._verified: OrderedDict[bytes, str] = OrderedDict()
        self._pending: dict[tuple[bytes, str], asyncio.Task[bool]] = {}

    async def confirm(self, check: SlowCheck) -> Principal | Verdict:
        """The check's principal if the password passes the stored hash; BUSY when too many
        hashes are running or waiting already."""
        key = hmac.new(
            self._secret, f"{check.name}\0{check.password}".encode(), hashlib.sha256
        ).digest()
        if self._verified.get(key) == check.stored_hash:
            self._verified.move_to_end(key)
            return check.principal
        pending_key = (key, check.stored_hash)
        task = self._pending.get(pending_key)
        if task is None:
            if len(self._pending) >= self._most_pending:
                return Verdict.BUSY
            task = asyncio.create_task(self._verify(key, check))
            self._pending[pending_key] = task
            task.add_done_callback(lambda _: self._pending.pop(pending_key, None))
        # Shielded: a request that goes away must not cancel the hash others wait for.
        accepted = await asyncio.shield(task)
        return check.principal if accepted else Verdict.REJECTED

    async def _verify(self, key: bytes, check: SlowCheck) -> bool:
        async with self._slots:
            accepted = await run_in_threadpool(verify_password, check.password, check.stored_hash)
        if accepted:
            self._verified[key] = check.stored_hash
            while len(self._verified) > self._capacity:
                self._verified.popitem(last=False)
        return accepted


@dataclass(frozen=True, slots=True)
class Caller:
    """Who signed in: what the account may do, the name it signed in with, and the client
    address it called from (behind trusted proxies, the one they name)."""

    principal: Principal
    account: str
    address: str


@dataclass(frozen=True, slots=True)
class SignIn:
    """Who sent a request, with the failed-login rules applied (docs/configuration.md)."""

    authenticator: Authenticator
    throttle: FailureThrottle
    slow_checks: SlowPasswordChecks
    known: KnownHeaders
    trusted_proxies: tuple[Network, ...]
    new_credential_checks: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(NEW_CREDENTIAL_CHECKS)
    )

    async def admit(self, request: Request) -> Caller | Verdict:
        """The caller of `request`, or why there is none; a failure is answered only after
        the throttle's delay."""
        authorization = request.headers.get("authorization")
        if not authorization:
            return Verdict.MISSING
        client = client_address(
            request.client.host if request.client else None,
            request.headers.getlist("x-forwarded-for"),
            self.trusted_proxies,
        )
        held = self.throttle.held_back(client)
        if held > 0:
            await asyncio.sleep(held)
            return Verdict.HELD_BACK
        check = functools.partial(
            self.authenticator.check, request.method, _target(request.scope), authorization
        )
        if self.known.knows(authorization):
            attempt = await run_in_threadpool(check)
        else:
            async with self.new_credential_checks:
                attempt = await run_in_threadpool(check)
        outcome = attempt.outcome
        if isinstance(outcome, SlowCheck):
            outcome = await self.slow_checks.confirm(outcome)
        if isinstance(outcome, Principal):
            if attempt.account is not None:
                self.throttle.succeeded(client, attempt.account)
            self.known.remember(authorization)
            return Caller(outcome, attempt.account or "", client)
        if outcome is Verdict.REJECTED:
            await asyncio.sleep(self.throttle.failed(client, attempt.account))
        return outcome


def _target(scope: Scope) -> str:
    """The request target as the client wrote it (path and query), which a Digest `uri`
    names; read from the scope, since building a URL would parse the client's Host header."""
    path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    query: bytes = scope.get("query_string", b"")
    return path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
