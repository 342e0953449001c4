"""The alert board: the inbox and each incident's alerts, folded order-free from alert events
of every incident; matching new alerts to open incidents; declaring from an alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.factory import T0, at
from warroom.core import clock
from warroom.core.alerts import INBOX, AlertBoard, alert_key, board_of, fingerprint_of
from warroom.core.commands import (
    AttachAlert,
    CommandError,
    Context,
    Declare,
    ReceiveAlert,
    SetMilestone,
    SilenceAlert,
    declare_from_alert,
    make,
    materialise,
)
from warroom.core.describe import summarize
from warroom.core.events import Event
from warroom.core.hlc import Stamp
from warroom.core.ids import new_id
from warroom.core.policy import DEFAULT_POLICY, AlertRules
from warroom.core.state import IncidentState

START = at(0)
INCIDENT = "01JZ0000000000000000000001"
OTHER = "01JZ0000000000000000000002"


def event(
    minute: float, incident: str, kind: str, payload: dict[str, Any], actor: str = "am"
) -> Event:
    stamp = Stamp(int(T0 + minute * 60_000), 0).encode()
    return Event(new_id(), incident, "dev", stamp, actor, kind, payload)


def received(minute: float, fingerprint: str, incident: str = INBOX, **fields: Any) -> Event:
    payload = {
        "name": fields.pop("name", f"Alert{fingerprint}"),
        "fingerprint": fingerprint,
        "fired_at": fields.pop("fired_at", START.isoformat()),
        "received_at": at(minute).isoformat(),
        **fields,
    }
    return event(minute, incident, "alert_received", payload)


def ref(fingerprint: str, starts: datetime = START, name: str = "A") -> dict[str, Any]:
    return {"fingerprint": fingerprint, "starts_at": starts.isoformat(), "name": name}


def declared(minute: float, incident: str, components: list[str], **more: Any) -> Event:
    payload = {"title": "t", "severity": "SEV2", "components": components, **more}
    return event(minute, incident, "declared", payload, actor="alice")


# -- the fold ---------------------------------------------------------------------------------


def test_an_alert_waits_in_the_inbox_until_attached_and_then_belongs_to_the_incident():
    board = board_of(
        [
            received(1, "aaa1", summary="5xx up", service="checkout", severity="critical"),
            declared(2, INCIDENT, ["checkout"]),
        ]
    )
    (alert,) = board.inbox()
    assert alert.in_inbox and alert.firing and alert.state == "firing"
    assert (alert.summary, alert.service, alert.severity) == ("5xx up", "checkout", "critical")
    assert alert.received_at == at(1) and alert.starts_at == START
    assert board.inbox_firing() == 1 and board.of_incident(INCIDENT) == []
    board.apply(event(3, INCIDENT, "alert_attached", ref("aaa1"), actor="bob"))
    assert board.inbox() == [] and board.inbox_firing() == 0
    (mine,) = board.firing(INCIDENT)
    assert mine.incident_id == INCIDENT and mine.attached_by == "bob"


def test_a_resolution_ends_the_firing_wherever_the_alert_is():
    board = board_of(
        [
            received(1, "aaa1"),
            event(2, INCIDENT, "alert_attached", ref("aaa1")),
            event(3, INBOX, "alert_resolved", {**ref("aaa1"), "ends_at": at(3).isoformat()}),
        ]
    )
    (alert,) = board.of_incident(INCIDENT)
    assert not alert.firing and alert.ends_at == at(3) and alert.state == "resolved"
    assert board.firing(INCIDENT) == []


def test_an_alert_received_already_resolved_is_resolved():
    board = board_of([received(1, "aaa1", ends_at=at(0.5).isoformat())])
    (alert,) = board.inbox()
    assert not alert.firing and alert.ends_at == at(0.5)


def test_silencing_hides_an_alert_from_the_inbox_with_its_reason_and_lifting_it_brings_it_back():
    silence = {**ref("aaa1"), "reason": "known flap, INFRA-12", "silenced": True}
    board = board_of([received(1, "aaa1"), event(2, INBOX, "alert_silenced", silence, "carol")])
    assert board.inbox() == [] and board.inbox_firing() == 0
    (quiet,) = board.inbox(silenced=True)
    assert quiet.silenced and quiet.silence_reason == "known flap, INFRA-12"
    assert quiet.silenced_by == "carol" and quiet.state == "silenced"
    board.apply(event(3, INBOX, "alert_silenced", {**ref("aaa1"), "silenced": False}))
    (back,) = board.inbox()
    assert not back.silenced and back.silence_reason == ""


def test_a_refire_after_resolution_is_a_new_firing_of_the_same_alert():
    later = START + timedelta(minutes=10)
    board = board_of(
        [
            received(1, "aaa1"),
            event(2, INBOX, "alert_resolved", {**ref("aaa1"), "ends_at": at(2).isoformat()}),
            received(11, "aaa1", fired_at=later.isoformat()),
        ]
    )
    firings = board.inbox()
    assert [a.firing for a in firings] == [True, False]
    assert {a.key for a in firings} == {alert_key("aaa1", START), alert_key("aaa1", later)}


def test_the_same_firing_received_twice_is_one_alert():
    """Keys agree however the start is written (offset, precision)."""
    plus_two = START.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).isoformat()
    board = board_of([received(2, "aaa1"), received(1, "aaa1", fired_at=plus_two)])
    (alert,) = board.alerts()
    assert alert.received_at == at(1)  # the first receipt


def test_malformed_events_are_counted_never_fatal():
    board = board_of(
        [
            event(1, INBOX, "alert_resolved", {"fingerprint": "x"}),
            event(1, INBOX, "alert_received", {"labels": "not a map", "name": 3}),
            event(1, INCIDENT, "status_changed", {}),
        ]
    )
    assert board.invalid == 2
    (odd,) = board.alerts()  # the receipt without a fingerprint is still an alert
    assert odd.name == "alert" and odd.labels == {}


def _spec_events() -> list[Event]:
    return [
        declared(0, INCIDENT, ["checkout"]),
        declared(0.5, OTHER, ["payments"]),
        received(1, "aaa1", group_key="g1"),
        received(2, "bbb2", INCIDENT, group_key="g1"),
        received(3, "ccc3"),
        event(4, INCIDENT, "alert_attached", ref("aaa1")),
        event(5, OTHER, "alert_attached", ref("aaa1")),
        event(6, INBOX, "alert_resolved", {**ref("bbb2"), "ends_at": at(6).isoformat()}),
        event(7, INBOX, "alert_silenced", {**ref("ccc3"), "reason": "noise"}),
        event(8, INCIDENT, "status_changed", {"status": "resolved"}),
        event(9, OTHER, "components_changed", {"components": ["payments", "ledger"]}),
    ]


@settings(max_examples=100, deadline=None, derandomize=True)
@given(order=st.permutations(range(11)))
def test_any_order_of_the_same_events_gives_the_same_board(order):
    events = _spec_events()
    expected = board_of(events)
    shuffled = board_of([events[i] for i in order])
    assert shuffled.alerts() == expected.alerts()
    assert shuffled.open_incidents() == expected.open_incidents()
    assert [b.incident_id for b in expected.open_incidents()] == [OTHER]
    assert expected.alert(alert_key("aaa1", START)).incident_id == OTHER  # the latest attach


def test_a_board_handed_out_is_not_changed_by_its_copy():
    board = board_of([received(1, "aaa1")])
    copy = board.copy()
    copy.apply(event(2, INCIDENT, "alert_attached", ref("aaa1")))
    assert board.inbox() and not copy.inbox()


# -- matching ---------------------------------------------------------------------------------

RULES = AlertRules()


def test_an_alert_matches_the_open_incident_whose_component_is_its_service():
    board = board_of([declared(0, INCIDENT, ["Checkout ", "ledger"]), declared(1, OTHER, ["api"])])
    assert board.match(service="checkout", group_key="", rules=RULES) == INCIDENT
    assert board.match(service="payments", group_key="", rules=RULES) is None
    assert board.match(service="", group_key="", rules=RULES) is None
    assert board.match(service="checkout", group_key="", rules=AlertRules(attach=False)) is None


def test_the_most_recently_declared_incident_wins_and_resolved_ones_never_match():
    board = board_of([declared(0, INCIDENT, ["checkout"]), declared(1, OTHER, ["checkout"])])
    assert board.match(service="checkout", group_key="", rules=RULES) == OTHER
    board.apply(event(2, OTHER, "status_changed", {"status": "resolved"}))
    assert board.match(service="checkout", group_key="", rules=RULES) == INCIDENT


def test_an_alert_whose_group_is_attached_to_an_open_incident_joins_it():
    board = board_of(
        [
            declared(0, INCIDENT, ["checkout"]),
            received(1, "aaa1", group_key='{}:{alertname="X"}'),
            event(2, INCIDENT, "alert_attached", ref("aaa1")),
        ]
    )
    assert board.match(service="other", group_key='{}:{alertname="X"}', rules=RULES) == INCIDENT
    board.apply(event(3, INCIDENT, "status_changed", {"status": "resolved"}))
    assert board.match(service="other", group_key='{}:{alertname="X"}', rules=RULES) is None


# -- finding ----------------------------------------------------------------------------------


def test_find_takes_a_unique_fingerprint_prefix_and_gives_the_latest_firing():
    later = START + timedelta(minutes=5)
    board = board_of(
        [
            received(1, "ab12cd"),
            received(6, "ab12cd", fired_at=later.isoformat()),
            received(2, "ab99ff"),
        ]
    )
    assert board.find("AB12").starts_at == later
    with pytest.raises(LookupError, match="starts 2 alerts' fingerprints"):
        board.find("ab")
    with pytest.raises(LookupError, match="no alert's fingerprint starts with 'zz'"):
        board.find("zz")
    with pytest.raises(LookupError, match="give an alert's fingerprint"):
        board.find("  ")


def test_a_fingerprint_is_made_from_the_labels_when_the_sender_gave_none():
    one = fingerprint_of({"alertname": "X", "zone": "eu-1"})
    assert one == fingerprint_of({"zone": "eu-1", "alertname": "X"})
    assert one != fingerprint_of({"alertname": "X", "zone": "us-1"})
    assert len(one) == 16 and int(one, 16) >= 0


# -- commands ---------------------------------------------------------------------------------

NOW = at(30)


def ctx() -> Context:
    return Context(DEFAULT_POLICY, NOW)


def inbox_alert(**fields: Any):
    payload = {
        "summary": "5xx ratio 12% on checkout",
        "service": "checkout",
        "severity": "critical",
        "fired_at": at(1).isoformat(),
        **fields,
    }
    return board_of([received(3, "f00d", **payload)]).inbox()[0]


def test_declaring_from_an_alert_fills_the_declaration_and_dates_impact_and_detection():
    commands = declare_from_alert(inbox_alert(), ctx(), commander="alice")
    declare, impact, detected, attach = commands
    assert isinstance(declare, Declare)
    assert (declare.title, declare.severity, declare.components) == (
        "5xx ratio 12% on checkout",
        "SEV2",
        ("checkout",),
    )
    assert declare.commander == "alice"
    assert impact == SetMilestone(milestone="impact_started", at=at(1))
    assert detected == SetMilestone(milestone="detected", at=at(3))
    assert isinstance(attach, AttachAlert) and attach.fingerprint == "f00d"


def test_mttd_and_mtta_come_from_the_alert_as_the_process_defines_them():
    """MTTD: issue start (the alert's start) to alert (warroom hears of it); MTTA: alert to
    acknowledgment (the declaration)."""
    commands = declare_from_alert(inbox_alert(), ctx(), commander="alice")
    incident = new_id()
    events = materialise(
        IncidentState(incident_id=incident),
        commands,
        ctx(),
        device_id="d",
        actor="alice",
        ids=iter(new_id, None),
        stamps=(Stamp(int(NOW.timestamp() * 1000), n).encode() for n in range(10)),
    )
    state = IncidentState(incident_id=incident)
    for e in events:
        state.apply(e)
    metrics = {m.name: m for m in clock.metrics(state, DEFAULT_POLICY, NOW)}
    assert metrics["MTTD"].value == timedelta(minutes=2)
    assert metrics["MTTA"].value == timedelta(minutes=27)
    assert board_of(events).alert(alert_key("f00d", at(1))) is None  # attach needs the receipt


def test_the_severity_label_maps_through_the_rules_and_the_form_may_override_everything():
    warning = declare_from_alert(inbox_alert(severity="warning"), ctx(), commander=None)
    assert warning[0].severity == "SEV3" and warning[0].commander is None
    unknown = declare_from_alert(inbox_alert(severity="page-me"), ctx(), commander="a")
    assert unknown[0].severity == "SEV3"
    rules = AlertRules(severities=(("page-me", "SEV1"),), default_severity="SEV4")
    mapped = declare_from_alert(
        inbox_alert(severity="page-me"),
        Context(__import__("dataclasses").replace(DEFAULT_POLICY, alerts=rules), NOW),
        commander="a",
    )
    assert mapped[0].severity == "SEV1"
    chosen = declare_from_alert(
        inbox_alert(), ctx(), commander="a", title="Checkout down", severity="SEV1", components=[]
    )
    assert (chosen[0].title, chosen[0].severity, chosen[0].components) == (
        "Checkout down",
        "SEV1",
        (),
    )


def test_a_start_outside_what_milestones_accept_is_left_out_not_refused():
    ancient = inbox_alert(fired_at=(NOW - timedelta(days=400)).isoformat())
    kinds = [type(c).__name__ for c in declare_from_alert(ancient, ctx(), commander="a")]
    assert kinds == ["Declare", "SetMilestone", "AttachAlert"]


def test_a_long_or_invisible_summary_still_makes_a_title():
    long = declare_from_alert(inbox_alert(summary="x" * 500), ctx(), commander="a")
    assert len(long[0].title) == 200 and long[0].title.endswith("…")
    blank = declare_from_alert(inbox_alert(summary="\u200b "), ctx(), commander="a")
    assert blank[0].title == "Alertf00d"


def test_silencing_needs_a_reason_and_happens_in_the_inbox_only():
    alert = inbox_alert()
    base = {"fingerprint": "f00d", "starts_at": at(1), "name": "X"}
    with pytest.raises(CommandError, match="say why"):
        SilenceAlert(**base).events(IncidentState(incident_id=INBOX), ctx())
    with pytest.raises(CommandError, match="in the inbox"):
        SilenceAlert(**base, reason="r").events(IncidentState(incident_id=INCIDENT), ctx())
    assert alert.in_inbox


def test_the_inbox_cannot_be_declared():
    with pytest.raises(CommandError, match="inbox cannot be declared"):
        Declare(title="x", severity="SEV2").events(IncidentState(incident_id=INBOX), ctx())


def test_receive_alert_is_bounded_and_storable():
    ok = {"name": "X", "fingerprint": "abc", "fired_at": START}
    make(ReceiveAlert, **ok, labels={f"l{i}": "v" for i in range(64)})
    for bad, where in [
        ({"labels": {f"l{i}": "v" for i in range(65)}}, "labels"),
        ({"labels": {"a": "v" * 1025}}, "labels"),
        ({"annotations": {"a": "x\x00"}}, "annotations"),
        ({"fingerprint": "no spaces"}, "fingerprint"),
        ({"values": {"B": float("nan")}}, "values"),
        ({"url": "u" * 2049}, "url"),
    ]:
        with pytest.raises(CommandError) as refused:
            make(ReceiveAlert, **{**ok, **bad})
        assert refused.value.field == where


def test_alert_events_say_what_happened_in_the_timeline():
    def said(kind: str, payload: dict[str, Any]) -> str:
        return summarize(event(0, INBOX, kind, payload))

    full = {
        "name": "CheckoutHighErrorRate",
        "fingerprint": "ab",
        "severity": "critical",
        "service": "checkout",
        "summary": "5xx 12%",
    }
    expected = "CheckoutHighErrorRate firing [critical, checkout]: 5xx 12%"
    assert said("alert_received", full) == expected
    old = {"name": "X", "source": "Prometheus", "summary": "s"}
    assert said("alert_received", old) == "X (Prometheus): s"
    ended = {**ref("ab", name="X"), "ends_at": "2026-11-22T14:05:00+00:00"}
    assert said("alert_resolved", ended) == "X resolved at 2026-11-22 14:05 UTC"
    assert said("alert_attached", {**ref("ab", name="X"), "summary": "s"}) == "X attached: s"
    silenced = {**ref("ab", name="X"), "reason": "flap"}
    assert said("alert_silenced", silenced) == "X silenced: flap"


def test_an_alert_board_ignores_other_kinds():
    board = AlertBoard()
    board.apply(event(0, INCIDENT, "note", {"text": "x"}))
    assert board == AlertBoard() and datetime.now(UTC)
