"""Reading commands: `list` and `show`, as text for people or JSON for scripts.

Everything from outside (titles, names, notes) is cleaned and fitted in terminal cells
(`warroom.cells`, imported inside the commands: Rich loads only when a table is drawn),
so a CJK name or a bidi override never shifts a column; JSON keeps the data exact but
writes invisible and control characters as \\u escapes.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict
from datetime import UTC, datetime, tzinfo
from typing import Any

import click

from warroom.cli.context import Ctx, incident_option, pass_ctx
from warroom.core import clock
from warroom.core.describe import label, summarize
from warroom.core.policy import Policy
from warroom.core.state import IncidentState
from warroom.core.text import one_line

MAX_LAST = 1_000_000
_NON_ASCII = re.compile(r"[^\x20-\x7e\n]")


def to_json(data: Any) -> str:
    """Indented JSON that a terminal shows as written: readable text (CJK, emoji) stays,
    controls, bidi and other invisible characters become \\u escapes (JSON escapes C0
    itself; these can only sit inside strings, so the data is unchanged)."""

    def escape(match: re.Match[str]) -> str:
        char = match[0]
        if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return char
        data = char.encode("utf-16-be", "surrogatepass")
        return "".join(f"\\u{data[i]:02x}{data[i + 1]:02x}" for i in range(0, len(data), 2))

    return _NON_ASCII.sub(escape, json.dumps(data, indent=2, ensure_ascii=False))


def local(at: datetime | None, tz: tzinfo, seconds: bool = True) -> str:
    """`2026-11-22 14:05:00 CET`; in UTC where the local date would pass year 9999 or
    precede year 1 (a stored value from a buggy peer), and always a four-digit year."""
    if at is None:
        return "—"
    moment = at
    for zone in (tz, UTC):
        try:
            moment = at.astimezone(zone)
            break
        except (OverflowError, ValueError):
            continue
    pattern = "%m-%d %H:%M:%S %Z" if seconds else "%m-%d %H:%M %Z"
    return f"{moment.year:04d}-{moment.strftime(pattern)}".rstrip()


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
        click.echo(to_json(rows))
        return
    if not rows:
        click.echo("no incidents yet: declare one with `warroom declare TITLE --severity SEV2`")
        return
    from warroom.cells import cut, fit

    tz = ctx.settings.tz
    click.echo(f"{'ID':26}  {'SEV':4}  {'STATUS':13}  {'DECLARED':16}  {'IC':14}  TITLE")
    for row in rows:
        at = row["declared_at"]
        declared = local(datetime.fromisoformat(at), tz, seconds=False)[:16] if at else "—"
        ic = (row["roles"].get("incident_commander") or {}).get("person", "—")
        click.echo(
            f"{row['id']:26}  {fit(row['severity'], 4)}  {fit(row['status'], 13)}  "
            f"{declared:16}  {fit(ic, 14)}  {cut(row['title'] or '', 60)}"
        )


@click.command()
@click.argument("incident_arg", metavar="[ID]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--last",
    "last",
    default=15,
    show_default=True,
    type=click.IntRange(0, MAX_LAST),
    help="Timeline events shown (0 to 1,000,000; the whole log: `warroom export -f csv`).",
)
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
        click.echo(to_json(data))
        return
    from warroom.cells import cut, fit

    def when(at: datetime | None) -> str:
        return local(at, tz)

    resolved = clock.resolved_at(state)
    if state.declared_at is None:
        ran = "elapsed —"
    elif resolved is not None:
        ran = f"resolved after {clock.format_duration(resolved - state.declared_at)}"
    else:
        ran = f"elapsed {clock.format_duration(now - state.declared_at)}"
    echo = click.echo
    echo(
        f"{state.current_severity} · {state.current_status.upper()} · "
        f"{one_line(data['title'] or 'Untitled')}"
    )
    echo(
        f"  id {incident} · declared {when(state.declared_at)} "
        f"by {one_line(state.declared_by or '—')} · {ran}"
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
        echo(f"  {fit(role.name, 20)} {holder}")
    cad = clock.cadence(state, policy, now)
    echo("")
    if cad.level == "stopped":
        echo("Updates: cadence stopped (resolved)")
    else:
        when_due = when(cad.due_at)
        left = clock.format_duration(cad.remaining)
        state_word = {"ok": "due in", "amber": "due SOON, in", "overdue": "OVERDUE by"}[cad.level]
        overdue = cad.level == "overdue" and cad.remaining is not None
        amount = clock.format_duration(-cad.remaining) if overdue and cad.remaining else left
        echo(
            f"Updates: every {clock.format_duration(cad.every)}; next {when_due} "
            f"({state_word} {amount}); last {when(cad.last_update_at)}"
        )
    esc = clock.escalation(state, policy, now)
    if esc:
        echo(
            f"Escalation: level {esc.step.level} after {clock.format_duration(esc.elapsed)} "
            f"→ {one_line(', '.join(esc.people))} ({one_line(esc.step.notify)})"
        )
    mets = "  ".join(f"{m.name} {m.shown}" for m in clock.metrics(state, policy, now))
    echo(f"Metrics: {mets}")
    for conflict in state.conflicts():
        sides = " vs ".join(
            f"{one_line(str(e.value))} ({one_line(e.actor)})" for e in conflict.entries
        )
        echo(f"Conflict on {conflict.field}: {sides}; kept {one_line(str(conflict.winner.value))}")
    for t in state.transitions():
        if t.warning:
            echo(f"Note: status {t.warning} ({one_line(t.actor)}, {when(t.at)})")
    echo("")
    total = ctx.log.timeline.count(incident)
    events = ctx.log.timeline.page(incident, max(total - last, 0), last) if last > 0 else []
    echo(f"Timeline (last {len(events)} of {total})")
    by_id = {e.id: e for e in events}
    for e in events:
        pin = "📌" if state.is_pinned(e.id) else "  "
        echo(
            f" {pin}{e.time.astimezone(tz):%H:%M:%S}  {fit(e.actor, 12)}  "
            f"{fit(label(e.kind), 11)}  {cut(summarize(e, 400, lookup=by_id.get), 100)}"
        )


COMMANDS = [list_, show]
