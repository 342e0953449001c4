"""A realistic demo incident: a SEV2 bad deploy, half an hour in, an update due soon."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from warroom.core.events import Event
from warroom.core.hlc import Stamp
from warroom.core.ids import new_id
from warroom.core.state import IncidentState
from warroom.store import EventLog

TITLE = "Checkout failing with 503s after deploy"


def _script(now: datetime) -> list[tuple[int, str, str, dict[str, Any]]]:
    """(minutes before now, actor, kind, payload), oldest first."""
    at = lambda minutes: (now - timedelta(minutes=minutes)).isoformat()  # noqa: E731
    return [
        (
            32,
            "grafana",
            "alert_received",
            {
                "name": "HighErrorRate checkout-api",
                "source": "Grafana",
                "summary": "5xx ratio 31% > 5% for 3m on checkout-api (namespace shop)",
                "fired_at": at(32),
            },
        ),
        (
            30,
            "alice",
            "declared",
            {
                "title": TITLE,
                "severity": "SEV2",
                "impact": "About 30% of checkout requests fail with 503; carts are kept.",
                "components": ["checkout", "payments-gateway"],
            },
        ),
        (30, "alice", "role_assigned", {"role": "incident_commander", "person": "alice"}),
        (29, "alice", "role_assigned", {"role": "tech_lead", "person": "bob"}),
        (28, "alice", "role_assigned", {"role": "comms_lead", "person": "carol"}),
        (28, "alice", "role_assigned", {"role": "scribe", "person": "dave"}),
        (27, "dave", "milestone_set", {"milestone": "detected", "at": at(32)}),
        (
            26,
            "carol",
            "update_posted",
            {
                "audience": "internal",
                "template": "initial",
                "body": "@here Incident declared: Checkout failing with 503s after deploy\n"
                "Severity: SEV2\nImpact: ~30% of checkouts fail\nIC: @alice",
                "next_update_at": at(-4),
            },
        ),
        (
            24,
            "bob",
            "note",
            {
                "text": "Error spike starts 2 min after checkout v2.14.0 rolled out. "
                "New pods crash-loop: PaymentClient timeouts.",
                "pinned": True,
            },
        ),
        (
            20,
            "bob",
            "log_pinned",
            {
                "pod": "checkout-6c9f7d5b8-x2k4q",
                "container": "checkout",
                "namespace": "shop",
                "source_time": at(20),
                "text": "ERROR PaymentClient: upstream timeout after 500ms (payments-gateway:8443)",
            },
        ),
        (18, "alice", "note", {"text": "Decision: roll back checkout to v2.13.2 (IC approved)."}),
        (
            15,
            "bob",
            "action_taken",
            {
                "description": "Rollout undo of deployment/checkout",
                "command": "kubectl -n shop rollout undo deployment/checkout",
                "result": "rolled back to revision 1",
                "ok": True,
            },
        ),
        (
            12,
            "bob",
            "status_changed",
            {
                "status": "identified",
                "reason": "v2.14.0 lowered the payments timeout from 5s to 500ms",
            },
        ),
        (8, "carol", "note", {"text": "Status page moved to Identified."}),
        (
            5,
            "alice",
            "action_item",
            {
                "text": "Add canary analysis to checkout deploys",
                "owner": "bob",
                "due": (now + timedelta(days=7)).date().isoformat(),
            },
        ),
    ]


def build(now: datetime, incident_id: str, ids: Iterator[str], device: str = "demo") -> list[Event]:
    """The demo's events, stamped back in time from `now`, each naming what it replaces."""
    state = IncidentState(incident_id=incident_id)
    events = []
    for n, (minutes, actor, kind, payload) in enumerate(_script(now)):
        wall = int((now - timedelta(minutes=minutes)).timestamp() * 1000)
        event = Event(
            next(ids),
            incident_id,
            device,
            Stamp(wall, n).encode(),
            actor,
            kind,
            state.with_replaces(kind, payload),
        )
        state.apply(event)
        events.append(event)
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
