"""Hostile Authorization headers: every one answers the 401 challenge, never a 500, and a name
no account can have (a NUL in it, which PostgreSQL text cannot hold) never reaches the store."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from switchvox_server.http import auth
from switchvox_server.http.auth import Attempt, Authenticator, Verdict
from tests.conftest import ADMIN_PASSWORD

REALM = "switchvox_api_auth"
CHECKS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIELDS = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce", "algorithm")


def basic(credentials: bytes) -> bytes:
    """A Basic `Authorization` value of raw `credentials`."""
    return b"Basic " + base64.b64encode(credentials)


def md5(text: str) -> str:
    """Hex MD5 of `text`, as Digest computes it."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def digest(issued: str, **changes: str | None) -> bytes:
    """A Digest answer for admin with the right password to the nonce `issued` (a right
    response for its own fields), with fields changed, or left out where a change is None."""
    fields: dict[str, str | None] = {
        "username": "admin",
        "realm": REALM,
        "nonce": issued,
        "uri": "/xml",
        "qop": "auth",
        "nc": "00000001",
        "cnonce": "0a4f113b",
    }
    fields.update(changes)
    ha1 = md5(f"{fields['username']}:{REALM}:{ADMIN_PASSWORD}")
    ha2 = md5(f"POST:{fields['uri']}")
    answer = f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:{fields['qop']}:{ha2}"
    fields.setdefault("response", md5(answer))
    parts = [f'{name}="{value}"' for name, value in fields.items() if value is not None]
    return ("Digest " + ", ".join(parts)).encode("utf-8")


def hostile_headers(nonce: str) -> dict[str, bytes]:
    """One of each kind of hostile Authorization value, by name."""
    right = f"admin:{ADMIN_PASSWORD}".encode()
    return {
        "basic-nul-in-name": basic(b"ad\0min:" + ADMIN_PASSWORD.encode()),
        "basic-nul-name": basic(b"\0:x"),
        "basic-nul-after-name": basic(b"admin\0:x"),
        "basic-control-characters": basic(b"\x01\x1b[2J\x7f:x"),
        "basic-non-ascii-utf8": basic("é€😀:x".encode()),
        "basic-not-utf8": basic(b"\xff\xfe\xfd:x"),
        "basic-5000-digits": basic(b"9" * 5000 + b":x"),
        "basic-non-ascii-digits": basic("²³¹:x".encode()),
        "basic-arabic-indic-digits": basic("\u0661\u0662\u0663:x".encode()),
        "basic-long-name": basic(b"a" * 65 + b":x"),
        "basic-empty-name": basic(b":" + ADMIN_PASSWORD.encode()),
        "basic-no-colon": basic(b"admin"),
        "basic-nul-in-password": basic(right + b"\0"),
        "basic-huge": basic(b"admin:" + b"x" * 100_000),
        "basic-bare": b"Basic",
        "basic-padding-only": b"Basic ====",
        "basic-not-base64": b"Basic !!!!",
        "basic-non-ascii-token": "Basic éé==".encode("latin-1"),
        "basic-two-tokens": b"Basic " + base64.b64encode(right) + b" extra",
        "digest-bare": b"Digest",
        "digest-only-commas": b"Digest ,,,,",
        "digest-no-name": b"Digest =x",
        "digest-unterminated": b'Digest username="admin',
        "digest-nul-in-name": digest(nonce, username="ad\0min"),
        "digest-non-ascii-name": digest(nonce, username="ädmin€"),
        "digest-5000-digit-name": digest(nonce, username="7" * 5000),
        "digest-empty-name": digest(nonce, username=""),
        "digest-uri-unbalanced-bracket": digest(nonce, uri="http://[::1/xml"),
        "digest-uri-bracketed-non-ip": digest(nonce, uri="http://[host]/xml"),
        "digest-uri-empty": digest(nonce, uri=""),
        "digest-uri-nul": digest(nonce, uri="/xml\0"),
        "digest-nc-5000-digits": digest(nonce, nc="1" * 5000),
        "digest-nc-non-ascii-digits": digest(nonce, nc="\u0660" * 7 + "\u0661"),
        "digest-nc-empty": digest(nonce, nc=""),
        "digest-nc-not-hex": digest(nonce, nc="0x000001"),
        "digest-response-non-ascii": digest(nonce, response="é" * 32),
        "digest-qop-auth-int": digest(nonce, qop="auth-int"),
        "digest-qop-without-nc": digest(nonce, nc=None),
        "digest-algorithm-sha256": digest(nonce) + b", algorithm=SHA-256",
        "digest-algorithm-md5-sess": digest(nonce) + b", algorithm=MD5-sess",
        "digest-nonce-forged": digest("A" * 43),
        "digest-nonce-huge": digest("A" * 50_000),
        "digest-nonce-non-ascii": digest(nonce[:-1] + "é"),
        **{f"digest-without-{name}": digest(nonce, **{name: None}) for name in FIELDS[:5]},
        "digest-username-twice": digest(nonce) + b', username="admin"',
        "digest-realm-twice": digest(nonce) + b', realm="' + REALM.encode() + b'"',
        "digest-huge": digest(nonce, cnonce="c" * 100_000),
        "scheme-unknown": b"Bearer abc.def.ghi",
        "scheme-only-nul": b"\0",
        "scheme-non-ascii": "Négotiate x".encode(),
        "whitespace": b"   ",
    }


