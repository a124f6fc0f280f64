"""Password hashing and derived secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from switchvox_server.passwords import (
    REALM,
    SIP_REALM,
    digest_ha1,
    hash_password,
    sip_ha1,
    verify_ha1,
    verify_password,
    voicemail_pin_digest,
)
from tests.conftest import CHEAP_SCRYPT


def test_realm_is_the_switchvox_digest_realm() -> None:
    """The Digest realm is exactly the string Switchvox clients hard-code."""
    assert REALM == "switchvox_api_auth"
    assert SIP_REALM == "asterisk"


def test_hash_password_round_trips() -> None:
    """A hashed admin password verifies with the right password and not with a wrong one."""
    encoded = hash_password("s3cret pässword")
    assert verify_password("s3cret pässword", encoded)
    assert not verify_password("s3cret password", encoded)
    assert not verify_password("", encoded)


@pytest.mark.real_scrypt
def test_hash_password_encoding_is_self_describing_and_salted() -> None:
    """The encoding names scrypt and its production parameters, and two hashes differ."""
    first = hash_password("pw")
    second = hash_password("pw")
    assert first != second
    scheme, n, r, p, salt, key = first.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(salt) == 24  # base64 of 16 bytes
    assert len(key) == 44  # base64 of 32 bytes


def test_tests_hash_at_the_cheap_scrypt_cost() -> None:
    """Outside `real_scrypt` tests, hashes carry the suite's cheap cost and still verify."""
    encoded = hash_password("pw")
    assert encoded.split("$")[1:4] == [
        str(CHEAP_SCRYPT.n),
        str(CHEAP_SCRYPT.r),
        str(CHEAP_SCRYPT.p),
    ]
    assert verify_password("pw", encoded)


def test_verify_password_checks_against_hashlib_scrypt() -> None:
    """An encoding built by hand with hashlib.scrypt verifies, so the format is portable."""
    salt = b"0123456789abcdef"
    key = hashlib.scrypt(b"hunter2", salt=salt, n=2**14, r=8, p=1, dklen=32)
    encoded = "$".join(
        [
            "scrypt",
            "16384",
            "8",
            "1",
            base64.b64encode(salt).decode(),
            base64.b64encode(key).decode(),
        ]
    )
    assert verify_password("hunter2", encoded)
    assert not verify_password("hunter3", encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "scrypt",
        "plain$hunter2",
        "bcrypt$16384$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
        "scrypt$16384$8$1$MDEyMzQ1Njc4OWFiY2RlZg==",
        "scrypt$16384$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$not base64!",
        "scrypt$16384$8$1$$AAAA",
        "scrypt$16384$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$",
        "scrypt$abc$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
        "scrypt$-16384$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
        "scrypt$16383$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
        "scrypt$0$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
        "scrypt$16384$0$1$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
        "scrypt$16384$8$0$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
        "scrypt$1073741824$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
        "scrypt$16384$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA$extra",
        "scrypt$\uff11\uff16\uff13\uff18\uff14$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
    ],
)
def test_verify_password_rejects_malformed_encodings(encoded: str) -> None:
    """A malformed or absurd stored encoding verifies as False instead of raising."""
    assert verify_password("hunter2", encoded) is False


def test_digest_ha1_known_answer() -> None:
    """HA1 is MD5 of user:realm:password, here the RFC 2617 section 3.5 example."""
    assert digest_ha1("Mufasa", "Circle Of Life", "testrealm@host.com") == (
        "939e7578ed9e3c518a452acee763bce9"
    )


def test_digest_ha1_defaults_to_api_realm_and_utf8() -> None:
    """Without a realm argument HA1 is taken over the API realm, with UTF-8 text."""
    expected = hashlib.md5("admin:switchvox_api_auth:pässword".encode()).hexdigest()
    assert digest_ha1("admin", "pässword") == expected


def test_verify_ha1_accepts_right_password_only() -> None:
    """A clear password checks against a stored HA1, case-insensitively for the hex."""
    stored = digest_ha1("1001", "webpass")
    assert verify_ha1("1001", "webpass", stored)
    assert verify_ha1("1001", "webpass", stored.upper())
    assert not verify_ha1("1001", "webpasS", stored)
    assert not verify_ha1("1002", "webpass", stored)
    assert not verify_ha1("1001", "webpass", "")
    assert not verify_ha1("1001", "webpass", "ünïcode garbage")


def test_sip_ha1_is_asterisk_md5secret() -> None:
    """The SIP HA1 is MD5 of extension:asterisk:password, as Asterisk's md5secret."""
    expected = hashlib.md5(b"1001:asterisk:sippass").hexdigest()
    assert sip_ha1("1001", "sippass") == expected


def test_voicemail_pin_digest_is_keyed() -> None:
    """The PIN digest is HMAC-SHA256 of extension:pin and changes with the key."""
    expected = hmac.new(b"key", b"1001:1234", hashlib.sha256).hexdigest()
    assert voicemail_pin_digest(b"key", "1001", "1234") == expected
    assert voicemail_pin_digest(b"other", "1001", "1234") != expected
    assert voicemail_pin_digest(b"key", "1002", "1234") != expected


def test_per_row_functions_are_fast() -> None:
    """The functions run per upload row take microseconds, not the milliseconds of scrypt."""
    rows = 2000
    start = time.perf_counter()
    for i in range(rows):
        ext = str(1000 + i)
        digest_ha1(ext, "webpass")
        sip_ha1(ext, "sippass")
        voicemail_pin_digest(b"k" * 32, ext, "1234")
    per_row = (time.perf_counter() - start) / rows
    assert per_row < 0.001
