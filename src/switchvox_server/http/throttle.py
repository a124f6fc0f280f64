"""Slowing down clients that keep failing to authenticate."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Record:
    failures: int
    last: float


class FailureThrottle:
    """Counts failed logins per client address; past `free` failures within `window`
    seconds, each further failure is answered after a delay that doubles up to `ceiling`.

    The delay is awaited, not slept in a thread, so a guessing client slows only itself.
    """

    def __init__(
        self,
        *,
        free: int = 5,
        window: float = 300.0,
        first_delay: float = 0.25,
        ceiling: float = 8.0,
        capacity: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = free
        self._window = window
        self._first_delay = first_delay
        self._ceiling = ceiling
        self._capacity = capacity
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def failed(self, client: str) -> float:
        """Record a failure from `client`; returns how long to wait before answering."""
        now = self._clock()
        with self._lock:
            record = self._records.pop(client, None)
            if record is None or now - record.last > self._window:
                record = _Record(0, now)
            record.failures += 1
            record.last = now
            self._records[client] = record
            while len(self._records) > self._capacity:
                self._records.popitem(last=False)
            excess = record.failures - self._free
        if excess <= 0:
            return 0.0
        delay: float = self._first_delay * 2.0 ** (excess - 1)
        return min(delay, self._ceiling)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._records.pop(client, None)
