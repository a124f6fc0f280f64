"""Password hashing and the derived secrets the API and a PBX need; pure functions, no I/O."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from switchvox_server.store.rows import ExtensionValues

# The Digest realm of the Extend API, byte for byte: Digium's Perl client hard-codes it.
REALM = "switchvox_api_auth"

# Asterisk's chan_sip/pjsip default realm; an `md5secret` is the HA1 over this realm, so this
# is the form a registrar can check a phone against without the clear password.
SIP_REALM = "asterisk"


@dataclass(frozen=True, slots=True)
class ScryptCost:
    """The scrypt work factors `hash_password` writes into a new encoding."""

    n: int
    r: int
    p: int


# scrypt cost for admin passwords: about 16 MiB and tens of milliseconds per hash, which is
# fine for a handful of admin accounts and expensive for anyone guessing. Read at every call,
# so a test suite may swap in a cheaper cost (tests/conftest.py does); verify_password takes
# the cost from the encoding, so hashes of either cost keep verifying.
SCRYPT_COST = ScryptCost(n=2**14, r=8, p=1)
_SALT_BYTES = 16
_KEY_BYTES = 32
# Stored parameters are data: cap them so a tampered row cannot make a login hash for minutes.
_MAX_SCRYPT_WORK = 2**20 * 8


def _md5_hex(text: str) -> str:
    # MD5 is fixed by the Digest and SIP protocols, not chosen here; the flag keeps it usable
    # on FIPS-restricted builds of Python.
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _same(a: str, b: str) -> bool:
    # compare_digest refuses non-ASCII str, and stored or client-sent values may be anything.
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    # maxmem bounds what a stored encoding can make us allocate (64 MiB; ours needs 16 MiB).
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=2**26
    )


def hash_password(password: str) -> str:
    """Slow salted hash of an admin password as `scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`."""
    cost = SCRYPT_COST
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, salt, cost.n, cost.r, cost.p, _KEY_BYTES)
    fields = [
        "scrypt",
        str(cost.n),
        str(cost.r),
        str(cost.p),
        base64.b64encode(salt).decode("ascii"),
        base64.b64encode(key).decode("ascii"),
    ]
    return "$".join(fields)


def verify_password(password: str, encoded: str) -> bool:
    """True if `password` matches a `hash_password` encoding; a malformed encoding is False."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    numbers = parts[1:4]
    if not all(part.isascii() and part.isdigit() for part in numbers):
        return False
    n, r, p = (int(part) for part in numbers)
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or n * r * p > _MAX_SCRYPT_WORK:
        return False
    try:
        salt = base64.b64decode(parts[4], validate=True)
        key = base64.b64decode(parts[5], validate=True)
    except (binascii.Error, ValueError):
        return False
    if not salt or not key or len(key) > 64:
        return False
    try:
        candidate = _scrypt(password, salt, n, r, p, len(key))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(candidate, key)


def digest_ha1(username: str, password: str, realm: str = REALM) -> str:
    """Hex MD5 of `username:realm:password`, what HTTP Digest checks.

    The HA1 is password-equivalent for that realm: whoever holds it can answer any Digest
    challenge for the account, so it must be guarded like the password itself.
    """
    return _md5_hex(f"{username}:{realm}:{password}")


def verify_ha1(username: str, password: str, stored_ha1: str, realm: str = REALM) -> bool:
    """Constant-time check of a clear password (from Basic) against a stored Digest HA1."""
    return _same(digest_ha1(username, password, realm), stored_ha1.lower())


def sip_ha1(extension: str, password: str) -> str:
    """The HA1 a SIP registrar accepts (Asterisk's md5secret): MD5 of `extension:asterisk:pw`."""
    return _md5_hex(f"{extension}:{SIP_REALM}:{password}")


def voicemail_pin_digest(secret_key: bytes, extension: str, pin: str) -> str:
    """HMAC-SHA256 hex of `extension:pin`, keyed with the server secret."""
    # A PIN has at most 16 digits, so any unkeyed hash of it falls to brute force in moments;
    # keyed, a leaked table is useless without the secret.
    keyed = _keyed_sha256(secret_key).copy()
    keyed.update(f"{extension}:{pin}".encode())
    return keyed.hexdigest()


@functools.lru_cache(maxsize=4)
def _keyed_sha256(secret_key: bytes) -> hmac.HMAC:
    # Keying HMAC hashes the key pads; copying a keyed object skips that for every row.
    return hmac.new(secret_key, digestmod=hashlib.sha256)


# A checked row carries each new secret in clear under its key here, beside the column of
# its stored form; whoever writes the row derives that form (settle_secrets), so a helper
# process that stores an upload also takes the hashing off the process checking the rows.
NEW_WEB_PASSWORD: Final = "new_web_password"
NEW_PHONE_PASSWORD: Final = "new_phone_password"
NEW_VOICEMAIL_PIN: Final = "new_voicemail_pin"


def settle_secrets(row: ExtensionValues, secret_key: bytes) -> None:
    """Replace the row's new clear secrets by their stored forms, in place."""
    number = row["number"]
    if (password := row.pop(NEW_WEB_PASSWORD, None)) is not None:
        row["web_password_ha1"] = digest_ha1(number, password)
    if (secret := row.pop(NEW_PHONE_PASSWORD, None)) is not None:
        row["phone_password_ha1"] = sip_ha1(number, secret)
    if (pin := row.pop(NEW_VOICEMAIL_PIN, None)) is not None:
        row["voicemail_pin_digest"] = voicemail_pin_digest(secret_key, number, pin)
