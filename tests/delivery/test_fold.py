"""The pure side of delivery: which channels carry an event, and the per-channel state that
result events fold into (order-independent, like the incident state)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.writes import declare, run
from warroom.core.commands import CommandError, PostUpdate, RecordFailed, RecordSent, make
from warroom.core.deliveries import Route, carries, fold, result_of, routes_for
from warroom.core.describe import summarize
from warroom.core.events import Event
from warroom.core.hlc import Stamp
from warroom.core.ids import new_id
from warroom.store import EventLog

AT = datetime(2026, 3, 20, 12, 4, 31, tzinfo=UTC)
TARGET = new_id()


def event(kind: str, payload: dict, ms: int = 1_800_000_000_000, n: int = 0) -> Event:
    return Event(new_id(), TARGET, "d", Stamp(ms, n).encode(), "delivery", kind, payload)


def sent(channel: str, attempt: int = 1, ms: int = 1_800_000_000_000, ref: str = "r") -> Event:
    payload = {"event": TARGET, "channel": channel, "ref": ref, "at": AT.isoformat()}
    payload["attempt"] = attempt
    return event("delivery_sent", payload, ms)


def failed(channel: str, attempt: int, retry: bool, reason: str = "HTTP 500", ms: int = 0) -> Event:
    payload = {"event": TARGET, "channel": channel, "reason": reason, "retry": retry}
    payload.update(at=AT.isoformat(), attempt=attempt)
    return event("delivery_failed", payload, ms or 1_800_000_000_000 + attempt)


@pytest.mark.parametrize(
    ("kind", "payload", "audiences", "on", "expected"),
    [
        ("update_posted", {"audience": "internal"}, {"internal"}, set(), True),
        ("update_posted", {"audience": "customers"}, {"internal"}, {"declared"}, False),
        ("declared", {}, set(), {"declared"}, True),
        ("declared", {}, {"internal"}, set(), False),
        ("severity_changed", {"severity": "SEV1"}, set(), {"severity"}, True),
        ("status_changed", {"status": "monitoring"}, set(), {"status"}, True),
        ("status_changed", {"status": "resolved"}, set(), {"status"}, False),
        ("status_changed", {"status": "resolved"}, set(), {"resolved"}, True),
        ("status_changed", {"status": "identified"}, set(), {"resolved"}, False),
        ("role_assigned", {"role": "ic"}, set(), {"roles"}, True),
        ("role_released", {"role": "ic"}, set(), {"roles"}, True),
        ("note", {"text": "x"}, {"internal"}, {"declared", "status"}, False),
        ("delivery_sent", {}, {"internal"}, {"declared"}, False),
    ],
)
def test_what_a_channel_carries(kind, payload, audiences, on, expected):
    assert carries(kind, payload, audiences, on) is expected


def test_routes_for_a_draft_update_in_config_order():
    routes = [
        Route("slack-ops", "slack", frozenset({"internal"}), frozenset({"declared"})),
        Route("status", "statuspage", frozenset({"status-page"}), frozenset()),
        Route("hook", "webhook", frozenset({"internal", "customers"}), frozenset()),
    ]
    draft = event("update_posted", {"audience": "internal", "body": "x"})
    assert [r.name for r in routes_for(draft, routes)] == ["slack-ops", "hook"]


def test_sent_beats_any_failure_and_the_latest_attempt_wins():
    results = fold(
        [failed("hook", 1, True), sent("hook", 2), failed("hook", 3, True, ms=1_900_000_000_000)]
    )
    assert results.of(TARGET)["hook"].state == "sent"
    assert results.of(TARGET)["hook"].attempt == 2
    retried = fold([failed("a", 1, True, "HTTP 500"), failed("a", 2, False, "HTTP 400: no")])
    assert retried.of(TARGET)["a"].state == "failed"
    assert retried.of(TARGET)["a"].reason == "HTTP 400: no"


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.permutations(list(range(6))))
def test_the_fold_is_order_independent(order):
    events = [
        failed("hook", 1, True, "a"),
        failed("hook", 2, True, "b"),
        sent("hook", 3),
        failed("slack", 1, True),
        failed("slack", 2, False, "HTTP 403"),
        sent("mail", 1, ref="<m@x>"),
    ]
    expected = fold(events).of(TARGET)
    assert fold([events[i] for i in order]).of(TARGET) == expected
    assert {k: v.state for k, v in expected.items()} == {
        "hook": "sent",
        "slack": "failed",
        "mail": "sent",
    }


def test_status_lists_pending_channels_and_ones_no_longer_configured():
    update = event("update_posted", {"audience": "internal", "body": "x"})
    update = update._replace(id=TARGET)
    routes = [
        Route("hook", "webhook", frozenset({"internal"}), frozenset()),
        Route("slack", "slack", frozenset({"internal"}), frozenset()),
        Route("mail", "email", frozenset({"customers"}), frozenset()),
    ]
    status = fold([sent("hook"), sent("gone")]).status(update, routes)
    assert [(r.channel, r.state) for r in status] == [
        ("hook", "sent"),
        ("slack", "pending"),
        ("gone", "sent"),
    ]


def test_malformed_results_from_a_peer_are_ignored():
    assert result_of(event("delivery_sent", {"channel": "x"})) is None
    assert (
        result_of(event("delivery_failed", {"event": TARGET, "channel": "x", "at": "nope"})) is None
    )
    assert result_of(event("note", {"text": "x"})) is None
    assert fold([event("delivery_sent", {"event": 5})]).event_ids() == []


def test_result_commands_are_strict():
    with pytest.raises(CommandError, match="reason"):
        make(RecordFailed, target=TARGET, channel="h", reason="  ", retry=True, at=AT, attempt=1)
    with pytest.raises(CommandError, match="target"):
        make(RecordSent, target="not-an-id", channel="hook", at=AT, attempt=1)
    with pytest.raises(CommandError, match="attempt"):
        make(RecordSent, target=TARGET, channel="hook", at=AT, attempt=0)


def test_results_are_written_through_the_command_layer_and_described(tmp_path):
    with EventLog(tmp_path / "w.db") as log:
        incident = declare(log)
        [update] = log.timeline.events(incident)[-1:]
        at = datetime.now(UTC)
        ok_ = RecordSent(
            target=update.id, channel="hook", channel_kind="webhook", ref="r-1", at=at, attempt=2
        )
        bad_ = RecordFailed(
            target=update.id,
            channel="slack",
            reason="HTTP 403",
            retry=False,
            at=at,
            attempt=1,
            next_at=at + timedelta(minutes=1),
        )
        [ok] = run(log, incident, ok_)
        [bad] = run(log, incident, bad_)
    assert bad.payload["next_at"] is None  # only a retry has a next attempt
    assert "sent to hook" in summarize(ok) and "after 2 attempts" in summarize(ok)
    assert summarize(bad).startswith("FAILED slack: HTTP 403")


def test_the_postmortem_says_when_each_update_was_drafted_and_reached_whom(tmp_path):
    from warroom.core.export import to_markdown
    from warroom.core.policy import DEFAULT_POLICY

    with EventLog(tmp_path / "pm.db") as log:
        incident = declare(log, "Checkout down", actor="alice")
        [update] = run(log, incident, PostUpdate(body="Investigating | 5xx\\nmore"), actor="bob")
        sent_at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        refused = RecordFailed(
            target=update.id,
            channel="slack",
            reason="HTTP 403: not_in_channel",
            retry=False,
            at=sent_at,
            attempt=1,
        )
        run(log, incident, RecordSent(target=update.id, channel="hook", at=sent_at, attempt=2))
        run(log, incident, refused)
        events = log.timeline.events(incident)
        md = to_markdown(log.state(incident), events, DEFAULT_POLICY, UTC)
    assert "### Updates and Delivery" in md
    row = next(
        line
        for line in md.splitlines()
        if line.startswith("| ") and "Investigating" in line and "hook at" in line
    )
    assert "| bob | internal | Investigating \\| 5xx\\\\nmore |" in row
    assert row.endswith(
        "| hook at 2030-01-02 03:04:05 (attempt 2);"
        " slack: **failed** (HTTP 403: not\\_in\\_channel) |"
    )
