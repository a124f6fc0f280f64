"""HTTP Digest with stateless signed nonces: MD5 only, with qop=auth as RFC 2617 defines it
(RFC 7616 keeps that form) or RFC 2069's form without qop. None of what RFC 7616 added
(SHA-256, userhash, auth-int) is offered or accepted.

Pure functions over header strings, so the web layer stays thin and this stays testable alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from switchvox_server.passwords import REALM

# Nonce layout: 8-byte timestamp, 8 random bytes, first 16 bytes of the HMAC over both.
_TIME_BYTES = 8
_RANDOM_BYTES = 8
_MAC_BYTES = 16
_NONCE_BYTES = _TIME_BYTES + _RANDOM_BYTES + _MAC_BYTES
_NONCE_CHARS = 43  # unpadded base64 of 32 bytes
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# Clocks of workers sharing a secret drift a little; beyond this a "future" nonce is suspect.
_FUTURE_SKEW = 60.0

# RFC 2617 writes nc as exactly 8 hex digits; fewer are taken, anything else is refused.
_NONCE_COUNT = re.compile(r"[0-9A-Fa-f]{1,8}")
_REQUIRED = ("username", "realm", "nonce", "uri", "response")
_TOKEN_END = " \t,="
# A leading scheme word: a token followed by whitespace and then not by "=" (which would make
# it the first parameter's name instead).
_SCHEME = re.compile(r"\s*([^\s,=]+)\s+(?=[^\s=])")


class NonceState(Enum):
    """What a nonce check found: usable, signed by us but too old (or new), or not ours."""

    VALID = "valid"
    STALE = "stale"
    INVALID = "invalid"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class NonceAuthority:
    """Issues and checks nonces that carry their own timestamp and an HMAC signature.

    No server-side state: any process holding the same secret accepts a nonce another issued,
    and a nonce may be reused for any number of requests until it expires (some clients keep
    the first nonce they see; the spec forbids demanding an increasing nc).
    """

    def __init__(
        self,
        secret: bytes,
        *,
        lifetime: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._lifetime = lifetime
        self._clock = clock

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()[:_MAC_BYTES]

    def issue(self) -> str:
        """A fresh nonce stamped with the current time."""
        stamp = int(self._clock()).to_bytes(_TIME_BYTES, "big")
        body = stamp + secrets.token_bytes(_RANDOM_BYTES)
        return _b64url(body + self._mac(body))

    def check(self, nonce: str) -> NonceState:
        """VALID if signed with our secret and within its lifetime, STALE if only expired."""
        if len(nonce) != _NONCE_CHARS or not _BASE64URL.fullmatch(nonce):
            return NonceState.INVALID
        raw = base64.urlsafe_b64decode(nonce + "=")
        # Only the canonical spelling counts, so one nonce has exactly one string form.
        if len(raw) != _NONCE_BYTES or _b64url(raw) != nonce:
            return NonceState.INVALID
        body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(body)):
            return NonceState.INVALID
        age = self._clock() - int.from_bytes(body[:_TIME_BYTES], "big")
        if age > self._lifetime or age < -_FUTURE_SKEW:
            return NonceState.STALE
        return NonceState.VALID


def challenge_headers(
    nonce: str, *, digest_enabled: bool = True, stale: bool = False
) -> list[tuple[str, str]]:
    """The `WWW-Authenticate` headers of a 401, Digest first, then Basic."""
    headers: list[tuple[str, str]] = []
    if digest_enabled:
        value = f'Digest realm="{REALM}", nonce="{nonce}", qop="auth", algorithm=MD5'
        if stale:
            value += ", stale=true"
        headers.append(("WWW-Authenticate", value))
    headers.append(("WWW-Authenticate", f'Basic realm="{REALM}"'))
    return headers


@dataclass(frozen=True, slots=True)
class DigestResponse:
    """The parameters of an `Authorization: Digest ...` header."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    algorithm: str | None = None
    opaque: str | None = None


