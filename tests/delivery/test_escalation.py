"""The escalation ladder: when a level is due, the console asks (E pages) or pages by itself
where the config says `auto`; an `escalated` event records who, when and why."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from tests.delivery.driver import T0, Incident
from tests.tui.conftest import INCIDENT, NOW, seed_demo, wait_for
from warroom.config import load_settings
from warroom.core import clock
from warroom.core.commands import (
    ChangeStatus,
    CommandError,
    Context,
    Declare,
    Escalate,
    SetMilestone,
    plan,
)
from warroom.core.describe import summarize
from warroom.core.policy import DEFAULT_POLICY
from warroom.core.state import IncidentState, project
from warroom.store import EventLog
from warroom.tui.flows import Ask, escalate
from warroom.tui.steps import Choose, Confirm, Submit
from warroom.tui.widgets.panels import Context as PanelContext
from warroom.tui.widgets.panels import cadence_text

POLICY = replace(
    DEFAULT_POLICY,
    escalation=tuple(
        replace(step, channels=("pd-backup",) if step.level == 2 else ())
        for step in DEFAULT_POLICY.escalation
    ),
)


def sev2() -> Incident:
    incident = Incident(policy=POLICY)
    incident.run(Declare(title="Checkout failing", severity="SEV2", commander="alice"))
    return incident


def test_a_level_is_due_once_reached_until_paged_or_mitigated() -> None:
    incident = sev2()
    state, at = incident.state, T0
    assert clock.escalation_due(state, POLICY, at) is None  # L1: the on-call who declared
    assert clock.escalation_due(state, POLICY, at + timedelta(minutes=14)) is None
    due = clock.escalation_due(state, POLICY, at + timedelta(minutes=15))
    assert due is not None and due.level == 2
    incident.run(Escalate(level=2, reason="r"), after=timedelta(minutes=16))
    assert clock.escalation_due(incident.state, POLICY, at + timedelta(minutes=20)) is None
    due = clock.escalation_due(incident.state, POLICY, at + timedelta(minutes=31))
    assert due is not None and due.level == 3
    mitigated = incident.run(ChangeStatus(status="monitoring"), after=timedelta(minutes=15))
    assert (
        mitigated
        and clock.escalation_due(incident.state, POLICY, at + timedelta(minutes=61)) is None
    )


def test_the_escalated_event_says_who_when_and_why() -> None:
    incident = sev2()
    [event] = incident.run(
        Escalate(level=2, reason="SEV2 open 16m, not mitigated (L2 from 15m)"),
        after=timedelta(minutes=16),
        actor="alice",
    )
    assert event.kind == "escalated" and event.actor == "alice"
    assert event.payload == {
        "level": 2,
        "people": ["Backup on-call", "Team Lead"],
        "channels": ["pd-backup"],
        "reason": "SEV2 open 16m, not mitigated (L2 from 15m)",
        "auto": False,
    }
    assert event.time == T0 + timedelta(minutes=16)
    assert summarize(event) == (
        "paged L2 (Backup on-call, Team Lead) via pd-backup: SEV2 open 16m, not mitigated"
        " (L2 from 15m)"
    )
    [ref] = incident.state.escalations
    assert (ref.level, ref.actor, ref.channels) == (2, "alice", ("pd-backup",))
    # the fold is order-free and survives the snapshot
    again = project(list(reversed(incident.events)))
    assert again.escalations == incident.state.escalations
    assert (
        IncidentState.from_json(incident.state.to_json()).escalations == incident.state.escalations
    )


def test_escalating_is_refused_when_it_makes_no_sense() -> None:
    incident = sev2()
    ctx = Context(POLICY, incident.now)
    with pytest.raises(CommandError, match="no escalation level L9"):
        plan(incident.state, [Escalate(level=9)], ctx)
    incident.run(ChangeStatus(status="resolved"))
    with pytest.raises(CommandError, match="resolved"):
        plan(incident.state, [Escalate(level=2)], ctx)
    sev4 = Incident(policy=POLICY)
    sev4.run(Declare(title="typo", severity="SEV4"))
    with pytest.raises(CommandError, match="SEV4 has no escalation level L2"):
        plan(sev4.state, [Escalate(level=2)], Context(POLICY, sev4.now))


def test_the_flow_offers_the_due_level_at_once() -> None:
    incident = sev2()
    ask = Ask(incident.state, POLICY, T0 + timedelta(minutes=16), UTC, "alice")
    flow = escalate(ask)
    step = next(flow)
    assert isinstance(step, Confirm) and step.title == "Escalate to L2"
    assert "Backup on-call, Team Lead through pd-backup" in step.body.plain
    with pytest.raises(StopIteration) as done:
        flow.send(True)
    outcome = done.value.value
    assert isinstance(outcome, Submit)
    [command] = outcome.commands
    assert isinstance(command, Escalate) and command.level == 2
    assert command.reason == "SEV2 open 16m, not mitigated (L2 from 15m)"


def test_the_flow_lets_the_ic_pick_a_level_when_none_is_due() -> None:
    incident = sev2()
    flow = escalate(Ask(incident.state, POLICY, T0 + timedelta(minutes=5), UTC, "alice"))
    step = next(flow)
    assert isinstance(step, Choose) and step.current == "1"
    assert [value for value, _ in step.options] == ["1", "2", "3", "4"]
    assert isinstance(flow.send("3"), Confirm)


def test_the_cadence_panel_shows_the_next_level_and_when() -> None:
    incident = sev2()
    panel = cadence_text(
        PanelContext(incident.state, POLICY, T0 + timedelta(minutes=16), UTC)
    ).plain
    assert "Escalation L2 Backup on-call, Team Lead" in panel
    assert "⚠ L2 not paged: E pages" in panel
    assert "next L3 at 14:30 (in 14m)" in panel
    incident.run(Escalate(level=2), after=timedelta(minutes=17), actor="bob")
    panel = cadence_text(
        PanelContext(incident.state, POLICY, T0 + timedelta(minutes=18), UTC)
    ).plain
    assert "L2 paged 14:17 by bob" in panel and "⚠" not in panel


def test_a_mitigation_milestone_stops_the_asking() -> None:
    incident = sev2()
    incident.run(
        SetMilestone(milestone="mitigated", at=T0 + timedelta(minutes=10)),
        after=timedelta(minutes=12),
    )
    assert clock.escalation_due(incident.state, POLICY, T0 + timedelta(minutes=40)) is None


# -- in the console ----------------------------------------------------------------------------

LADDER = """
[[escalation]]
after = "0m"
who = ["Primary on-call"]
[[escalation]]
after = "15m"
who = ["Backup on-call", "Team Lead"]
[[escalation]]
after = "30m"
who = ["Engineering Manager"]
channels = ["pd-managers"]
auto = {auto}
"""


def _console(tmp_path: Path, auto: bool):  # type: ignore[no-untyped-def]
    import os

    from warroom.tui.app import WarroomApp

    Path(os.environ["WARROOM_CONFIG"]).write_text(LADDER.format(auto=str(auto).lower()))
    db = tmp_path / "console.db"
    seed_demo(db)  # a SEV2 declared 30 minutes before NOW, identified, not mitigated
    log = EventLog(db)
    return WarroomApp(log, load_settings(), INCIDENT, now=lambda: NOW, actor="you"), log


def _escalations(app) -> list:  # type: ignore[no-untyped-def]
    return [e for e in app.store.timeline.events(INCIDENT) if e.kind == "escalated"]


async def test_the_console_pages_an_auto_level_by_itself(tmp_path: Path) -> None:
    app, log = _console(tmp_path, auto=True)
    try:
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_for(pilot, lambda: len(_escalations(app)) == 1)
            [event] = _escalations(app)
            assert event.actor == "you"
            assert event.payload["auto"] is True and event.payload["level"] == 3
            assert event.payload["channels"] == ["pd-managers"]
            assert event.payload["people"] == ["Engineering Manager"]
            assert "not mitigated (L3 from 30m)" in event.payload["reason"]
            app.tick()  # later ticks do not page again
            await wait_for(pilot, lambda: "L3 auto-paged" in str(app.cadence_panel.render()))
            assert len(_escalations(app)) == 1
    finally:
        log.close()


async def test_the_console_asks_and_e_pages(tmp_path: Path) -> None:
    app, log = _console(tmp_path, auto=False)
    try:
        async with app.run_test(size=(120, 35)) as pilot:
            await wait_for(pilot, lambda: app.state is not None)
            app.tick()
            assert _escalations(app) == []
            await wait_for(
                pilot, lambda: "L3 not paged: E pages" in str(app.cadence_panel.render())
            )
            assert _escalations(app) == []
            await pilot.press("E")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "FlowScreen")
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(_escalations(app)) == 1)
            [event] = _escalations(app)
            assert event.payload["auto"] is False and event.payload["level"] == 3
    finally:
        log.close()
