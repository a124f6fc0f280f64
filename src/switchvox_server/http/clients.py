"""Which client sent a request: the socket's peer, or what trusted proxies say it was.

`X-Forwarded-For` is written by whoever sends it, so it is read only when the peer is one of
the operator's trusted proxies (SWITCHVOX_TRUSTED_PROXIES), and then from the right: each
proxy appends the address it received the request from, so the right-most address that is not
a trusted proxy is the first one no trusted proxy vouches for beyond — the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import TypeAlias

from switchvox_server.settings import Network

Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN_CLIENT = "unknown"
# A hop that is no address is kept as the client's name, cut to this length.
_MAX_HOP_CHARS = 64


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]
) -> str:
    """The client's address as text, from the socket's `peer` and the values of every
    `X-Forwarded-For` header in order."""
    if peer is None:
        return UNKNOWN_CLIENT
    client = _normalised(peer)
    if not trusted or not _is_trusted(client, trusted):
        return peer if client is None else str(client)
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _normalised(hop)
        if address is None:
            return hop[:_MAX_HOP_CHARS]
        client = address
        if not _is_trusted(address, trusted):
            break
    return str(client)


def _is_trusted(address: Address | None, trusted: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in trusted)


def _normalised(text: str) -> Address | None:
    """The address in `text` (a bare address, `[v6]`, `v4:port` or `[v6]:port`), with an
    IPv4-mapped IPv6 address as plain IPv4; None when there is none."""
    host = text
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else ""
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
