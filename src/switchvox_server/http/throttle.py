"""Slowing down failed logins, counted per client address and per account name.

The rules (docs/configuration.md, "Failed logins"):

- Every failed login counts for its client address and, when it named a possible account, for
  that account name. A count is forgotten after `window` seconds without a failure.
- Past `free` failures, each further failure is answered after a delay that doubles from
  `first_delay` up to `ceiling`. The delay of a failure is the larger of its address's and its
  account's; a sequential client, which waits for each answer, has every attempt checked.
- While an address serves its delay it is held back: attempts it makes in parallel meanwhile
  are refused without being checked, so more connections buy no more guesses.
- An account's count never holds anyone back (that would let anyone lock its owner out); it
  only delays the answers to its failures, so a guess at the account from many addresses costs
  each of them the delay.
- A success clears the counts of the account that succeeded: its own count and the failures
  each address made against it. Never another account's, so a user's own login does not reset
  the count of an attack on the admin from the same address.

State is per process, kept in memory, and bounded: at most `capacity` addresses and
`capacity` account names (the least recently failing are forgotten first), and per address at
most `names_per_address` names counted apart; further names count in one bucket that no
success clears. The throttle is used from the event loop only, so it needs no lock.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

# 2 ** 32 times any first delay is past any ceiling; bounding the exponent keeps a long run
# of failures from overflowing the float.
_MAX_DOUBLINGS = 32


@dataclass(slots=True)
class _AddressRecord:
    last: float
    held_until: float = 0.0
    by_account: dict[str, int] = field(default_factory=dict)
    unnamed: int = 0

    @property
    def failures(self) -> int:
        return self.unnamed + sum(self.by_account.values())


@dataclass(slots=True)
class _AccountRecord:
    last: float
    failures: int = 0


class FailureThrottle:
    """Counts failed logins and says how long each answer waits (see the module's rules)."""

    def __init__(
        self,
        *,
        free: int = 5,
        window: float = 300.0,
        first_delay: float = 0.25,
        ceiling: float = 30.0,
        capacity: int = 10_000,
        names_per_address: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = free
        self._window = window
        self._first_delay = first_delay
        self._ceiling = ceiling
        self._capacity = capacity
        self._names_per_address = names_per_address
        self._clock = clock
        self._addresses: OrderedDict[str, _AddressRecord] = OrderedDict()
        self._accounts: OrderedDict[str, _AccountRecord] = OrderedDict()

    def held_back(self, client: str) -> float:
        """Seconds for which `client` is still held back: an attempt now is refused unchecked
        (after waiting that long). 0.0 when it may try."""
        record = self._addresses.get(client)
        if record is None:
            return 0.0
        return max(0.0, record.held_until - self._clock())

    def failed(self, client: str, account: str | None) -> float:
        """Count a failed login from `client` for `account` (None when the attempt named no
        possible account); returns how long to wait before answering it."""
        now = self._clock()
        address = _fresh(self._addresses, client, now, self._window, _AddressRecord)
        if account is not None and (
            account in address.by_account or len(address.by_account) < self._names_per_address
        ):
            address.by_account[account] = address.by_account.get(account, 0) + 1
        else:
            address.unnamed += 1
        address.last = now
        delay = self._delay(address.failures)
        address.held_until = now + delay
        _bound(self._addresses, self._capacity)
        if account is None:
            return delay
        named = _fresh(self._accounts, account, now, self._window, _AccountRecord)
        named.failures += 1
        named.last = now
        _bound(self._accounts, self._capacity)
        return max(delay, self._delay(named.failures))

    def succeeded(self, client: str, account: str) -> None:
        """Clear the counts of `account`: its own, and what `client` failed against it."""
        self._accounts.pop(account, None)
        address = self._addresses.get(client)
        if address is None:
            return
        address.by_account.pop(account, None)
        if address.failures == 0:
            del self._addresses[client]

    def _delay(self, failures: int) -> float:
        excess = failures - self._free
        if excess <= 0:
            return 0.0
        delay: float = self._first_delay * 2.0 ** min(excess - 1, _MAX_DOUBLINGS)
        return min(delay, self._ceiling)


_Record = TypeVar("_Record", _AddressRecord, _AccountRecord)


def _fresh(
    records: OrderedDict[str, _Record],
    key: str,
    now: float,
    window: float,
    make: Callable[[float], _Record],
) -> _Record:
    """The record of `key`, new if it had none or its last failure is older than `window`;
    moved to the most recently used end."""
    record = records.pop(key, None)
    if record is None or now - record.last > window:
        record = make(now)
    records[key] = record
    return record


def _bound(records: OrderedDict[str, _Record], capacity: int) -> None:
    while len(records) > capacity:
        records.popitem(last=False)
