"""The demo incident: the simulator's bad checkout deploy, half an hour in, updates due soon.

One story from alert to resolution, told by the event log, the simulator (`warroom sim
--scenario bad-deploy`) and the teammate (`demo_team.py`) alike: checkout 2.5.0 went out 34
minutes ago; it reads a tax rate per region and the config has none for eu-west-3, so every
EU-West-3 order fails with `KeyError: 'eu-west-3'` and the pods crash-loop. The team has
found that and decided to roll back to 2.4.1 (revision 1); the newcomer does the rollback in
the pods pane (`U`), watches the pods recover, moves the status on and posts the updates.

Monitoring keeps talking meanwhile (`demo_monitor.py`, a simulated Alertmanager watching the
simulated cluster): a few seconds in, EU-West-3 payments start failing too (the orders never
reach payment) and that alert waits in the inbox (`!`) for the newcomer to attach it here or
declare it; then checkout's latency alert fires and attaches itself (checkout is this
incident's component). Once the rollback has checkout healthy, every alert resolves, which the
resolution checklist shows beside "No error alerts firing".

The history is written through the command layer (`warroom.core.commands.plan`), stamped
back in time, so it holds exactly what the console would have written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warroom.core.commands import (
    AddActionItem,
    AddNote,
    AssignRole,
    ChangeStatus,
    Command,
    Context,
    Declare,
    PinLogLine,
    PostUpdate,
    ReceiveAlert,
    SetMilestone,
    materialise,
)
from warroom.core.events import Event
from warroom.core.hlc import Stamp
from warroom.core.ids import new_id
from warroom.core.policy import DEFAULT_POLICY, Status
from warroom.core.state import IncidentState
from warroom.store import EventLog

TITLE = "Checkout failing: 500s on POST /v1/checkout"
DEPLOYED_AGO = 34
"""Minutes since checkout 2.5.0 rolled out (the simulator's bad-deploy scenario agrees)."""


def _script(now: datetime) -> list[tuple[int, str, Command]]:
    """(minutes before now, actor, command), oldest first."""

    def ago(minutes: float) -> datetime:
        return now - timedelta(minutes=minutes)

    return [
        (32, "alertmanager", error_rate_alert(ago(32))),
        (
            30,
            "alice",
            Declare(
                title=TITLE,
                severity="SEV2",
                impact="About 1 in 8 checkouts fail with a 500; EU-West-3 customers cannot pay.",
                components=("checkout",),
                commander="alice",
            ),
        ),
        (29, "alice", AssignRole(role="tech_lead", person="bob")),
        (28, "alice", AssignRole(role="comms_lead", person="carol")),
        (28, "alice", AssignRole(role="scribe", person="dave")),
        (27, "dave", SetMilestone(milestone="detected", at=ago(32))),
        (27, "dave", SetMilestone(milestone="impact_started", at=ago(DEPLOYED_AGO))),
        (
            27,
            "carol",
            PostUpdate(
                audience="internal",
                template="initial",
                body=f"@here Incident declared: {TITLE}\nSeverity: SEV2\n"
                "Impact: about 1 in 8 checkouts fail (500)\nIC: @alice",
            ),
        ),
        (
            26,
            "carol",
            PostUpdate(
                audience="status-page",
                template="statuspage-investigating",
                body="Investigating: We are investigating reports of failed checkouts. Some "
                "customers may be unable to complete a purchase. We will provide updates as we "
                "learn more.",
            ),
        ),
        (
            24,
            "bob",
            AddNote(
                text=f"checkout 2.5.0 rolled out at the start of the spike ({DEPLOYED_AGO} min"
                " ago); its pods crash-loop and restarts keep climbing (kubectl get pods -n shop)."
            ),
        ),
        (
            20,
            "bob",
            PinLogLine(
                pod="checkout-7d9f8b6c5-q2x8z",
                container="checkout",
                namespace="shop",
                source_time=ago(20),
                text="ERROR checkout.api POST /v1/checkout status=500 "
                "error=\"KeyError: 'eu-west-3'\"",
            ),
        ),
        (
            18,
            "bob",
            AddNote(
                text="Root cause: 2.5.0 looks up a tax rate per region and config has no "
                "tax_rates entry for eu-west-3 (startup WARN); each EU-West-3 order raises "
                "KeyError and the pod dies.",
                pinned=True,
            ),
        ),
        (
            15,
            "bob",
            ChangeStatus(
                status=Status.IDENTIFIED, reason="2.5.0 crashes on the missing eu-west-3 tax rate"
            ),
        ),
        (
            12,
            "alice",
            AddNote(
                text="Decision (IC): roll back checkout to 2.4.1 (revision 1). In the pods pane: "
                "select a checkout pod, U, then y."
            ),
        ),
        (
            5,
            "alice",
            AddActionItem(
                text="Validate tax_rates covers every region before checkout deploys",
                owner="bob",
                due=(now + timedelta(days=7)).date(),
            ),
        ),
    ]


ALERTMANAGER = "http://alertmanager.shop.internal:9093"
PROMETHEUS = "http://prometheus.shop.internal:9090"
ERROR_RATE_FINGERPRINT = "c4e2f1a09b7d3e58"


def error_rate_alert(fired_at: datetime) -> ReceiveAlert:
    """The alert that started it all, as Alertmanager sent it (`demo_monitor` resolves it
    once checkout recovers, under the same fingerprint and start)."""
    summary = "5xx ratio 12.4% > 5% for 2m on checkout (namespace shop)"
    return ReceiveAlert(
        name="CheckoutHighErrorRate",
        source=f"Alertmanager {ALERTMANAGER}",
        summary=summary,
        fired_at=fired_at,
        fingerprint=ERROR_RATE_FINGERPRINT,
        received_at=fired_at,
        receiver="warroom",
        group_key='{}:{alertname="CheckoutHighErrorRate"}',
        severity="critical",
        service="checkout",
        labels={
            "alertname": "CheckoutHighErrorRate",
            "service": "checkout",
            "namespace": "shop",
            "severity": "critical",
        },
        annotations={
            "summary": summary,
            "runbook_url": "https://runbooks.shop.internal/checkout/5xx",
        },
        url=f"{PROMETHEUS}/graph?g0.expr=checkout%3Aerror_ratio%3Arate2m+%3E+0.05",
    )


def build(now: datetime, incident_id: str, ids: Iterator[str], device: str = "demo") -> list[Event]:
    """The demo's events, made like any command's and stamped back in time from `now`."""
    state = IncidentState(incident_id=incident_id)
    events: list[Event] = []
    for n, (minutes, actor, command) in enumerate(_script(now)):
        at = now - timedelta(minutes=minutes)
        wall = int(at.timestamp() * 1000)
        stamps = (Stamp(wall, n * 10 + i).encode() for i in range(10))
        made = materialise(
            state,
            [command],
            Context(DEFAULT_POLICY, at),
            device_id=device,
            actor=actor,
            ids=ids,
            stamps=stamps,
        )
        for event in made:
            state.apply(event)
        events += made
    return events


def seed(path: Path, now: datetime | None = None) -> str:
    """Write the demo incident into a fresh database at `path`; returns its id."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    incident = new_id()
    ids = iter(new_id, None)
    with EventLog(path) as log:
        log.insert(build(now or datetime.now(UTC), incident, ids), outbox=True)
    return incident