def test_every_hostile_header_answers_the_challenge(
    unthrottled: TestClient, authenticator: Authenticator, caplog: pytest.LogCaptureFixture
) -> None:
    """Each hostile header, over HTTP on this test run's database, answers 401 with the
    challenge after being checked (not a 500, not a database error)."""
    caplog.set_level("INFO", logger="switchvox_server.access")
    for name, value in hostile_headers(authenticator.nonces.issue()).items():
        caplog.clear()
        response = unthrottled.post(
            "/xml",
            content=b"<request/>",
            headers={"authorization": value},  # type: ignore[arg-type]  # raw bytes on purpose
            auth=None,  # type: ignore[arg-type]  # the header only, never the client's own
        )
        assert response.status_code == 401, name
        assert len(response.headers.get_list("www-authenticate")) == 2, name
        assert "outcome=unauthorized:rejected" in caplog.text, name
    assert unthrottled.post("/xml", content=b"<request/>").status_code == 200


def test_a_right_digest_answer_still_passes(
    unthrottled: TestClient, authenticator: Authenticator
) -> None:
    """The builder of the hostile Digest headers makes a passing answer when left alone, so
    each hostile variant fails for the one field it changes."""
    header = digest(authenticator.nonces.issue())
    response = unthrottled.post(
        "/xml",
        content=b"<request/>",
        headers={"authorization": header},  # type: ignore[arg-type]  # raw bytes on purpose
        auth=None,  # type: ignore[arg-type]  # the header only, never the client's own
    )
    assert response.status_code == 200, response.text


def test_names_no_account_can_have_never_reach_the_store(
    authenticator: Authenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name with a NUL or another control character, an empty or an overlong one is refused
    without a query: the store is never asked."""
    queried: list[str] = []
    for lookup in ("admin_credentials", "extension_credentials"):
        real = getattr(auth, lookup)

        def counting(session: Session, name: str, real: Callable[..., object] = real) -> object:
            queried.append(name)
            return real(session, name)

        monkeypatch.setattr(auth, lookup, counting)
    assert authenticator.check("POST", "/xml", basic(b"nobody:x").decode()).account == "nobody"
    assert queried == ["nobody", "nobody"]
    queried.clear()
    for name in (b"ad\0min", b"\0", b"a\x7fb", b"tab\tname", b"", b"a" * 65):
        attempt = authenticator.check("POST", "/xml", basic(name + b":x").decode("ascii"))
        assert attempt == Attempt(None, Verdict.REJECTED), name
    assert queried == []


@CHECKS
@given(credentials=st.binary(max_size=300))
def test_any_basic_credentials_are_refused_cleanly(
    authenticator: Authenticator, credentials: bytes
) -> None:
    """Any bytes as Basic credentials are refused, on this run's database, without raising."""
    attempt = authenticator.check("POST", "/xml", basic(credentials).decode("ascii"))
    assert attempt.outcome is Verdict.REJECTED


header_text = st.text(st.characters(max_codepoint=0xFF), max_size=200)
digest_fields = st.dictionaries(
    st.sampled_from((*FIELDS, "opaque", "x")),
    st.text(st.characters(max_codepoint=0x10FFFF, exclude_categories=["Cs"]), max_size=80),
    max_size=10,
)


@CHECKS
@given(
    prefix=st.sampled_from(["Basic ", "Digest ", "digest ", "", "Bearer "]),
    rest=header_text,
    fields=digest_fields,
    quoted=st.booleans(),
)
def test_any_header_value_is_refused_cleanly(
    authenticator: Authenticator, prefix: str, rest: str, fields: dict[str, str], quoted: bool
) -> None:
    """Any header text, and any Digest fields (any characters, any subset, real nonces), is
    refused or challenged on this run's database, without raising."""
    if "nonce" in fields:
        fields["nonce"] = authenticator.nonces.issue()
    quote = '"' if quoted else ""
    listed = ", ".join(f"{name}={quote}{value}{quote}" for name, value in fields.items())
    for value in (prefix + rest, "Digest " + listed, "Digest " + listed + rest):
        if value.strip():
            attempt = authenticator.check("POST", "/xml", value)
            assert isinstance(attempt.outcome, Verdict), value
