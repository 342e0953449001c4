"""The Syncer's pieces that need no server: backoff and the status the header shows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from itertools import islice

from warroom.core.backoff import Backoff
from warroom.core.events import Event
from warroom.core.ids import new_id
from warroom.sync.client import BATCH_BYTES, batches
from warroom.sync.engine import SyncStatus
from warroom.sync.protocol import MAX_BATCH


def test_backoff_grows_to_its_cap_with_jitter_and_never_to_zero():
    delays = list(islice(Backoff(base=1, cap=8).delays(random.Random(7)), 12))
    ceilings = [1, 2, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len({round(d, 6) for d in delays[4:]}) == len(delays[4:])  # jittered, not lockstep


def test_status_labels_are_what_the_header_shows():
    since = datetime(2026, 3, 1, 14, 5, tzinfo=UTC)
    offline = SyncStatus(state="offline", pending=3, since=since, reason="cannot reach x")
    assert offline.label(UTC) == "offline since 14:05 (cannot reach x)"
    assert offline.label(timezone(timedelta(hours=2))) == "offline since 16:05 (cannot reach x)"
    assert SyncStatus(state="pending", pending=3, caught_up=True).label() == "3 pending"
    assert SyncStatus(state="synced", caught_up=True).label() == "synced"
    assert SyncStatus(state="pending", reason="").label() == "syncing"


def test_push_batches_hold_at_most_max_batch_events_and_about_a_megabyte():
    def note(text: str) -> Event:
        return Event(new_id(), "I", "d", "1790000000000-000000", "a", "note", {"text": text})

    small = list(batches([note("x")] * (MAX_BATCH * 2 + 1)))
    assert [body.count(b'"kind"') for body in small] == [MAX_BATCH, MAX_BATCH, 1]
    big = list(batches([note("y" * 20_000)] * 200))
    assert all(len(body) <= BATCH_BYTES for body in big) and len(big) == 4
