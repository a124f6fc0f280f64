"""The account name an authenticated request was made with, for the import history."""

from __future__ import annotations

from switchvox_server.http.digest import parse_basic, parse_digest, split_scheme


def account_name(authorization: str | None) -> str:
    """The user name of Basic or Digest credentials that have been accepted; "" if none."""
    if not authorization:
        return ""
    scheme, _ = split_scheme(authorization)
    if scheme == "basic":
        basic = parse_basic(authorization)
        return "" if basic is None else basic[0]
    if scheme == "digest":
        digest = parse_digest(authorization)
        return "" if digest is None else digest.username
    return ""
