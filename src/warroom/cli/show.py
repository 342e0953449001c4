"""Reading commands: `list` and `show`, as text for people or JSON for scripts."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

import click

from warroom.cli.context import Ctx, incident_option, pass_ctx
from warroom.core import clock
from warroom.core.describe import label, summarize
from warroom.core.policy import Policy
from warroom.core.state import IncidentState
from warroom.core.text import one_line


def summary(state: IncidentState, policy: Policy, now: datetime) -> dict[str, Any]:
    """The incident at a glance, as plain data (the JSON of `list` and `show`)."""
    cad = clock.cadence(state, policy, now)
    esc = clock.escalation(state, policy, now)
    return {
        "id": state.incident_id,
        "title": state.title.value,
        "severity": state.current_severity,
        "status": state.current_status,
        "impact": state.impact.value,
        "components": state.components.value or [],
        "declared_at": state.declared_at.isoformat() if state.declared_at else None,
        "declared_by": state.declared_by,
        "roles": {
            role.key: (
                {"person": h.value, "since": h.time.isoformat()}
                if (h := state.holder(role.key))
                else None
            )
            for role in policy.roles
        },
        "next_update_due": cad.due_at.isoformat() if cad.due_at else None,
        "cadence": cad.level,
        "escalation_level": esc.step.level if esc else None,
        "escalation_contacts": esc.people if esc else [],
        "events": state.event_count,
        "conflicts": len(state.conflicts()),
    }


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--open", "only_open", is_flag=True, help="Only incidents that are not resolved.")
@pass_ctx
def list_(ctx: Ctx, as_json: bool, only_open: bool) -> None:
    """List incidents, newest first."""
    now = ctx.now()
    rows = []
    for incident_id in ctx.log.timeline.incident_ids():
        state = ctx.state(incident_id)
        if only_open and state.is_resolved:
            continue
        rows.append(summary(state, ctx.policy, now))
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no incidents yet: declare one with `warroom declare TITLE --severity SEV2`")
        return
    tz = ctx.settings.tz
    click.echo(f"{'ID':26}  {'SEV':4}  {'STATUS':13}  {'DECLARED':16}  {'IC':14}  TITLE")
    for row in rows:
        declared = (
            datetime.fromisoformat(row["declared_at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M")
            if row["declared_at"]
            else "—"
        )
        ic = (row["roles"].get("incident_commander") or {}).get("person", "—")
        click.echo(
            f"{row['id']:26}  {row['severity']:4}  {row['status']:13}  {declared:16}  "
            f"{one_line(ic, 14):14}  {one_line(row['title'] or '', 60)}"
        )


@click.command()
@click.argument("incident_arg", metavar="[ID]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--last", "last", default=15, show_default=True, help="Timeline events shown.")
@incident_option
@pass_ctx
def show(
    ctx: Ctx, incident_arg: str | None, as_json: bool, last: int, incident_ref: str | None
) -> None:
    """Show an incident: state, roles, cadence, escalation, metrics, recent timeline."""
    incident = ctx.incident(incident_arg or incident_ref)
    state = ctx.state(incident)
    now, policy, tz = ctx.now(), ctx.policy, ctx.settings.tz
    data = summary(state, policy, now)
    if as_json:
        data["metrics"] = {
            m.name: {
                "seconds": m.value.total_seconds() if m.value else None,
                "target_seconds": m.target.total_seconds() if m.target else None,
                "running": m.running,
                "met": m.met,
            }
            for m in clock.metrics(state, policy, now)
        }
        data["action_items"] = [asdict(i) for i in state.action_items]
        data["checklist"] = {item: state.checked(item) for item in policy.checklist}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return

    def when(at: datetime | None) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z") if at else "—"

    elapsed = clock.format_duration(now - state.declared_at) if state.declared_at else "—"
    echo = click.echo
    echo(f"{state.current_severity} · {state.current_status.upper()} · {one_line(data['title'])}")
    echo(
        f"  id {incident} · declared {when(state.declared_at)} by {state.declared_by} "
        f"· elapsed {elapsed}"
    )
    if state.impact.value:
        echo(f"  impact: {one_line(state.impact.value)}")
    if state.components.value:
        echo(f"  components: {one_line(', '.join(state.components.value))}")
    echo("")
    echo("Roles")
    for role in policy.roles:
        h = state.holder(role.key)
        holder = f"{one_line(h.value)} since {when(h.time)}" if h else "— unassigned"
        echo(f"  {role.name:20} {holder}")
    cad = clock.cadence(state, policy, now)
    echo("")
    if cad.level == "stopped":
        echo("Updates: cadence stopped (resolved)")
    else:
        when_due = when(cad.due_at)
        left = clock.format_duration(cad.remaining)
        state_word = {"ok": "due in", "amber": "due SOON, in", "overdue": "OVERDUE by"}[cad.level]
        amount = clock.format_duration(-cad.remaining) if cad.level == "overdue" else left
        echo(
            f"Updates: every {clock.format_duration(cad.every)}; next {when_due} "
            f"({state_word} {amount}); last {when(cad.last_update_at)}"
        )
    esc = clock.escalation(state, policy, now)
    if esc:
        echo(
            f"Escalation: level {esc.step.level} after {clock.format_duration(esc.elapsed)} "
            f"→ {', '.join(esc.people)} ({esc.step.notify})"
        )
    mets = "  ".join(
        f"{m.name} {clock.format_duration(m.value)}"
        + (f"/{clock.format_duration(m.target)}" if m.target else "")
        + ("…" if m.running else "")
        for m in clock.metrics(state, policy, now)
    )
    echo(f"Metrics: {mets}")
    for conflict in state.conflicts():
        sides = " vs ".join(f"{one_line(str(e.value))} ({e.actor})" for e in conflict.entries)
        echo(f"Conflict on {conflict.field}: {sides}; kept {one_line(str(conflict.winner.value))}")
    for t in state.transitions():
        if t.warning:
            echo(f"Note: status {t.warning} ({t.actor}, {when(t.at)})")
    echo("")
    total = ctx.log.timeline.count(incident)
    events = ctx.log.timeline.page(incident, max(total - last, 0), last) if last > 0 else []
    echo(f"Timeline (last {len(events)} of {total})")
    for e in events:
        pin = "📌" if state.is_pinned(e.id) else "  "
        echo(
            f" {pin}{e.time.astimezone(tz):%H:%M:%S}  {one_line(e.actor, 12):12}  "
            f"{label(e.kind):11}  {summarize(e, 100)}"
        )


COMMANDS = [list_, show]
