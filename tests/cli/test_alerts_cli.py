"""`warroom alerts`, `attach` and `declare --from-alert`, in-process against a real log that
holds alerts as sync brings them from the server (the same events, written here)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.cli.test_cli import declare
from warroom.core import clock
from warroom.core.alerts import INBOX
from warroom.core.commands import ReceiveAlert, ResolveAlert
from warroom.core.policy import DEFAULT_POLICY
from warroom.store import EventLog


def receive(db: Path, fingerprint: str, name: str, *, incident: str = INBOX, **fields) -> None:
    """An alert as the server writes it (received minutes ago, started before that)."""
    now = datetime.now(UTC)
    fields = {
        "fired_at": now - timedelta(minutes=7),
        "received_at": now - timedelta(minutes=5),
        "severity": "critical",
        "service": "checkout",
        "summary": f"{name} says hello",
        **fields,
    }
    alert = ReceiveAlert(name=name, fingerprint=fingerprint, **fields)
    with EventLog(db) as log:
        log.execute(incident, [alert], "alertmanager")


def test_alerts_lists_the_inbox_and_the_incidents_alerts(cli, db_path):
    assert cli("alerts").out.startswith("Inbox: no alerts")  # no incident yet: no failure
    receive(db_path, "aaaa1111bbbb2222", "CheckoutHighErrorRate")
    receive(db_path, "cccc3333dddd4444", "PaymentsSlow", service="payments", severity="warning")
    incident = declare(cli)
    receive(db_path, "eeee5555ffff6666", "CheckoutLatency", incident=incident)
    out = cli("alerts").out
    inbox, mine = out.split(f"\nIncident {incident[-6:]}")
    assert inbox.startswith("Inbox: 2 firing, 0 resolved")
    assert (
        "aaaa1111bbbb2222" in inbox and "PaymentsSlow" in inbox and "CheckoutLatency" not in inbox
    )
    assert "1 firing, 0 resolved" in mine and "eeee5555ffff6666" in mine
    assert "firing    aaaa1111bbbb2222  critical" in inbox
    assert " (7m) " in inbox  # since when


def test_alerts_json_and_firing_only(cli, db_path):
    receive(db_path, "aaaa1111bbbb2222", "Up", url="http://prom/graph", labels={"job": "api"})
    receive(db_path, "cccc3333dddd4444", "Gone")
    with EventLog(db_path) as log:
        gone = log.alerts().find("cccc")
        assert gone.starts_at is not None
        resolve = ResolveAlert(
            fingerprint=gone.fingerprint,
            starts_at=gone.starts_at,
            name="Gone",
            ends_at=datetime.now(UTC),
        )
        log.execute(INBOX, [resolve], "alertmanager")
    data = json.loads(cli("alerts", "--json").out)
    assert data["incident"] is None
    assert [(a["name"], a["state"]) for a in data["inbox"]] == [
        ("Up", "firing"),
        ("Gone", "resolved"),
    ]
    up = data["inbox"][0]
    assert up["links"] == {"source": "http://prom/graph"} and up["labels"] == {"job": "api"}
    assert up["where"] == "inbox" and up["fingerprint"] == "aaaa1111bbbb2222"
    firing = json.loads(cli("alerts", "--json", "--firing").out)["inbox"]
    assert [a["name"] for a in firing] == ["Up"]


def test_declare_from_an_alert_fills_the_incident_and_dates_detection(cli, db_path):
    receive(db_path, "aaaa1111bbbb2222", "CheckoutHighErrorRate", summary="5xx at 12% on checkout")
    r = cli("declare", "--from-alert", "AAAA11")
    assert r.code == 0, r.err
    incident = r.out.strip()
    assert "declared from CheckoutHighErrorRate (SEV2)" in r.err
    with EventLog(db_path) as log:
        state = log.state(incident)
        board = log.alerts()
        kinds = [e.kind for e in log.timeline.events(incident)]
    assert kinds == [
        "declared",
        "role_assigned",
        "milestone_set",
        "milestone_set",
        "alert_attached",
    ]
    assert state.title.value == "5xx at 12% on checkout"
    assert state.current_severity == "SEV2" and state.components.value == ["checkout"]
    assert board.inbox() == [] and [a.name for a in board.firing(incident)] == [
        "CheckoutHighErrorRate"
    ]
    metrics = {m.name: m for m in clock.metrics(state, DEFAULT_POLICY, datetime.now(UTC))}
    assert metrics["MTTD"].value is not None
    assert (
        timedelta(minutes=1, seconds=59) <= metrics["MTTD"].value <= timedelta(minutes=2, seconds=1)
    )
    assert metrics["MTTA"].value >= timedelta(minutes=4, seconds=59)  # heard 5 min ago
    again = cli("declare", "--from-alert", "aaaa")
    assert again.code == 1 and "is already part of incident" in again.err


def test_declare_from_an_alert_takes_what_is_given(cli, db_path):
    receive(db_path, "aaaa1111bbbb2222", "Disk", severity="warning")
    r = cli("declare", "Disk full on db-1", "--from-alert", "aaaa", "-s", "SEV1", "--no-ic")
    incident = r.out.strip()
    with EventLog(db_path) as log:
        state = log.state(incident)
    assert (state.title.value, state.current_severity) == ("Disk full on db-1", "SEV1")
    assert state.holder("incident_commander") is None


def test_declare_needs_a_title_and_severity_without_an_alert(cli):
    r = cli("declare", "--severity", "SEV2")
    assert r.code == 2 and "give a TITLE (or --from-alert FINGERPRINT)" in r.err
    r = cli("declare", "Checkout down")
    assert r.code == 2 and "give --severity" in r.err


def test_attach_moves_an_alert_into_the_incident(cli, db_path):
    receive(db_path, "aaaa1111bbbb2222", "CheckoutHighErrorRate")
    incident = declare(cli)
    r = cli("attach", "aaaa1")
    assert r.code == 0, r.err
    assert f"attached to incident {incident[-6:]}, from the inbox" in r.out
    with EventLog(db_path) as log:
        board = log.alerts()
    assert board.inbox() == [] and board.firing(incident)[0].attached_by == "tester"
    again = cli("attach", "aaaa1")
    assert again.code == 1 and "already attached" in again.err


def test_attach_says_which_fingerprint_is_meant(cli, db_path):
    receive(db_path, "ab11111111111111", "One")
    receive(db_path, "ab22222222222222", "Two")
    declare(cli)
    ambiguous = cli("attach", "ab")
    assert ambiguous.code == 1 and "'ab' starts 2 alerts' fingerprints" in ambiguous.err
    unknown = cli("attach", "ffff")
    assert unknown.code == 1 and "no alert's fingerprint starts with 'ffff'" in unknown.err


def test_resolving_with_alerts_still_firing_warns(cli, db_path):
    incident = declare(cli)
    receive(db_path, "aaaa1111bbbb2222", "CheckoutHighErrorRate", incident=incident)
    r = cli("status", "resolved")
    assert r.code == 0
    assert "warning: 1 alert(s) still firing: CheckoutHighErrorRate" in r.err
