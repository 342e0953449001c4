"""`alerts` and `attach`: the alert inbox and an incident's alerts, from the command line.

Alerts reach this machine's log through sync (the server receives them); these commands read
the alert board (`warroom.core.alerts`) and write through the command layer like any other.
`warroom declare --from-alert` lives with `declare` (incident.py) and uses `find_alert`.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

import click

from warroom.cli.context import Ctx, Failure, incident_option, pass_ctx
from warroom.cli.show import local, to_json
from warroom.core import clock
from warroom.core.alerts import INBOX, Alert, AlertBoard
from warroom.core.text import one_line


def find_alert(board: AlertBoard, ref: str) -> Alert:
    """The alert a fingerprint (or a unique prefix of it) names; one line if none does."""
    try:
        return board.find(ref)
    except LookupError as exc:
        raise Failure(str(exc)) from None


def alert_data(alert: Alert) -> dict[str, Any]:
    """One alert as plain data (the JSON of `alerts`)."""
    return {
        "fingerprint": alert.fingerprint,
        "name": alert.name,
        "state": alert.state,
        "firing": alert.firing,
        "starts_at": alert.starts_at.isoformat() if alert.starts_at else None,
        "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
        "received_at": alert.received_at.isoformat(),
        "where": "inbox" if alert.in_inbox else alert.incident_id,
        "severity": alert.severity,
        "service": alert.service,
        "summary": alert.summary,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "links": dict(alert.links),
        "group_key": alert.group_key,
        "source": alert.source,
        "silenced": alert.silenced,
        "silence_reason": alert.silence_reason,
        "silenced_by": alert.silenced_by,
        "attached_by": alert.attached_by,
    }


def _current(ctx: Ctx, ref: str | None) -> str | None:
    """The incident the command is about, or None when there is none yet (the inbox only)."""
    if ref is None and not ctx.incident_ref and not ctx.log.timeline.incident_ids():
        return None
    return ctx.incident(ref)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--firing", is_flag=True, help="Only alerts that still fire.")
@click.option("--silenced", is_flag=True, help="Also the inbox's silenced alerts.")
@incident_option
@pass_ctx
def alerts(ctx: Ctx, as_json: bool, firing: bool, silenced: bool, incident_ref: str | None) -> None:
    """The alert inbox and the current incident's alerts (firing first, newest first).

    Alerts come from Alertmanager or Grafana through the shared server (sync); those that
    matched no open incident wait in the inbox. From there: `warroom declare --from-alert
    FINGERPRINT` or `warroom attach FINGERPRINT` (a unique prefix is enough).
    """
    board = ctx.log.alerts()
    incident = _current(ctx, incident_ref)
    state = ctx.state(incident) if incident else None

    def chosen(rows: list[Alert]) -> list[Alert]:
        return [a for a in rows if a.firing] if firing else rows

    inbox = chosen(board.inbox(silenced=silenced))
    mine = chosen(board.of_incident(incident)) if incident else []
    if as_json:
        data: dict[str, Any] = {"inbox": [alert_data(a) for a in inbox], "incident": None}
        if state is not None:
            data["incident"] = {
                "id": state.incident_id,
                "title": state.title.value,
                "alerts": [alert_data(a) for a in mine],
            }
        click.echo(to_json(data))
        return
    now, tz = ctx.now(), ctx.settings.tz
    click.echo(f"Inbox: {_count(inbox)}")
    _table(inbox, now, tz)
    if state is not None:
        title = one_line(state.title.value or "Untitled", 60)
        click.echo(f"\nIncident {state.incident_id[-6:]} {title}: {_count(mine)}")
        _table(mine, now, tz)
    if any(a.firing and not a.silenced for a in inbox):
        click.echo(
            "\nDeclare from one: warroom declare --from-alert FINGERPRINT;"
            " attach one: warroom attach FINGERPRINT",
            err=True,
        )


def _count(rows: list[Alert]) -> str:
    if not rows:
        return "no alerts"
    firing = sum(1 for a in rows if a.firing)
    return f"{firing} firing, {len(rows) - firing} resolved"


def _table(rows: list[Alert], now: datetime, tz: tzinfo) -> None:
    from warroom.cells import cut, fit

    if not rows:
        return
    click.echo(
        f"  {'STATE':9} {'FINGERPRINT':16}  {'SEVERITY':9} {'ALERT':24} {'SERVICE':12}"
        f" {'SINCE':17} SUMMARY"
    )
    for a in rows:
        ago = clock.format_duration(now - a.since)
        since = f"{local(a.since, tz, seconds=False)[11:16]} ({ago})"
        click.echo(
            f"  {fit(a.state, 9)} {fit(a.fingerprint or '—', 16)}  {fit(a.severity, 9)}"
            f" {fit(a.name, 24)} {fit(a.service, 12)} {fit(since, 17)} {cut(a.summary, 60)}"
        )


@click.command()
@click.argument("fingerprint")
@incident_option
@pass_ctx
def attach(ctx: Ctx, fingerprint: str, incident_ref: str | None) -> None:
    """Attach an alert (its fingerprint, or a unique prefix) to the incident: it leaves the
    inbox and counts among the incident's alerts (firing count, resolution checklist)."""
    from warroom.cli.context import build
    from warroom.core.commands import AttachAlert

    alert = find_alert(ctx.log.alerts(), fingerprint)
    incident = ctx.incident(incident_ref)
    if alert.incident_id == incident:
        raise Failure(f"{one_line(alert.name)} is already attached to incident {incident[-6:]}")
    if alert.starts_at is None:
        raise Failure(f"{one_line(alert.name)} has no start time: it cannot be attached")
    command = build(
        AttachAlert,
        fingerprint=alert.fingerprint,
        starts_at=alert.starts_at,
        name=alert.name[:200],
        summary=alert.summary,
    )
    (event,) = ctx.run(incident, command)
    came = "the inbox" if alert.incident_id == INBOX else f"incident {alert.incident_id[-6:]}"
    state = "firing" if alert.firing else "resolved"
    click.echo(
        f"{one_line(alert.name)} ({state}) attached to incident {incident[-6:]}, from {came}"
        f" ({event.id[-6:]})"
    )


def declared_from_alert(ctx: Ctx, ref: str, **form: Any) -> tuple[Alert, list[Any]]:
    """Declare an incident from an alert (`declare --from-alert`); the alert and the events."""
    from warroom.core.commands import CommandError, Context, declare_from_alert

    alert = find_alert(ctx.log.alerts(), ref)
    if not alert.in_inbox:
        where = f"incident {alert.incident_id[-6:]}"
        raise Failure(
            f"{one_line(alert.name)} is already part of {where}: open it (warroom show"
            f" {alert.incident_id[-6:]}), or declare without --from-alert"
        )
    try:
        commands = declare_from_alert(
            alert, Context(ctx.policy, ctx.now(), ctx.settings.tz), **form
        )
    except CommandError as exc:
        raise Failure(str(exc)) from None
    return alert, ctx.run(None, *commands)


COMMANDS = [alerts, attach]
