"""HTTP Digest and Basic parsing, response checking and signed nonces."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from typing import Any

import pytest

from switchvox_server.http.basic import parse_basic, split_scheme
from switchvox_server.http.digest import (
    DigestResponse,
    NonceAuthority,
    NonceState,
    challenge_headers,
    expected_response,
    is_supported,
    parse_digest,
    verify_digest,
)
from switchvox_server.passwords import digest_ha1
from tests.helpers import FakeClock

SECRET = b"s" * 32
# A clock reading of our time, so that nonce stamps look like real ones.
NOW = 1_700_000_000.0


def md5(text: str) -> str:
    """Hex MD5 of `text`, as Digest computes it."""
    return hashlib.md5(text.encode()).hexdigest()


RFC2617 = DigestResponse(
    username="Mufasa",
    realm="testrealm@host.com",
    nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
    uri="/dir/index.html",
    response="6629fae49393a05397450978507c4ef1",
    qop="auth",
    nc="00000001",
    cnonce="0a4f113b",
    opaque="5ccc069c403ebaf9f0171e9517f40e41",
)


# --- responses -------------------------------------------------------------------------


def test_rfc2617_known_answer() -> None:
    """The RFC 2617 section 3.5 example yields its published response and verifies."""
    ha1 = digest_ha1("Mufasa", "Circle Of Life", "testrealm@host.com")
    assert expected_response(ha1, "GET", RFC2617) == "6629fae49393a05397450978507c4ef1"
    assert verify_digest(ha1, "GET", RFC2617)


def test_rfc2617_wrong_password_or_method_fails() -> None:
    """A different password or request method does not verify the RFC 2617 response."""
    assert not verify_digest(
        digest_ha1("Mufasa", "circle of life", "testrealm@host.com"), "GET", RFC2617
    )
    assert not verify_digest(
        digest_ha1("Mufasa", "Circle Of Life", "testrealm@host.com"), "POST", RFC2617
    )


def test_rfc2069_no_qop_response() -> None:
    """Without qop the response is MD5(HA1:nonce:HA2), as RFC 2069 clients compute it."""
    ha1 = md5("admin:switchvox_api_auth:secret")
    ha2 = md5("POST:/xml")
    independent = md5(f"{ha1}:abc123:{ha2}")
    digest = DigestResponse("admin", "switchvox_api_auth", "abc123", "/xml", independent)
    assert expected_response(ha1, "POST", digest) == independent
    assert verify_digest(ha1, "POST", digest)


def test_uppercase_hex_response_verifies() -> None:
    """Hex case in the client's response is not significant."""
    ha1 = digest_ha1("Mufasa", "Circle Of Life", "testrealm@host.com")
    shouted = replace(RFC2617, response=RFC2617.response.upper())
    assert verify_digest(ha1, "GET", shouted)


def test_non_ascii_response_is_rejected_not_raised() -> None:
    """A response holding non-ASCII text fails verification instead of raising."""
    ha1 = digest_ha1("Mufasa", "Circle Of Life", "testrealm@host.com")
    odd = replace(RFC2617, response="ü" * 32)
    assert not verify_digest(ha1, "GET", odd)


@pytest.mark.parametrize(
    ("algorithm", "qop", "supported"),
    [
        (None, None, True),
        ("MD5", "auth", True),
        ("md5", "auth", True),
        ("MD5-sess", "auth", False),
        ("SHA-256", "auth", False),
        (None, "auth-int", False),
    ],
)
def test_is_supported(algorithm: str | None, qop: str | None, supported: bool) -> None:
    """Only MD5 (or no algorithm) with qop auth or no qop is supported."""
    nc, cnonce = ("00000001", "x") if qop else (None, None)
    digest = DigestResponse("u", "r", "n", "/xml", "0" * 32, qop, nc, cnonce, algorithm)
    assert is_supported(digest) is supported


