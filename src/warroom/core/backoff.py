"""How long to wait before trying again: capped exponential backoff with "equal jitter".

Half of each delay is fixed, so a retry never comes at once; the other half is random, so
clients that failed together (a restarted API server, a dropped VPN) do not retry in lockstep.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    base: float = 0.5
    """Seconds: the first delay is between base/2 and base."""
    cap: float = 30.0
    """Seconds: no delay is longer."""

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after the `attempt`-th failure in a row (1 for the first)."""
        ceiling = min(self.cap, self.base * 2.0 ** min(max(attempt, 1) - 1, 64))
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The waits after the first, second, ... failure in a row; start anew after a success."""
        attempt = 0
        while True:
            attempt += 1
            yield self.delay(attempt, rng)
