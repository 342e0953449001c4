"""Alerts in the console, driven with Textual's pilot on the demo incident: the header counts
the incident's firing alerts and the inbox; `!` shows both with each alert's details, and
one key each declares from an inbox alert, attaches it here, or silences it with a reason;
the checklist shows the evidence and resolving with alerts firing says which."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.tui.conftest import INCIDENT, NOW, kinds, wait_for
from tests.tui.test_console import started, step_name
from warroom.core.alerts import INBOX
from warroom.core.commands import ReceiveAlert
from warroom.store import EventLog

PAYMENTS = "7a91d3c2e0b4f615"


def inbox_alert(
    db: Path, fingerprint: str = PAYMENTS, name: str = "PaymentsSuccessRateLow"
) -> None:
    """An alert that matched no incident, as sync brings it from the server."""
    alert = ReceiveAlert(
        name=name,
        fingerprint=fingerprint,
        fired_at=NOW - timedelta(minutes=3),
        received_at=NOW - timedelta(minutes=2),
        summary="Payment success rate in eu-west-3 at 61%",
        severity="critical",
        service="payments",
        labels={"alertname": name, "region": "eu-west-3", "[b]x[/b]": "\u202eevil"},
        url="http://prometheus.shop.internal:9090/graph?g0.expr=payments",
    )
    with EventLog(db) as log:
        log.execute(INBOX, [alert], "alertmanager")


def inbox_events(db: Path) -> list:
    with EventLog(db) as log:
        return log.timeline.events(INBOX)


def header(app) -> str:
    return str(app.query_one("#header").render())


async def open_alerts(app, pilot) -> None:
    await pilot.press("exclamation_mark")
    await wait_for(pilot, lambda: step_name(app) == "Browse")


async def test_the_header_counts_this_incidents_firing_alerts_and_the_inbox(make_app, demo_db):
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        assert "⚠ 1 firing" in header(app)  # the demo's CheckoutHighErrorRate
        assert "inbox" not in header(app)
        inbox_alert(demo_db)
        await wait_for(pilot, lambda: "inbox 1 (!)" in header(app))


async def test_the_alerts_show_labels_summary_since_and_link_literally(make_app, demo_db):
    inbox_alert(demo_db)
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        await open_alerts(app, pilot)
        options = app.screen.query_one("#flow-options")
        shown = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert shown[0] == "Inbox: 1 firing, 0 resolved"
        assert shown[1] == "firing   critical PaymentsSuccessRateLow   payments   14:27 (3m)"
        assert shown[2] == "This incident: 1 firing, 0 resolved"
        assert "CheckoutHighErrorRate" in shown[3]
        detail = str(app.screen.query_one("#flow-detail").render())
        assert "Payment success rate in eu-west-3 at 61%" in detail
        assert "region=eu-west-3" in detail and "[b]x[/b]=⟨U+202E⟩evil" in detail
        assert "http://prometheus.shop.internal:9090/graph?g0.expr=payments" in detail
        assert "since 14:27, 3m ago" in detail
        await pilot.press("down")  # over the heading, to this incident's alert
        await wait_for(
            pilot,
            lambda: "CheckoutHighErrorRate" in str(app.screen.query_one("#flow-detail").render()),
        )
        assert "runbook_url" not in str(app.screen.query_one("#flow-detail").render())


async def test_a_attaches_an_inbox_alert_to_this_incident(make_app, demo_db):
    inbox_alert(demo_db)
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        await open_alerts(app, pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: kinds(demo_db)[-1] == "alert_attached")
        with EventLog(demo_db) as log:
            attached = log.timeline.events(INCIDENT)[-1]
        assert attached.actor == "you"
        assert (attached.payload["fingerprint"], attached.payload["name"]) == (
            PAYMENTS,
            "PaymentsSuccessRateLow",
        )
        await wait_for(pilot, lambda: "⚠ 2 firing" in header(app) and "inbox" not in header(app))


async def test_x_silences_an_inbox_alert_with_a_reason_and_again_lifts_it(make_app, demo_db):
    inbox_alert(demo_db)
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        await open_alerts(app, pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: step_name(app) == "Fill")
        await pilot.press("enter")  # no reason: refused in place
        await wait_for(pilot, lambda: "required" in str(app.screen.query_one("#e-reason").render()))
        await pilot.press(*"known flap", "enter")
        await wait_for(pilot, lambda: inbox_events(demo_db)[-1].kind == "alert_silenced")
        silenced = inbox_events(demo_db)[-1]
        assert silenced.payload["reason"] == "known flap" and silenced.payload["silenced"]
        assert silenced.actor == "you"
        await wait_for(pilot, lambda: app.board is not None and app.board.inbox() == [])
        assert "inbox" not in header(app)
        await open_alerts(app, pilot)  # the silenced one is listed last, and x lifts it
        await pilot.press("end", "x")
        await wait_for(pilot, lambda: step_name(app) == "Confirm")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not inbox_events(demo_db)[-1].payload["silenced"])


async def test_d_declares_an_incident_from_an_inbox_alert(make_app, demo_db):
    inbox_alert(demo_db)
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        await open_alerts(app, pilot)
        await pilot.press("d")
        await wait_for(pilot, lambda: step_name(app) == "Fill")
        values = {
            f: app.screen.query_one(f"#f-{f}").value for f in ("title", "severity", "components")
        }
        assert values == {
            "title": "Payment success rate in eu-west-3 at 61%",
            "severity": "SEV2",  # critical, through the default map
            "components": "payments",
        }
        await pilot.press("enter", "enter", *"EU payments fail", "enter", "enter")
        await wait_for(pilot, lambda: app.incident_id != INCIDENT and app.state is not None)
        state = app.state
        assert state.title.value == "Payment success rate in eu-west-3 at 61%"
        assert state.impact.value == "EU payments fail"
        assert state.holder("incident_commander").value == "you"
        assert state.milestone("impact_started") == NOW - timedelta(minutes=3)
        assert state.milestone("detected") == NOW - timedelta(minutes=2)
        await wait_for(pilot, lambda: "⚠ 1 firing" in header(app) and "inbox" not in header(app))


async def test_alerts_already_part_of_an_incident_are_not_moved_from_the_list(make_app, demo_db):
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        await open_alerts(app, pilot)  # only this incident's alert is there
        before = kinds(demo_db)
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: (
                "is already part of this incident"
                in str(app.screen.query_one(".dialog-error").render())
            ),
        )
        await pilot.press("escape")
        assert kinds(demo_db) == before


async def test_the_checklist_shows_the_alerts_still_firing(make_app):
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: step_name(app) == "Tick")
        ticks = app.screen.query_one("#flow-ticks")
        items = [str(ticks.get_option_at_index(i).prompt) for i in range(ticks.option_count)]
        (alerts,) = [i for i in items if i.startswith("No error alerts firing")]
        assert "⚠ 1 firing: CheckoutHighErrorRate 32m" in alerts


async def test_resolving_with_alerts_firing_says_which(make_app):
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        await pilot.press("s", "end", "enter")
        await wait_for(pilot, lambda: step_name(app) == "Confirm")
        body = str(app.screen.query_one("#flow-body Static").render())
        assert "1 alert(s) still firing" in body and "CheckoutHighErrorRate" in body
        assert "resolve anyway" in str(app.screen.query_one("#flow-help").render())
