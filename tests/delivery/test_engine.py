"""The delivery engine on the local event log (real SQLite) against a real webhook receiver.

Time: the engine's clock is shifted instead of sleeping through backoffs, and pacing is
checked on the times the queue was asked at (the queue decides on those), never on how
long something took.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import pytest

from tests.delivery.fake_kind import Scripted
from tests.delivery.receiver import Answer, Receiver
from tests.waiting import wait_until
from tests.writes import declare, foreign, run
from warroom.core.backoff import Backoff
from warroom.core.commands import ChangeStatus, PostUpdate
from warroom.core.deliveries import RESULT_KINDS, fold
from warroom.core.events import Event
from warroom.delivery.channel import Channel, DeliveryError
from warroom.delivery.config import build
from warroom.delivery.engine import Engine, Timing
from warroom.delivery.queue import LocalQueue
from warroom.store import EventLog
from warroom.store.deliveries import STALE, Claim

SECRET = "engine-test-secret"
FAST = Timing(lease=2.0, poll=0.05, backoff=Backoff(base=0.05, cap=0.2))
PATIENT = Timing(lease=2.0, poll=0.05, backoff=Backoff(base=4.0, cap=8.0))
"""For tests that shift the clock past a retry instead of letting `once` reach it."""


class Recording(LocalQueue):
    """The local queue, remembering when each claim was granted (the engine's `now`)."""

    def __init__(self, log: EventLog) -> None:
        super().__init__(log, "delivery", poll=0.02)
        self.granted: list[tuple[str, int]] = []

    async def claim(self, channel: str, owner: str, now: int, lease: int, pace: int) -> Any:
        got = await super().claim(channel, owner, now, lease, pace)
        if isinstance(got, Claim):
            self.granted.append((got.event.id, now))
        return got


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    yield r
    r.close()


@pytest.fixture
def log(tmp_path) -> Iterator[EventLog]:
    with EventLog(tmp_path / "engine.db") as opened:
        yield opened


def hook(receiver: Receiver, **options: Any) -> Channel:
    table = {"kind": "webhook", "url": receiver.url, "secret": SECRET, "timeout": 2, **options}
    table.setdefault("audiences", ["internal"])
    table.setdefault("on", ["declared", "resolved"])
    return build("hook", table)


def engine(
    log: EventLog, *channels: Channel, shift: float = 0.0, timing: Timing = PATIENT, **kw: Any
) -> Engine:
    queue = kw.pop("queue", None) or Recording(log)
    return Engine(queue, list(channels), timing=timing, clock=lambda: time.time() + shift, **kw)


def updates(log: EventLog, incident: str, n: int, audience: str = "internal") -> list[Event]:
    return [
        run(log, incident, PostUpdate(body=f"update {i}", audience=audience))[0] for i in range(n)
    ]


def results(log: EventLog, incident: str) -> list[Event]:
    return [e for e in log.timeline.events(incident) if e.kind in RESULT_KINDS]


def carried(log: EventLog, incident: str) -> list[str]:
    """The ids of an incident's events the test hook carries, in order."""
    events = log.timeline.events(incident)
    return [
        e.id
        for e in events
        if (e.kind == "update_posted" and e.payload["audience"] == "internal")
        or e.kind == "declared"
        or (e.kind == "status_changed" and e.payload["status"] == "resolved")
    ]


def test_every_carried_event_is_delivered_once_in_order_and_recorded(log, receiver):
    incident = declare(log, "Checkout down", commander="alice")
    updates(log, incident, 5)
    updates(log, incident, 1, audience="customers")  # not this channel's audience
    run(log, incident, ChangeStatus(status="resolved"))
    expected = carried(log, incident)
    assert len(expected) == 7

    the_engine = engine(log, hook(receiver))
    counts = asyncio.run(the_engine.once())
    assert receiver.accepted_keys() == expected
    assert all(hit.signed and not hit.schema_errors for hit in receiver.hits)
    assert the_engine.undelivered(counts) == 0 and counts == {("hook", "sent"): 7}
    sent = results(log, incident)
    assert [e.payload["event"] for e in sent] == expected
    assert {e.kind for e in sent} == {"delivery_sent"}
    assert sent[0].payload["ref"] == f"r-{expected[0]}" and sent[0].payload["attempt"] == 1
    assert all(r.state == "sent" for e in expected for r in fold(sent).of(e).values())

    asyncio.run(engine(log, hook(receiver)).once())  # nothing is due twice
    assert len(receiver.hits) == 7


def test_a_retryable_failure_holds_back_its_incident_but_not_others(log, receiver):
    first = declare(log, "first")
    updates(log, first, 2)
    second = declare(log, "second")
    updates(log, second, 2)
    receiver.answer(Answer(500, body={"detail": "db down"}))  # the first request: first's declared

    counts = asyncio.run(engine(log, hook(receiver)).once())
    assert receiver.accepted_keys() == carried(log, second)
    assert counts[("hook", "retrying")] == 1 and counts[("hook", "pending")] == 2
    [failed] = results(log, first)
    assert failed.kind == "delivery_failed" and failed.payload["retry"] is True
    assert failed.payload["reason"] == f"HTTP 500 from 127.0.0.1:{receiver.port}: db down"

    asyncio.run(engine(log, hook(receiver), shift=5).once())  # after the backoff
    assert receiver.accepted_keys() == carried(log, second) + carried(log, first)
    assert results(log, first)[-1].payload["attempt"] == 1  # the first's updates went first time
    [declared] = [e for e in results(log, first) if e.payload["event"] == carried(log, first)[0]][
        1:
    ]
    assert declared.kind == "delivery_sent" and declared.payload["attempt"] == 2


def test_a_refused_delivery_fails_for_good_until_retried(log, receiver):
    incident = declare(log)
    [update, later] = updates(log, incident, 2)
    receiver.answer(Answer(), Answer(400, body={"detail": "unknown audience"}))  # the update: 400

    the_engine = engine(log, hook(receiver))
    counts = asyncio.run(the_engine.once())
    assert the_engine.undelivered(counts) == 1 and counts[("hook", "failed")] == 1
    assert receiver.accepted_keys() == [carried(log, incident)[0], later.id]  # not held back
    failure = [e for e in results(log, incident) if e.kind == "delivery_failed"]
    assert [(e.payload["event"], e.payload["retry"]) for e in failure] == [(update.id, False)]
    assert "unknown audience" in failure[0].payload["reason"]

    asyncio.run(engine(log, hook(receiver), shift=3600).once())
    assert len(receiver.hits) == 3  # a refusal is not retried by itself

    [row] = log.deliveries.rows(states=("failed",))
    assert log.deliveries.retry(row.id, int(time.time() * 1000)) is not None
    counts = asyncio.run(the_engine.once())
    assert the_engine.undelivered(counts) == 0
    assert receiver.accepted_keys()[-1] == update.id


def test_a_repeated_failure_is_recorded_once_and_the_retry_keeps_its_key(log, receiver):
    incident = declare(log)
    receiver.answer(Answer(503), Answer(503), Answer(503))
    for shift in (0, 10, 20, 30):
        asyncio.run(engine(log, hook(receiver), shift=shift).once())
    [declared] = carried(log, incident)
    assert [h.key for h in receiver.hits] == [declared] * 4
    assert receiver.accepted_keys() == [declared]
    assert [(e.kind, e.payload["attempt"]) for e in results(log, incident)] == [
        ("delivery_failed", 1),
        ("delivery_sent", 4),
    ]


def test_429_honours_retry_after_and_pauses_the_channel(log, receiver):
    first, second = declare(log, "a"), declare(log, "b")
    receiver.answer(Answer(429, retry_after="30"))
    before = int(time.time() * 1000)
    asyncio.run(engine(log, hook(receiver)).once())
    assert len(receiver.hits) == 1  # the pause covers the whole channel, not one delivery
    [row] = log.deliveries.rows(states=("retrying",))
    assert row.next_at >= before + 30_000
    assert results(log, first)[0].payload["reason"].startswith("HTTP 429")

    asyncio.run(engine(log, hook(receiver), shift=20).once())
    assert len(receiver.hits) == 1
    asyncio.run(engine(log, hook(receiver), shift=31).once())
    assert receiver.accepted_keys() == carried(log, first) + carried(log, second)


def test_the_channel_s_pace_spaces_its_requests(log, receiver):
    incident = declare(log)
    updates(log, incident, 4)
    queue = Recording(log)
    asyncio.run(engine(log, hook(receiver, pace=0.2), queue=queue).once())
    assert len(receiver.accepted_keys()) == 5
    times = [now for _, now in queue.granted]
    assert all(b - a >= 200 for a, b in itertools.pairwise(times))


async def test_a_429_storm_is_paced_and_drained_in_order(log, receiver):
    incidents = [declare(log, f"incident {i}") for i in range(3)]
    for incident in incidents:
        updates(log, incident, 3)
    receiver.answer(*[Answer(429, retry_after="1")] * 3)
    queue = Recording(log)
    task = asyncio.create_task(
        engine(log, hook(receiver, pace=0.05), queue=queue, timing=FAST).run()
    )
    try:
        await asyncio.to_thread(receiver.wait, lambda r: len(r.accepted) == 12, 30)
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    keys = receiver.accepted_keys()
    for incident in incidents:
        expected = carried(log, incident)
        assert [k for k in keys if k in expected] == expected
    throttled = [i for i, hit in enumerate(receiver.hits) if hit.status == 429]
    assert len(throttled) == 3
    for i in throttled:  # the next claim came a Retry-After later
        asked = [now for _, now in queue.granted]
        assert asked[i + 1] - asked[i] >= 1000


def test_only_events_recorded_here_are_delivered(log, receiver):
    incident = declare(log)
    log.insert([foreign(incident, "update_posted", {"audience": "internal", "body": "theirs"})])
    asyncio.run(engine(log, hook(receiver)).once())
    assert receiver.accepted_keys() == carried(log, incident)[:1]  # the declaration only


def test_an_event_too_old_to_be_news_is_not_sent_unless_asked(log, receiver):
    incident = declare(log)
    the_engine = engine(log, hook(receiver), shift=2 * 86400)
    counts = asyncio.run(the_engine.once())
    assert counts == {("hook", "failed"): 1} and receiver.hits == []
    [row] = log.deliveries.rows()
    assert row.reason == STALE and results(log, incident) == []
    log.deliveries.retry(row.id, int(time.time() * 1000) + 2 * 86400_000)
    asyncio.run(the_engine.once())
    assert receiver.accepted_keys() == carried(log, incident)


def test_the_dry_run_sends_and_changes_nothing(log, receiver):
    incident = declare(log)
    updates(log, incident, 2)
    receiver.answer(Answer(500))
    asyncio.run(engine(log, hook(receiver)).once())  # the declaration is now retrying
    updates(log, incident, 1)  # and this one is not even queued yet
    rows, cursor = log.deliveries.rows(), log.db.get_meta("delivery.cursor")

    previews = asyncio.run(engine(log, hook(receiver)).dry_run())
    assert [p.event.id for p in previews] == carried(log, incident)
    assert len(receiver.hits) == 1
    assert log.deliveries.rows() == rows and log.db.get_meta("delivery.cursor") == cursor

    asyncio.run(engine(log, hook(receiver), shift=5).once())
    sent = {hit.key: hit.body for hit in receiver.hits if hit.status == 200}
    assert {p.event.id: json.loads(p.requests[0].body) for p in previews} == sent


def test_an_attempt_of_unknown_outcome_is_checked_before_sending_again(log):
    incident = declare(log)
    remote = Scripted("fake")
    queue = LocalQueue(log, "delivery")
    the_engine = engine(log, remote, queue=queue)
    log.deliveries.scan(the_engine.route, int(time.time() * 1000), 0)

    # A deliverer claims it, its request reaches the remote, and it dies before recording.
    now = int(time.time() * 1000)
    claim = log.deliveries.claim("fake", "dead-owner", now, 1000, 0)
    assert isinstance(claim, Claim) and claim.started
    from warroom.delivery.compose import outgoing

    remote.send(outgoing("fake", claim.event, log.state(incident)))

    asyncio.run(engine(log, remote, shift=1).once())  # the lease has run out
    assert remote.sends == [claim.event.id] and remote.finds == [claim.event.id]
    [sent] = results(log, incident)
    assert (sent.payload["ref"], sent.payload["attempt"]) == ("found", 1)


def test_a_check_that_fails_is_retried_never_a_blind_resend(log):
    incident = declare(log)
    remote = Scripted("fake")
    the_engine = engine(log, remote)
    log.deliveries.scan(the_engine.route, int(time.time() * 1000), 0)
    assert isinstance(log.deliveries.claim("fake", "dead", int(time.time() * 1000), 1000, 0), Claim)
    remote.find_error = DeliveryError("missing_scope", retry=False)

    counts = asyncio.run(engine(log, remote, shift=1).once())
    assert counts == {("fake", "retrying"): 1} and remote.sends == []
    [failed] = results(log, incident)
    assert failed.payload["reason"] == "cannot tell whether attempt 1 arrived: missing_scope"
    assert failed.payload["retry"] is True

    [row] = log.deliveries.rows()
    log.deliveries.retry(row.id, int(time.time() * 1000), resend=True)
    asyncio.run(engine(log, remote, shift=1).once())
    assert remote.sends == [carried(log, incident)[0]]


def test_a_holder_that_lost_its_lease_records_nothing(log):
    incident = declare(log)
    remote = Scripted("fake")
    log.deliveries.scan(engine(log, remote).route, int(time.time() * 1000), 0)
    now = int(time.time() * 1000)
    slow = log.deliveries.claim("fake", "slow", now, 1000, 0)
    assert isinstance(slow, Claim)
    assert not isinstance(log.deliveries.claim("fake", "other", now + 500, 1000, 0), Claim)
    taken = log.deliveries.claim("fake", "other", now + 1001, 1000, 0)
    assert isinstance(taken, Claim) and taken.unknown  # and it will check first

    from warroom.core.commands import RecordSent
    from warroom.store.deliveries import Finish

    command = RecordSent(target=slow.event.id, channel="fake", at="2026-03-20T12:00:00Z", attempt=1)
    assert not log.deliveries.finish(slow, "slow", Finish("sent", now + 1500), [command], "d")
    assert results(log, incident) == []
    assert log.deliveries.rows()[0].lease_owner == "other"


async def test_watching_delivers_new_updates_and_drains_after_an_outage(log, receiver):
    incident = declare(log)
    the_engine = engine(log, hook(receiver), timing=FAST)
    task = asyncio.create_task(the_engine.run())
    try:
        await asyncio.to_thread(receiver.wait, lambda r: len(r.accepted) == 1)
        receiver.stop()
        updates(log, incident, 3)
        the_engine.poke()
        await asyncio.to_thread(
            wait_until, lambda: log.deliveries.rows(states=("retrying",)), "a failed attempt"
        )
        receiver.start()
        await asyncio.to_thread(receiver.wait, lambda r: len(r.accepted) == 4)
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    assert receiver.accepted_keys() == carried(log, incident)
    assert [e.kind for e in results(log, incident)].count("delivery_failed") == 1


def test_an_incident_s_results_are_read_from_the_log(log, receiver):
    incident = declare(log)
    [update] = updates(log, incident, 1)
    receiver.answer(Answer(), Answer(400, body={"detail": "no"}))
    asyncio.run(engine(log, hook(receiver)).once())
    found = log.deliveries.results(incident)
    assert found.of(update.id)["hook"].state == "failed"
    assert found.of(carried(log, incident)[0])["hook"].ref.startswith("r-")
