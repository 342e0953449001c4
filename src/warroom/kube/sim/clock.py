"""Time sources for the simulated cluster and the time formats the API server uses.

All simulated time is integer nanoseconds since the epoch, so log timestamps, `sinceTime`
filtering and resume-from-timestamp are exact (no float rounding at 1M lines/s).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol

SECOND = 1_000_000_000


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


def rfc3339(ns: int) -> str:
    """A `metav1.Time` as the API server serialises it: whole seconds, UTC."""
    return datetime.fromtimestamp(ns // SECOND, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_seconds_cache: dict[int, str] = {}


def rfc3339nano(ns: int) -> str:
    """Go's `time.RFC3339Nano`, as the kubelet prefixes log lines: trailing zeros trimmed."""
    seconds, frac = divmod(ns, SECOND)
    head = _seconds_cache.get(seconds)
    if head is None:
        if len(_seconds_cache) > 4096:
            _seconds_cache.clear()
        head = _seconds_cache[seconds] = datetime.fromtimestamp(seconds, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S"
        )
    if not frac:
        return head + "Z"
    return f"{head}.{frac:09d}".rstrip("0") + "Z"


def parse_rfc3339(text: str) -> int:
    """Parse an RFC 3339 time (fractional seconds allowed) to nanoseconds; ValueError if bad."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    frac_ns = 0
    if "." in text:
        head, rest = text.split(".", 1)
        digits = rest
        for i, char in enumerate(rest):
            if not char.isdigit():
                digits, tz = rest[:i], rest[i:]
                break
        else:
            tz = ""
        if not digits:
            raise ValueError(f"bad fractional seconds in {text!r}")
        frac_ns = int(digits[:9].ljust(9, "0"))
        text = head + tz
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"time {text!r} has no zone")
    return int(parsed.timestamp()) * SECOND + frac_ns
