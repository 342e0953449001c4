"""Capped exponential backoff with equal jitter, shared by sync and the cluster panes."""

from __future__ import annotations

import random
from itertools import islice

from warroom.core.backoff import Backoff


def test_delays_grow_to_the_cap_with_jitter_and_never_to_zero() -> None:
    delays = list(islice(Backoff(base=1, cap=8).delays(random.Random(7)), 12))
    ceilings = [1, 2, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len({round(d, 6) for d in delays[4:]}) == len(delays[4:])  # jittered, not lockstep


def test_delay_by_attempt_matches_the_sequence_and_survives_huge_attempts() -> None:
    backoff = Backoff(base=0.5, cap=30)
    assert list(islice(backoff.delays(random.Random(3)), 5)) == [
        backoff.delay(attempt, rng) for rng in [random.Random(3)] for attempt in range(1, 6)
    ]
    assert 15 <= backoff.delay(10_000) <= 30
    assert 0.25 <= backoff.delay(0) <= 0.5