def test_unsupported_algorithm_never_verifies() -> None:
    """A response computed correctly but labelled with another algorithm is rejected."""
    ha1 = digest_ha1("Mufasa", "Circle Of Life", "testrealm@host.com")
    sha = replace(RFC2617, algorithm="SHA-256")
    assert not verify_digest(ha1, "GET", sha)


# --- nonces ----------------------------------------------------------------------------


def test_nonce_is_reusable_for_many_requests() -> None:
    """One nonce checks VALID again and again across ten minutes, with no server state."""
    clock = FakeClock(NOW)
    authority = NonceAuthority(SECRET, clock=clock)
    nonce = authority.issue()
    for _ in range(1000):
        clock.now += 0.6
        assert authority.check(nonce) is NonceState.VALID


def test_nonce_shape() -> None:
    """A nonce is 43 characters of unpadded URL-safe base64 and each one is new."""
    authority = NonceAuthority(SECRET)
    nonces = {authority.issue() for _ in range(100)}
    assert len(nonces) == 100
    for nonce in nonces:
        assert len(nonce) == 43
        assert base64.urlsafe_b64decode(nonce + "=")


def test_nonce_shared_between_processes() -> None:
    """A nonce issued by one authority is accepted by another holding the same secret."""
    clock = FakeClock(NOW)
    nonce = NonceAuthority(SECRET, clock=clock).issue()
    assert NonceAuthority(SECRET, clock=clock).check(nonce) is NonceState.VALID


def test_nonce_from_another_secret_is_invalid() -> None:
    """A nonce signed with a different secret is INVALID."""
    nonce = NonceAuthority(b"other secret").issue()
    assert NonceAuthority(SECRET).check(nonce) is NonceState.INVALID


def test_tampered_nonce_is_invalid() -> None:
    """Changing any byte of a nonce, including its timestamp, makes it INVALID."""
    authority = NonceAuthority(SECRET)
    raw = bytearray(base64.urlsafe_b64decode(authority.issue() + "="))
    for position in (0, 7, 8, 15, 16, 31):
        forged = bytearray(raw)
        forged[position] ^= 0x01
        text = base64.urlsafe_b64encode(bytes(forged)).rstrip(b"=").decode()
        assert authority.check(text) is NonceState.INVALID


@pytest.mark.parametrize(
    "nonce",
    [
        "",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "A" * 43,
        "A" * 44,
        "A" * 42 + "=",
        "!" * 43,
        "é" * 43,
    ],
)
def test_forged_nonce_is_invalid(nonce: str) -> None:
    """Strings that are not our nonces, of any length or alphabet, are INVALID."""
    assert NonceAuthority(SECRET).check(nonce) is NonceState.INVALID


def test_non_canonical_spelling_is_invalid() -> None:
    """Another base64 spelling of the same nonce bytes is not accepted."""
    authority = NonceAuthority(SECRET)
    nonce = authority.issue()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # The last character carries 4 data bits and 2 padding bits; flip a padding bit.
    sibling = nonce[:-1] + alphabet[alphabet.index(nonce[-1]) ^ 1]
    assert base64.urlsafe_b64decode(sibling + "=") == base64.urlsafe_b64decode(nonce + "=")
    assert authority.check(sibling) is NonceState.INVALID


@pytest.mark.parametrize(
    ("options", "oldest_valid", "youngest_stale"),
    [({"lifetime": 600.0}, 600.0, 601.0), ({}, 3599.0, 3601.0)],
    ids=["given-lifetime", "default-lifetime-an-hour"],
)
def test_a_nonce_past_its_lifetime_is_stale(
    options: dict[str, Any], oldest_valid: float, youngest_stale: float
) -> None:
    """A nonce is VALID up to its lifetime (by default an hour, past the spec's ten minutes)
    and STALE after it, not INVALID, so clients can retry."""
    clock = FakeClock(NOW)
    authority = NonceAuthority(SECRET, clock=clock, **options)
    nonce = authority.issue()
    clock.now = NOW + oldest_valid
    assert authority.check(nonce) is NonceState.VALID
    clock.now = NOW + youngest_stale
    assert authority.check(nonce) is NonceState.STALE


