from datetime import timedelta

from tests.core.factory import Maker, at
from warroom.core import clock
from warroom.core.policy import DEFAULT_POLICY as P
from warroom.core.state import project

ev = Maker()
D = ev(0, "declared", {"title": "t", "severity": "SEV2"})


def test_cadence_counts_down_from_the_last_update_and_changes_colour():
    u = ev(10, "update_posted", {"body": "x"})
    s = project([D, u])
    c = clock.cadence(s, P, at(20))
    assert (c.level, c.due_at, c.remaining) == ("ok", at(40), timedelta(minutes=20))
    assert clock.cadence(s, P, at(36)).level == "amber"
    late = clock.cadence(s, P, at(41))
    assert late.level == "overdue"
    assert late.remaining == timedelta(minutes=-1)


def test_cadence_before_any_update_runs_from_the_declaration():
    assert clock.cadence(project([D]), P, at(1)).due_at == at(30)


def test_severity_change_changes_the_cadence():
    s = project([D, ev(1, "severity_changed", {"severity": "SEV1"})])
    assert clock.cadence(s, P, at(1)).due_at == at(15)


def test_promised_earlier_next_update_is_held():
    u = ev(10, "update_posted", {"body": "x", "next_update_at": at(20).isoformat()})
    assert clock.cadence(project([D, u]), P, at(11)).due_at == at(20)


def test_snooze_pushes_the_deadline_until_the_next_update():
    snooze = ev(25, "cadence_snoozed", {"until": at(50).isoformat(), "reason": "waiting on AWS"})
    c = clock.cadence(project([D, snooze]), P, at(31))
    assert (c.level, c.due_at, c.snooze_reason) == ("ok", at(50), "waiting on AWS")
    u = ev(40, "update_posted", {"body": "x"})
    assert clock.cadence(project([D, snooze, u]), P, at(41)).due_at == at(70)


def test_resolved_stops_the_cadence():
    s = project([D, ev(5, "status_changed", {"status": "resolved"})])
    assert clock.cadence(s, P, at(500)).level == "stopped"


def test_escalation_levels_follow_elapsed_time():
    s = project([D])
    levels = [clock.escalation(s, P, at(m)).step.level for m in (0, 14, 15, 31, 61)]
    assert levels == [1, 1, 2, 3, 4]
    e = clock.escalation(s, P, at(20))
    assert e.people == ["Backup on-call", "Team Lead"]
    assert e.next_at == at(30)
    sev1 = project([ev(0, "declared", {"title": "t", "severity": "SEV1"})])
    assert "CEO" in clock.escalation(sev1, P, at(61)).people


def test_sev4_does_not_escalate():
    s = project([ev(0, "declared", {"title": "t", "severity": "SEV4"})])
    assert clock.escalation(s, P, at(300)).step.level == 1


def test_metrics_use_milestones_and_targets():
    events = [
        ev(-1, "alert_received", {"name": "HighErrorRate"}),
        D,
        ev(2, "milestone_set", {"milestone": "impact_started", "at": at(-8).isoformat()}),
        ev(12, "status_changed", {"status": "identified"}),
        ev(50, "status_changed", {"status": "monitoring"}),
        ev(70, "status_changed", {"status": "resolved"}),
    ]
    m = {x.name: x for x in clock.metrics(project(events), P, at(100))}
    assert m["MTTD"].value == timedelta(minutes=7) and m["MTTD"].met is False
    assert m["MTTA"].value == timedelta(minutes=1) and m["MTTA"].met is True
    assert m["MTTI"].value == timedelta(minutes=12)
    assert m["MTTR"].value == timedelta(minutes=70) and not m["MTTR"].running


def test_running_metrics_while_open():
    m = {x.name: x for x in clock.metrics(project([D]), P, at(42))}
    assert m["MTTR"].running and m["MTTR"].value == timedelta(minutes=42)
    assert m["MTTD"].value is None


def test_missing_commander_is_timed():
    assert clock.ic_missing_for(project([D]), at(6)) == timedelta(minutes=6)
    a = ev(1, "role_assigned", {"role": "incident_commander", "person": "x"})
    assert clock.ic_missing_for(project([D, a]), at(6)) is None


def test_format_duration():
    f = clock.format_duration
    assert [f(timedelta(seconds=s)) for s in (5, 65, 300, 600, 3600, 3725, 86400, 90000)] == [
        "5s",
        "1m05s",
        "5m",
        "10m",
        "1h",
        "1h02m",
        "1d",
        "1d1h",
    ]
    assert f(timedelta(0)) == "0s"
    assert f(timedelta(seconds=-90)) == "-1m30s"
    assert f(timedelta.max) == "999999999d23h" and f(timedelta.min) == "-999999999d"
    assert f(timedelta(seconds=-0.5)) == "0s"
    assert f(None) == "—"


def test_a_running_metric_is_not_met_until_it_ends():
    m = {x.name: x for x in clock.metrics(project([D]), P, at(42))}
    assert m["MTTR"].running and m["MTTR"].met is None and m["MTTR"].verdict == "running"
    late = {x.name: x for x in clock.metrics(project([D]), P, at(60 * 5))}
    assert late["MTTR"].running and late["MTTR"].met is False and late["MTTR"].verdict == "no"
    done = [D, ev(70, "status_changed", {"status": "resolved"})]
    ended = {x.name: x for x in clock.metrics(project(done), P, at(100))}
    assert ended["MTTR"].met is True and ended["MTTR"].verdict == "yes"
    assert ended["MTTI"].verdict == "—"  # no target
    assert ended["MTTR"].shown == "1h10m/4h" and m["MTTR"].shown == "42m/4h (running)"
