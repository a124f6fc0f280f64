"""The authenticator's cache of verified admin passwords."""

from __future__ import annotations

import pytest

from switchvox_server.http import auth
from switchvox_server.http.auth import VerifiedPasswords
from switchvox_server.passwords import hash_password


def test_a_verified_password_skips_the_slow_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second check of the same name and password does not run scrypt again."""
    stored = hash_password("right")
    calls: list[str] = []
    real = auth.verify_password

    def counting(password: str, encoded: str) -> bool:
        calls.append(password)
        return real(password, encoded)

    monkeypatch.setattr(auth, "verify_password", counting)
    verified = VerifiedPasswords(b"secret")
    assert verified.check("admin", "right", stored)
    assert verified.check("admin", "right", stored)
    assert calls == ["right"]


def test_wrong_passwords_are_never_remembered() -> None:
    """A wrong password fails every time, and does not make the right one fail."""
    stored = hash_password("right")
    verified = VerifiedPasswords(b"secret")
    assert not verified.check("admin", "wrong", stored)
    assert not verified.check("admin", "wrong", stored)
    assert verified.check("admin", "right", stored)


def test_a_changed_password_voids_the_entry() -> None:
    """Once the stored hash changes, the old password no longer passes from the cache."""
    verified = VerifiedPasswords(b"secret")
    assert verified.check("admin", "old", hash_password("old"))
    assert not verified.check("admin", "old", hash_password("new"))


def test_the_cache_is_bounded() -> None:
    """Past its capacity the least recently used entry is dropped."""
    verified = VerifiedPasswords(b"secret", capacity=2)
    stored = {name: hash_password(name) for name in ("a", "b", "c")}
    for name, encoded in stored.items():
        assert verified.check(name, name, encoded)
    assert len(verified._entries) == 2