def test_nonce_from_the_future_is_stale_beyond_skew() -> None:
    """A nonce stamped up to 60 s ahead is VALID (clock skew), further ahead it is STALE."""
    clock = FakeClock(NOW)
    issuer = NonceAuthority(SECRET, clock=clock)
    checker_clock = FakeClock(clock.now - 60.0)
    checker = NonceAuthority(SECRET, clock=checker_clock)
    nonce = issuer.issue()
    assert checker.check(nonce) is NonceState.VALID
    checker_clock.now -= 2.0
    assert checker.check(nonce) is NonceState.STALE


# --- challenge -------------------------------------------------------------------------


def test_challenge_headers_exact() -> None:
    """The 401 carries the Digest challenge first and the Basic one second, byte for byte."""
    assert challenge_headers("N0NCE") == [
        (
            "WWW-Authenticate",
            'Digest realm="switchvox_api_auth", nonce="N0NCE", qop="auth", algorithm=MD5',
        ),
        ("WWW-Authenticate", 'Basic realm="switchvox_api_auth"'),
    ]


def test_challenge_headers_stale() -> None:
    """A stale nonce adds stale=true to the Digest challenge only."""
    assert challenge_headers("N", stale=True) == [
        (
            "WWW-Authenticate",
            'Digest realm="switchvox_api_auth", nonce="N", qop="auth", algorithm=MD5, stale=true',
        ),
        ("WWW-Authenticate", 'Basic realm="switchvox_api_auth"'),
    ]


def test_challenge_headers_digest_disabled() -> None:
    """With Digest turned off only the Basic challenge is sent."""
    assert challenge_headers("N", digest_enabled=False) == [
        ("WWW-Authenticate", 'Basic realm="switchvox_api_auth"')
    ]


# --- parsing Digest --------------------------------------------------------------------


def _client_response(nonce: str, nc: str, cnonce: str) -> str:
    ha1 = md5("admin:switchvox_api_auth:secret")
    return md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{md5('POST:/xml')}")


@pytest.mark.parametrize(
    ("nc", "cnonce", "header"),
    [
        pytest.param(
            "00000001",
            "ZTU3ZDc4NWE5ZmIxZmE3MmE2NGM1NDA4MTdhYjE1NDk=",
            'Digest username="admin", realm="switchvox_api_auth", nonce="{nonce}", uri="/xml", '
            'cnonce="{cnonce}", nc={nc}, qop=auth, response="{response}", algorithm=MD5',
            id="curl",  # unquoted nc, qop and algorithm
        ),
        pytest.param(
            "00000001",
            "a1b2c3d4e5f60718",
            'Digest username="admin", realm="switchvox_api_auth", nonce="{nonce}", uri="/xml", '
            'response="{response}", algorithm="MD5", qop="auth", nc={nc}, cnonce="{cnonce}"',
            id="python-requests",  # quoted qop and algorithm, no opaque
        ),
        pytest.param(
            "00000002",
            "7e4f1c2b",
            'Digest username="admin", realm="switchvox_api_auth", qop=auth, algorithm="MD5", '
            'uri="/xml", nonce="{nonce}", nc={nc}, cnonce="{cnonce}", response="{response}"',
            id="perl-lwp",  # unquoted qop and nc, quoted algorithm, its own order
        ),
    ],
)
def test_parse_digest_of_real_clients(nc: str, cnonce: str, header: str) -> None:
    """Each client's header, with its own quoting and order, parses and verifies."""
    nonce = NonceAuthority(SECRET).issue()
    response = _client_response(nonce, nc, cnonce)
    digest = parse_digest(header.format(nonce=nonce, nc=nc, cnonce=cnonce, response=response))
    assert digest is not None
    assert (digest.qop, digest.nc, digest.cnonce, digest.algorithm) == ("auth", nc, cnonce, "MD5")
    assert verify_digest(md5("admin:switchvox_api_auth:secret"), "POST", digest)