def _parse_params(text: str) -> dict[str, str] | None:
    """Parse `name=value, name="quoted \\" value"` pairs; None if malformed or repeated."""
    params: dict[str, str] = {}
    i, end = 0, len(text)
    while True:
        # Separators: any run of whitespace and commas (RFC 7230 allows empty list elements).
        while i < end and text[i] in " \t,":
            i += 1
        if i == end:
            return params
        start = i
        while i < end and text[i] not in _TOKEN_END:
            i += 1
        name = text[start:i].lower()
        while i < end and text[i] in " \t":
            i += 1
        if not name or i == end or text[i] != "=":
            return None
        i += 1
        while i < end and text[i] in " \t":
            i += 1
        if i < end and text[i] == '"':
            i += 1
            chars: list[str] = []
            while i < end and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                    if i == end:
                        return None
                chars.append(text[i])
                i += 1
            if i == end:
                return None  # unterminated quoted-string
            i += 1
            value = "".join(chars)
        else:
            start = i
            while i < end and text[i] not in _TOKEN_END:
                i += 1
            value = text[start:i]
        if name in params:
            return None
        params[name] = value
        while i < end and text[i] in " \t":
            i += 1
        if i < end and text[i] != ",":
            return None


def parse_digest(header_value: str) -> DigestResponse | None:
    """Parse a Digest Authorization value (with or without the leading `Digest` word).

    None if it is malformed, lacks username/realm/nonce/uri/response, or names a qop without
    both nc and cnonce.
    """
    text = header_value
    scheme = _SCHEME.match(text)
    if scheme is not None:
        if scheme.group(1).lower() != "digest":
            return None
        text = text[scheme.end() :]
    params = _parse_params(text)
    if params is None or any(name not in params for name in _REQUIRED):
        return None
    qop, nc, cnonce = params.get("qop"), params.get("nc"), params.get("cnonce")
    if qop is not None and (nc is None or cnonce is None):
        return None
    return DigestResponse(
        username=params["username"],
        realm=params["realm"],
        nonce=params["nonce"],
        uri=params["uri"],
        response=params["response"],
        qop=qop,
        nc=nc,
        cnonce=cnonce,
        algorithm=params.get("algorithm"),
        opaque=params.get("opaque"),
    )


def is_supported(digest: DigestResponse) -> bool:
    """True for algorithm MD5 (or absent) with qop "auth" (and cnonce, and nc as up to 8 hex
    digits) or no qop at all."""
    if digest.algorithm is not None and digest.algorithm.lower() != "md5":
        return False
    if digest.qop is None:
        return True
    return (
        digest.qop.lower() == "auth"
        and digest.nc is not None
        and _NONCE_COUNT.fullmatch(digest.nc) is not None
        and digest.cnonce is not None
    )


def _md5_hex(text: str) -> str:
    # MD5 is what the Digest scheme and every Switchvox client use; not a choice made here.
    data = text.encode("utf-8", "surrogatepass")
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def expected_response(ha1: str, method: str, digest: DigestResponse) -> str:
    """The `response` a client holding `ha1` would send (RFC 2617 qop=auth, or RFC 2069).

    Call only when `is_supported(digest)`; the result is meaningless otherwise.
    """
    ha2 = _md5_hex(f"{method}:{digest.uri}")
    if digest.qop is None:
        return _md5_hex(f"{ha1}:{digest.nonce}:{ha2}")
    return _md5_hex(f"{ha1}:{digest.nonce}:{digest.nc}:{digest.cnonce}:{digest.qop}:{ha2}")


def verify_digest(ha1: str, method: str, digest: DigestResponse) -> bool:
    """True if the response proves knowledge of `ha1`, compared in constant time.

    The caller still checks the nonce (NonceAuthority.check) and that `uri` is the request's.
    """
    if not is_supported(digest):
        return False
    expected = expected_response(ha1, method, digest).encode("ascii")
    given = digest.response.lower().encode("utf-8", "surrogatepass")
    return hmac.compare_digest(expected, given)
