"""The signed webhook channel against a real receiver on 127.0.0.1: every request signed,
valid against the published schema, keyed by the event id; answers mapped to outcomes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.delivery.receiver import VALIDATOR, Answer, Receiver
from tests.writes import declare, run
from warroom.core.commands import AssignRole, PostUpdate
from warroom.core.events import Event
from warroom.delivery.channel import DeliveryError, Outgoing
from warroom.delivery.compose import outgoing
from warroom.delivery.config import build
from warroom.delivery.webhook import WebhookChannel, redact_url, retry_after, sign, verify
from warroom.store import EventLog

SECRET = "whsec-do-not-print"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    yield r
    r.close()


@pytest.fixture
def update(tmp_path) -> tuple[EventLog, Event]:
    log = EventLog(tmp_path / "w.db")
    incident = declare(log, "Checkout \x1b[31mdown\x1b[0m", "SEV1")
    run(log, incident, AssignRole(role="ic", person="alice"))
    [event] = run(
        log, incident, PostUpdate(body="Investigating\n\u202eelevated 5xx", audience="stakeholders")
    )
    return log, event


def channel(receiver: Receiver, **options) -> WebhookChannel:
    table = {"kind": "webhook", "url": receiver.url, "secret": SECRET, **options}
    made = build("ops-hook", table)
    assert isinstance(made, WebhookChannel)
    return made


def out_of(log: EventLog, event: Event) -> Outgoing:
    return outgoing("ops-hook", event, log.state(event.incident_id))


def test_a_delivery_is_signed_keyed_and_valid(receiver, update):
    log, event = update
    delivered = channel(receiver).send(out_of(log, event))
    [hit] = receiver.hits
    assert hit.signed and hit.schema_errors == ()
    assert hit.key == event.id == hit.body["id"] == delivered.event_id
    assert delivered.ref == f"r-{event.id}"
    body = hit.body
    assert body["type"] == "update_posted"
    assert body["incident"]["severity"] == "SEV1" and body["incident"]["commander"] == "alice"
    assert body["message"] == {
        "text": "Investigating\n⟨U+202E⟩elevated 5xx",
        "audience": "stakeholders",
        "template": "",
    }
    assert body["incident"]["title"] == "Checkout \x1b[31mdown\x1b[0m"  # data, as recorded


def test_a_repeat_carries_the_same_key_and_the_receiver_dedupes_it(receiver, update):
    log, event = update
    hook = channel(receiver)
    hook.send(out_of(log, event))
    again = hook.send(out_of(log, event))
    assert [h.key for h in receiver.hits] == [event.id, event.id]
    assert receiver.accepted_keys() == [event.id]
    assert again.ref == f"dup-{event.id}"
    assert hook.find(out_of(log, event)) is None  # the receiver can't be asked; the key is safe


def test_the_dry_run_is_the_request_that_is_sent(receiver, update):
    log, event = update
    hook = channel(receiver)
    [request] = hook.requests(out_of(log, event))
    hook.send(out_of(log, event))
    assert request.method == "POST" and request.url == receiver.url
    assert json.loads(request.body) == receiver.hits[0].body
    assert request.headers["Idempotency-Key"] == event.id
    assert request.headers["Warroom-Signature"].endswith(",v1=[redacted]")
    assert SECRET not in repr(request)


@pytest.mark.parametrize(
    ("answer", "retry", "after", "reason"),
    [
        (Answer(429, retry_after="7"), True, 7.0, "HTTP 429 from 127.0.0.1"),
        (Answer(500, body={"detail": "db down"}), True, None, "HTTP 500 from 127.0.0.1"),
        (Answer(503), True, None, "HTTP 503"),
        (Answer(400, body={"detail": "unknown incident"}), False, None, "unknown incident"),
        (Answer(404), False, None, "HTTP 404"),
        (Answer(410), False, None, "HTTP 410"),
    ],
)
def test_answers_become_outcomes(receiver, update, answer, retry, after, reason):
    log, event = update
    receiver.answer(answer)
    with pytest.raises(DeliveryError) as caught:
        channel(receiver).send(out_of(log, event))
    assert caught.value.retry is retry
    assert caught.value.after == after
    assert reason in caught.value.reason
    assert SECRET not in caught.value.reason and "/hook" not in caught.value.reason


def test_a_hanging_receiver_times_out_and_is_retried(receiver, update):
    log, event = update
    receiver.answer(Answer(hang=True))
    with pytest.raises(DeliveryError) as caught:
        channel(receiver, timeout=0.3).send(out_of(log, event))
    assert caught.value.retry and "did not answer within 0.3 s" in caught.value.reason


def test_a_receiver_that_is_down_is_retried(receiver, update):
    log, event = update
    receiver.stop()
    with pytest.raises(DeliveryError) as caught:
        channel(receiver).send(out_of(log, event))
    assert caught.value.retry
    assert caught.value.reason == f"cannot reach 127.0.0.1:{receiver.port} (ConnectError)"


def test_lifecycle_events_and_test_messages_match_the_schema(receiver, update):
    log, event = update
    hook = channel(receiver)
    for lifecycle in log.timeline.events(event.incident_id)[:2]:  # declared, role_assigned
        hook.send(out_of(log, lifecycle))
    delivered = hook.test()
    assert [h.body["type"] for h in receiver.hits] == ["declared", "role_assigned", "test"]
    assert all(h.signed and h.schema_errors == () for h in receiver.hits)
    assert receiver.hits[0].body["message"]["text"] == "SEV1 declared: Checkout down"
    assert receiver.hits[2].key == delivered.event_id and receiver.hits[2].body["incident"] is None


def test_the_schema_refuses_what_it_should():
    """The schema is a contract, not a formality: it rejects drift."""
    good = {
        "schema": "warroom.webhook.v1",
        "id": "01JABCDEFGHJKMNPQRSTVWXYZ0",
        "type": "test",
        "channel": "c",
        "incident": None,
        "event": None,
        "message": {"text": "t", "audience": None, "template": None},
    }
    assert not list(VALIDATOR.iter_errors(good))
    for broken in (
        {**good, "extra": 1},
        {**good, "id": "not-a-ulid"},
        {**good, "type": "update_posted"},  # an update needs its incident and event
        {**good, "message": {"text": "t", "audience": "everyone", "template": None}},
    ):
        assert list(VALIDATOR.iter_errors(broken))


def test_verify_accepts_only_the_secret_s_recent_signature_over_these_bytes():
    body = b'{"id":"x"}'
    now = time.time()
    header = sign(SECRET, int(now), body)
    assert verify(SECRET, header, body, now)
    assert not verify("other", header, body, now)
    assert not verify(SECRET, header, body + b" ", now)
    assert not verify(SECRET, header, body, now + 301)  # a replay, later
    assert not verify(SECRET, "t=abc,v1=00", body, now)
    assert not verify(SECRET, "", body, now)


def test_retry_after_in_seconds_or_as_a_date():
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    assert retry_after("120", now.timestamp()) == 120.0
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after(later, now.timestamp()) == 30.0
    assert retry_after("soon", now.timestamp()) is None
    assert retry_after("٣", now.timestamp()) is None  # ASCII digits only


def test_a_dry_run_hides_what_a_url_may_carry():
    assert redact_url("https://u:pw@h.example/x?token=abc&x=1#f") == (
        "https://u:[redacted]@h.example/x?token=[redacted]&x=[redacted]"
    )
    assert redact_url("https://h.example/hook") == "https://h.example/hook"


def test_the_composer_s_preview_of_a_draft_update(receiver, update):
    """Which channels would receive an update not posted yet, and exactly what."""
    from warroom.delivery.compose import draft_update, preview

    log, event = update
    state = log.state(event.incident_id)
    internal_only = channel(receiver, audiences=["internal"])
    everyone = channel(receiver)
    draft = draft_update(state, "Rolled back", audience="customers", now=datetime.now(UTC))
    [shown] = preview([internal_only, everyone], draft, state)
    assert shown.channel == "ops-hook" and not shown.error
    [request] = shown.requests
    body = json.loads(request.body)
    assert body["message"]["text"] == "Rolled back" and body["message"]["audience"] == "customers"
    assert not list(VALIDATOR.iter_errors(body))
    assert receiver.hits == []  # nothing was sent