def test_parse_digest_rfc2069_client() -> None:
    """A no-qop header as the Ruby client sends it parses with qop, nc and cnonce absent."""
    header = (
        'Digest username="admin", realm="switchvox_api_auth", nonce="n", uri="/xml", response="r"'
    )
    digest = parse_digest(header)
    assert digest == DigestResponse("admin", "switchvox_api_auth", "n", "/xml", "r")


def test_parse_digest_scheme_optional_and_case_insensitive() -> None:
    """The Digest scheme word is case-insensitive and may already be stripped."""
    params = 'username="u", realm="r", nonce="n", uri="/xml", response="x"'
    expected = DigestResponse("u", "r", "n", "/xml", "x")
    assert parse_digest("DIGEST " + params) == expected
    assert parse_digest("digest\t" + params) == expected
    assert parse_digest(params) == expected
    assert parse_digest("Basic " + params) is None


def test_parse_digest_spacing_escapes_and_case() -> None:
    """Odd spacing, empty list elements, escapes and upper-case names are tolerated."""
    header = (
        'Digest  ,USERNAME = "a\\"b\\\\c" ,, realm="r",nonce=n ,uri="/xml?x=1,2", '
        'response = "x", opaque="o", extra=ignored,'
    )
    digest = parse_digest(header)
    assert digest == DigestResponse('a"b\\c', "r", "n", "/xml?x=1,2", "x", opaque="o")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Digest",
        "Digest ",
        'Digest username="u", realm="r", nonce="n", uri="/xml"',
        'Digest realm="r", nonce="n", uri="/xml", response="x"',
        'Digest username="u, realm="r", nonce="n", uri="/xml", response="x"',
        'Digest username="u" realm="r", nonce="n", uri="/xml", response="x"',
        'Digest username="u", username="v", realm="r", nonce="n", uri="/xml", response="x"',
        'Digest username, realm="r", nonce="n", uri="/xml", response="x"',
        'Digest username="u", realm="r", nonce="n", uri="/xml", response="x", qop=auth',
        'Digest username="u", realm="r", nonce="n", uri="/xml", response="x", qop=auth, nc=1',
        'Digest username="u", realm="r", nonce="n", uri="/xml", response="x\\',
    ],
)
def test_parse_digest_rejects_malformed(header: str) -> None:
    """Missing fields, unterminated quotes, repeats and qop without nc/cnonce give None."""
    assert parse_digest(header) is None


# --- Basic and scheme ------------------------------------------------------------------


def _basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


def test_parse_basic_colon_in_password() -> None:
    """Only the first colon separates user from password."""
    assert parse_basic(_basic(b"admin:pa:ss:word")) == ("admin", "pa:ss:word")
    assert parse_basic(_basic(b"admin:")) == ("admin", "")


def test_parse_basic_encodings() -> None:
    """Credentials decode as UTF-8, falling back to Latin-1, and the scheme is case-blind."""
    assert parse_basic(_basic("bjørn:pässword".encode())) == ("bjørn", "pässword")
    assert parse_basic(_basic("bjørn:pässword".encode("latin-1"))) == ("bjørn", "pässword")
    assert parse_basic("basic   " + base64.b64encode(b"u:p").decode() + " ") == ("u", "p")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic",
        "Basic ",
        "Basic !!!!",
        "Basic dTo",  # "u:" without its padding
        "Basic dT pw",
        "Basic " + base64.b64encode(b"no colon here").decode(),
        "Bearer " + base64.b64encode(b"u:p").decode(),
        'Digest username="u"',
    ],
)
def test_parse_basic_rejects_garbage(header: str) -> None:
    """Bad base64, a missing colon or another scheme gives None."""
    assert parse_basic(header) is None


def test_split_scheme() -> None:
    """The scheme comes back lowercased with the rest stripped."""
    assert split_scheme("Basic dTpw") == ("basic", "dTpw")
    assert split_scheme('  DIGEST   username="u" ') == ("digest", 'username="u"')
    assert split_scheme("Bearer\ttoken") == ("bearer", "token")
    assert split_scheme("Negotiate") == ("negotiate", "")
    assert split_scheme("   ") == ("", "")
