"""The scheme word of an `Authorization` header, and HTTP Basic credentials.

Pure functions over header strings, like the Digest parser beside it (http/digest.py).
"""

from __future__ import annotations

import base64
import binascii


def split_scheme(header_value: str) -> tuple[str, str]:
    """Split an Authorization value into its lowercased scheme and the rest, stripped."""
    parts = header_value.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0].lower(), parts[1].strip() if len(parts) == 2 else ""


def parse_basic(header_value: str) -> tuple[str, str] | None:
    """(user, password) from a full `Basic <base64>` value; None if malformed."""
    scheme, token = split_scheme(header_value)
    if scheme != "basic" or not token:
        return None
    try:
        raw = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # Older clients encode credentials in Latin-1, which decodes any byte string.
        text = raw.decode("latin-1")
    user, colon, password = text.partition(":")
    if not colon:
        return None
    return user, password
