"""Time sources for the simulated cluster.

All simulated time is integer nanoseconds since the epoch, so log timestamps, `sinceTime`
filtering and resume-from-timestamp are exact (no float rounding at 1M lines/s); the API
server's time formats are in `warroom.core.rfc3339`.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from warroom.core.rfc3339 import SECOND

__all__ = ["SECOND", "Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Where the simulated cluster reads the current time."""

    def now(self) -> int:
        """Nanoseconds since the epoch."""
        ...


class SystemClock:
    """Wall-clock time; the simulator's background ticker follows it."""

    def now(self) -> int:
        return time.time_ns()


class ManualClock:
    """A clock that only moves when told to, so tests advance the cluster deterministically."""

    def __init__(self, start: int | None = None) -> None:
        self._now = time.time_ns() if start is None else start
        self._lock = threading.Lock()

    def now(self) -> int:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> int:
        with self._lock:
            self._now += round(seconds * SECOND)
            return self._now
