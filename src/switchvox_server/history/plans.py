"""Plans: a report_only answer names, in its `Switchvox-Plan` header, everything its report
depended on; an upload given that token as `plan` applies only if all of it is unchanged
(docs/history.md).

What a report depends on is fingerprinted while the pipeline runs: the file's SHA-256, the
options, the template, the row rules' settings, and, batch by batch, the stored state of
every extension the file names and the owner of every MAC address it gives. The token is
that fingerprint with an HMAC of it under the server secret: only this server (or one
sharing its secret) makes tokens, and a token says nothing but a digest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from switchvox_server.faults import FAULTS, ApiError
from switchvox_server.store.rows import StoredExtension

HEADER = "Switchvox-Plan"
PARAMETER = "plan"
_VERSION = "p1"
_DIGEST_BYTES = 32
_MAC_BYTES = 16
MAX_TOKEN_LENGTH = 96
"""Longer `plan` values are refused before any decoding."""


class PlanFingerprint:
    """The running digest of everything an upload's report depends on."""

    def __init__(self, *parts: object) -> None:
        self._hash = hashlib.sha256()
        self._seen: set[str] = set()
        for part in parts:
            self._add(part)

    def batch(self, existing: Mapping[str, StoredExtension], mac_owners: Mapping[str, str]) -> None:
        """Add one batch's lookups. A number or MAC address met in an earlier batch is
        left out: its later rows are repeats, and a writing upload would find its own row."""
        numbers = sorted(number for number in existing if number not in self._seen)
        self._add([(number, sorted(existing[number].items())) for number in numbers])
        macs = sorted(mac for mac in mac_owners if "mac:" + mac not in self._seen)
        self._add([(mac, mac_owners[mac]) for mac in macs])
        self._seen.update(existing)
        self._seen.update("mac:" + mac for mac in mac_owners)

    def digest(self) -> bytes:
        return self._hash.copy().digest()

    def _add(self, part: object) -> None:
        data = repr(part).encode("utf-8", "surrogatepass")
        self._hash.update(len(data).to_bytes(8, "big"))
        self._hash.update(data)


def make_token(secret_key: bytes, digest: bytes) -> str:
    """The plan token of a fingerprint."""
    return f"{_VERSION}.{_b64(digest)}.{_b64(_mac(secret_key, digest))}"


def planned_digest(secret_key: bytes, token: str) -> bytes:
    """The fingerprint a token names; ApiError (invalid plan) for anything this server did
    not make."""
    token = token.strip()
    parts = token.split(".") if len(token) <= MAX_TOKEN_LENGTH else []
    if len(parts) == 3 and parts[0] == _VERSION:
        try:
            digest, mac = _unb64(parts[1]), _unb64(parts[2])
        except (binascii.Error, ValueError):
            digest = mac = b""
        if len(digest) == _DIGEST_BYTES and hmac.compare_digest(mac, _mac(secret_key, digest)):
            return digest
    raise ApiError(FAULTS.INVALID_PLAN)


def check_plan(expected: bytes, fingerprint: PlanFingerprint) -> None:
    """Raise the stale-plan fault unless the upload saw what the plan saw."""
    if not hmac.compare_digest(expected, fingerprint.digest()):
        raise ApiError(FAULTS.STALE_PLAN)


def _mac(secret_key: bytes, digest: bytes) -> bytes:
    return hmac.new(secret_key, b"switchvox-plan:" + digest, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
