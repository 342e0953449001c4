"""RFC 3339 times as Kubernetes writes them, to and from integer nanoseconds since the epoch.

The API server writes `metav1.Time` in whole seconds and the kubelet prefixes log lines with
Go's RFC3339Nano (nanoseconds, trailing zeros trimmed, so a stamp on a whole second has no
fraction at all). Nanoseconds are kept as integers, never floats: a log resumed from its last
timestamp must compare equal to the line it stopped at, at a million lines a second.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

SECOND = 1_000_000_000
_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


@lru_cache(maxsize=4096)
def parse_ns(text: str) -> int:
    """An RFC 3339 time to ns since the epoch; ValueError if it is not one (a zone is required).

    Digits past the ninth are dropped, as Go's parser does. Cached: a pod's times are parsed
    again on every event about it."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text[:60]!r}")
    day, clock, fraction, zone = match.groups()
    offset = "+00:00" if zone in ("Z", "z") else zone
    seconds = int(datetime.fromisoformat(f"{day}T{clock}{offset}").timestamp())  # whole: exact
    return seconds * SECOND + (int(fraction[:9].ljust(9, "0")) if fraction else 0)


def parse_datetime(text: str) -> datetime:
    """An RFC 3339 time as an aware datetime in UTC (microseconds: datetime keeps no more);
    ValueError if it is not one."""
    ns = parse_ns(text)
    seconds, rest = divmod(ns, SECOND)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000)


def format_seconds(ns: int) -> str:
    """A `metav1.Time` as the API server writes it (and reads `sinceTime`): whole seconds, UTC."""
    return datetime.fromtimestamp(ns // SECOND, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_heads: dict[int, str] = {}


def format_nano(ns: int) -> str:
    """Go's `time.RFC3339Nano`, as the kubelet prefixes log lines: trailing zeros trimmed."""
    seconds, fraction = divmod(ns, SECOND)
    head = _heads.get(seconds)
    if head is None:
        if len(_heads) > 4096:
            _heads.clear()
        head = _heads[seconds] = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if not fraction:
        return head + "Z"
    return f"{head}.{fraction:09d}".rstrip("0") + "Z"


def format_micro(ns: int) -> str:
    """A `metav1.MicroTime` (an event's `eventTime`): always six fraction digits, UTC."""
    seconds, fraction = divmod(ns, SECOND)
    whole = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{fraction // 1000:06d}Z"
