"""The slow hash of admin passwords: remembered once right, run once per password however many
requests bring it, and a bounded number at a time."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from switchvox_server.http import signin
from switchvox_server.http.auth import SlowCheck, Verdict
from switchvox_server.http.signin import SlowPasswordChecks
from switchvox_server.passwords import hash_password
from switchvox_server.principals import Principal
from tests.helpers import slow_hash_calls

STORED = {name: hash_password(name) for name in ("right", "a", "b", "c", "old", "new")}


def slow_check(password: str, stored: str | None = None, name: str = "admin") -> SlowCheck:
    """A sign-in check of `password` against a stored hash (by default that of "right")."""
    return SlowCheck(name, password, stored or STORED["right"], Principal.FULL_ADMIN)


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords the slow hash is run for, in order."""
    return slow_hash_calls(monkeypatch)


def confirm_all(checks: SlowPasswordChecks, *items: SlowCheck) -> list[Principal | Verdict]:
    """Confirm `items` concurrently on one event loop."""

    async def run() -> list[Principal | Verdict]:
        return list(await asyncio.gather(*(checks.confirm(item) for item in items)))

    return asyncio.run(run())


def test_a_verified_password_skips_the_slow_hash(hashes: list[str]) -> None:
    """The second check of the same name and password does not run scrypt again."""
    checks = SlowPasswordChecks(b"secret")
    assert confirm_all(checks, slow_check("right")) == [Principal.FULL_ADMIN]
    assert confirm_all(checks, slow_check("right")) == [Principal.FULL_ADMIN]
    assert hashes == ["right"]


def test_wrong_passwords_are_never_remembered(hashes: list[str]) -> None:
    """A password that fails the hash fails every time, and does not make the right one fail."""
    checks = SlowPasswordChecks(b"secret")
    assert confirm_all(checks, slow_check("wrong")) == [Verdict.REJECTED]
    assert confirm_all(checks, slow_check("wrong")) == [Verdict.REJECTED]
    assert confirm_all(checks, slow_check("right")) == [Principal.FULL_ADMIN]
    assert hashes == ["wrong", "wrong", "right"]


def test_a_changed_password_voids_the_entry() -> None:
    """Once the stored hash changes, the old password no longer passes from memory."""
    checks = SlowPasswordChecks(b"secret")
    assert confirm_all(checks, slow_check("old", STORED["old"])) == [Principal.FULL_ADMIN]
    assert confirm_all(checks, slow_check("old", STORED["new"])) == [Verdict.REJECTED]


def test_what_is_remembered_is_bounded() -> None:
    """Past its capacity the least recently used password is forgotten."""
    checks = SlowPasswordChecks(b"secret", capacity=2)
    for name in "abc":
        assert confirm_all(checks, slow_check(name, STORED[name], name)) == [Principal.FULL_ADMIN]
    assert len(checks._verified) == 2


def test_one_password_brought_by_many_requests_at_once_is_hashed_once(hashes: list[str]) -> None:
    """Twenty simultaneous first sign-ins with one password cost one slow hash, and all pass."""
    checks = SlowPasswordChecks(b"secret", slots=1, waiting=0)
    outcomes = confirm_all(checks, *(slow_check("right") for _ in range(20)))
    assert outcomes == [Principal.FULL_ADMIN] * 20
    assert hashes == ["right"]


def slow_verify(running: list[int], peak: list[int]) -> Callable[[str, str], bool]:
    """A stand-in for scrypt that takes 50 ms and records how many run at once."""
    lock = threading.Lock()

    def verify(password: str, encoded: str) -> bool:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return True

    return verify


def test_slow_hashes_run_a_bounded_number_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """With 2 slots and room for 3 more to wait, at most 2 hashes run at once, 5 distinct
    passwords are checked and the others are refused at once as BUSY, not queued."""
    running, peak = [0], [0]
    monkeypatch.setattr(signin, "verify_password", slow_verify(running, peak))
    checks = SlowPasswordChecks(b"secret", slots=2, waiting=3)
    started = time.perf_counter()
    outcomes = confirm_all(checks, *(slow_check(f"password {n}") for n in range(12)))
    elapsed = time.perf_counter() - started
    assert outcomes.count(Principal.FULL_ADMIN) == 5
    assert outcomes.count(Verdict.BUSY) == 7
    assert peak[0] == 2
    assert elapsed < 1.0
