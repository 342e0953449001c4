"""Hybrid logical clock.

A stamp is wall-clock milliseconds plus a counter, so it stays close to real time yet never
goes backwards, even when the wall clock does or when a peer's clock runs ahead. Stamps are
encoded as fixed-width text so that SQL `ORDER BY hlc` is causal order.

Only ASCII digits make a stamp: `\\d` and int() also take Arabic-Indic, fullwidth and other
Unicode digits, and a stamp written in them sorts after every real one, so it would win every
last-writer-wins field on every replica. HLC_RE is also a pydantic pattern (Rust regex, where
`$` ends the text); Python code matches it with `fullmatch`, since there `$` also matches
before a final newline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

HLC_RE = re.compile(r"^([0-9]{13})-([0-9]{6})$")
MAX_COUNTER = 999_999


@dataclass(frozen=True, order=True, slots=True)
class Stamp:
    wall_ms: int
    counter: int = 0

    def encode(self) -> str:
        return f"{self.wall_ms:013d}-{self.counter:06d}"

    @classmethod
    def parse(cls, text: str) -> Stamp:
        match = HLC_RE.fullmatch(text)
        if not match:
            raise ValueError(f"not a hybrid-logical-clock stamp: {text!r}")
        return cls(int(match[1]), int(match[2]))

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.wall_ms / 1000, UTC)


def wall_ms_now() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def stamp_time(hlc: str) -> datetime:
    """The wall-clock moment an encoded stamp was made."""
    return datetime.fromtimestamp(int(hlc[:13]) / 1000, UTC)


class HybridClock:
    """Issues strictly increasing stamps; `observe` folds in stamps seen elsewhere."""

    def __init__(self, now_ms: Callable[[], int] = wall_ms_now, last: Stamp | None = None):
        self._now_ms = now_ms
        self._last = last or Stamp(0, 0)

    @property
    def last(self) -> Stamp:
        return self._last

    def tick(self) -> Stamp:
        wall = max(self._now_ms(), self._last.wall_ms)
        if wall == self._last.wall_ms:
            counter = self._last.counter + 1
            if counter > MAX_COUNTER:
                wall, counter = wall + 1, 0
        else:
            counter = 0
        self._last = Stamp(wall, counter)
        return self._last

    def observe(self, remote: Stamp) -> None:
        """Never issue a stamp at or before one already seen."""
        if remote > self._last:
            self._last = remote
