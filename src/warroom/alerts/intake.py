"""What the server writes for a notification: each firing once, each resolution once.

Alertmanager sends the same alert many times: the whole group again when one alert joins or
leaves it, every `group_interval` while it changes, every `repeat_interval` while it fires,
and again after a 5xx or a timeout. A firing is one alert: its fingerprint and start
(`alert_key`). The server keeps a row per firing it wrote (its `alerts` table) and reads it,
with the alert board, inside the write transaction that stores the events, so two requests
(on one instance or on two sharing PostgreSQL) never both write the same firing.

`decide` is that decision, pure: per alert, nothing (known as it is), `alert_received` (new:
matched to an open incident or the inbox), or `alert_resolved` (known firing, now ended).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from warroom.alerts.webhooks import AlertsAccepted
from warroom.core.alerts import INBOX, AlertBoard, alert_key
from warroom.core.commands import Command, ReceiveAlert, ResolveAlert
from warroom.core.events import Event
from warroom.core.policy import AlertRules
from warroom.core.state import IncidentState


@dataclass(frozen=True, slots=True)
class Known:
    """A firing the server wrote before (a row of its `alerts` table)."""

    incident_id: str
    """Where it was received."""
    received_id: str
    resolved: bool


@dataclass(frozen=True, slots=True)
class Step:
    """One event to write, and how the `alerts` table learns of it."""

    incident_id: str
    command: Command
    key: str
    fingerprint: str
    starts_at: str
    """The start as the table keys it (UTC, microseconds)."""
    row: Known | None
    """The firing's row before this step (None: it has none yet)."""
    received_id: str | None = None
    """For a resolution of a firing the server has no row for (a client wrote it): its
    `alert_received` event, which the new row names."""


@dataclass
class Decision:
    steps: list[Step] = field(default_factory=list)
    total: int = 0

    def accepted(self) -> AlertsAccepted:
        kinds = [type(step.command) for step in self.steps]
        received = [s for s in self.steps if isinstance(s.command, ReceiveAlert)]
        return AlertsAccepted(
            alerts=self.total,
            received=len(received),
            resolved=kinds.count(ResolveAlert),
            unchanged=self.total - len(self.steps),
            attached=sum(1 for s in received if s.incident_id != INBOX),
        )


def keys_of(alerts: Sequence[ReceiveAlert]) -> list[tuple[str, str]]:
    """(fingerprint, start) of each alert, as the `alerts` table keys them."""
    return [_key(alert)[1:] for alert in alerts]


def _key(alert: ReceiveAlert) -> tuple[str, str, str]:
    key = alert_key(alert.fingerprint, alert.fired_at)
    return key, alert.fingerprint, key.split("@", 1)[1]


def decide(
    alerts: Sequence[ReceiveAlert],
    known: Mapping[str, Known],
    board: AlertBoard,
    rules: AlertRules,
) -> Decision:
    """The writes for one notification, given the firings the server wrote (`known`, by
    `alert_key`) and the board of every alert event it holds (clients' included)."""
    decision = Decision(total=len(alerts))
    done: set[str] = set()
    groups: dict[str, str] = {}  # group key -> where this notification put the group
    for alert in alerts:
        key, fingerprint, start = _key(alert)
        if key in done:  # the same firing twice in one body: the first one counts
            continue
        done.add(key)
        row, view = known.get(key), board.alert(key)
        if row is None and view is None:
            where = (
                groups.get(alert.group_key)
                or board.match(service=alert.service, group_key=alert.group_key, rules=rules)
                or INBOX
            )
            if alert.group_key and where != INBOX:
                groups[alert.group_key] = where
            decision.steps.append(Step(where, alert, key, fingerprint, start, None))
            continue
        ended = (row is not None and row.resolved) or (view is not None and not view.firing)
        if alert.ends_at is None or ended or alert.fired_at is None:
            continue
        if view is not None:  # where it is now, which may not be where it was received
            where, received = view.incident_id, None if row else view.id
        else:
            assert row is not None
            where, received = row.incident_id, None
        resolve = ResolveAlert(
            fingerprint=fingerprint,
            starts_at=alert.fired_at,
            name=alert.name,
            ends_at=alert.ends_at,
        )
        decision.steps.append(Step(where, resolve, key, fingerprint, start, row, received))
    return decision


@dataclass(frozen=True, slots=True)
class Row:
    """A new row of the server's `alerts` table."""

    fingerprint: str
    starts_at: str
    incident_id: str
    received_id: str
    resolved_id: str | None

    def columns(self) -> tuple[str, str, str, str, str | None]:
        """In the table's order (dataclasses.astuple deep-copies: 50 us a row)."""
        return (
            self.fingerprint,
            self.starts_at,
            self.incident_id,
            self.received_id,
            self.resolved_id,
        )


def plan_events(
    decision: Decision, maker: Callable[[IncidentState, Sequence[Command]], list[Event]]
) -> list[Event]:
    """One event per step, in order. Alert commands replace nothing and need no declared
    incident (they may land in the inbox), so each is planned on an empty state."""
    return [maker(IncidentState(incident_id=s.incident_id), [s.command])[0] for s in decision.steps]


def table_changes(
    decision: Decision, events: Sequence[Event]
) -> tuple[list[Row], list[tuple[str, str, str]]]:
    """What the `alerts` table learns from the events written: new rows, and
    (resolved_id, fingerprint, starts_at) for rows whose firing has now ended."""
    rows: list[Row] = []
    ended: list[tuple[str, str, str]] = []
    for step, event in zip(decision.steps, events, strict=True):
        command = step.command
        if isinstance(command, ReceiveAlert):
            resolved = event.id if command.ends_at is not None else None
            rows.append(Row(step.fingerprint, step.starts_at, step.incident_id, event.id, resolved))
        elif step.row is not None:
            ended.append((event.id, step.fingerprint, step.starts_at))
        else:
            received = step.received_id or event.id
            rows.append(Row(step.fingerprint, step.starts_at, step.incident_id, received, event.id))
    return rows, ended
