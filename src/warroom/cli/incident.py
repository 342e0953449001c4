"""Commands that record something: each carries out one typed command (or a few).

Option values go into `warroom.core.commands` as they were typed; names (`P1`, `comms`) and
rules (a role nobody holds, a milestone in the future) are checked there, inside the append
transaction, so the CLI, the console and the server agree on what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import click

from warroom.cli.context import Ctx, Failure, build, incident_option, pass_ctx
from warroom.core.commands import (
    AddActionItem,
    AddNote,
    AssignRole,
    ChangeSeverity,
    ChangeStatus,
    CheckItem,
    Declare,
    DescribeImpact,
    PostUpdate,
    ReleaseRole,
    Rename,
    SetMilestone,
    SetPostmortem,
)
from warroom.core.events import Event
from warroom.core.policy import MILESTONES, POSTMORTEM_FIELDS, parse_status
from warroom.core.state import transition_warning
from warroom.core.text import one_line
from warroom.core.timeparse import parse_date, parse_duration, parse_when

T = TypeVar("T")


def _done(event: Event, text: str) -> None:
    click.echo(f"{text} ({event.id[-6:]})")


def _parsed(parse: Callable[..., T], *args: Any) -> T:
    try:
        return parse(*args)
    except ValueError as exc:
        raise Failure(str(exc)) from None


@click.command()
@click.argument("title", required=False)
@click.option("--severity", "-s", help="SEV1..SEV4 (P0..P3 accepted).")
@click.option("--impact", default="", help="What is broken, for whom.")
@click.option("--component", "components", multiple=True, help="Affected component (repeatable).")
@click.option("--ic", "ic", metavar="PERSON", help="Incident Commander (default: you).")
@click.option("--no-ic", is_flag=True, help="Do not assign an Incident Commander yet.")
@click.option(
    "--from-alert",
    "from_alert",
    metavar="FINGERPRINT",
    help="Declare from an inbox alert (its fingerprint or a unique prefix): title, severity"
    " and component come from it unless given, its start is impact_started and when warroom"
    " first heard of it is detected; the alert is attached.",
)
@pass_ctx
def declare(
    ctx: Ctx,
    title: str | None,
    severity: str | None,
    impact: str,
    components: tuple[str, ...],
    ic: str | None,
    no_ic: bool,
    from_alert: str | None,
) -> None:
    """Declare a new incident (TITLE and --severity, or --from-alert); prints its id."""
    if ic and no_ic:
        raise click.UsageError("give --ic or --no-ic, not both")
    commander = None if no_ic else (ic or ctx.actor)
    if from_alert:
        from warroom.cli.alerts_cmds import declared_from_alert

        alert, events = declared_from_alert(
            ctx,
            from_alert,
            commander=commander,
            title=title,
            severity=severity,
            impact=impact,
            components=components or None,
        )
        level = events[0].payload["severity"]
        click.echo(f"declared from {one_line(alert.name)} ({level}):", err=True)
        click.echo(events[0].incident_id)
        return
    if not title:
        raise click.UsageError("give a TITLE (or --from-alert FINGERPRINT)")
    if not severity:
        raise click.UsageError("give --severity SEV1..SEV4 (or --from-alert FINGERPRINT)")
    command = build(
        Declare,
        title=title,
        severity=severity,
        impact=impact,
        components=components,
        commander=commander,
    )
    events = ctx.run(None, command)
    click.echo(events[0].incident_id)


@click.command()
@click.argument("text")
@click.option("--pin", is_flag=True, help="Pin the note in the timeline.")
@incident_option
@pass_ctx
def note(ctx: Ctx, text: str, pin: bool, incident_ref: str | None) -> None:
    """Add a note to the timeline."""
    command = build(AddNote, text=text, pinned=pin)
    (event,) = ctx.run(ctx.incident(incident_ref), command)
    _done(event, "noted" + (" and pinned" if pin else ""))


@click.command()
@click.argument("status")
@click.option("--reason", default="", help="Why, for the timeline.")
@incident_option
@pass_ctx
def status(ctx: Ctx, status: str, reason: str, incident_ref: str | None) -> None:
    """Set the status: investigating, identified, monitoring, resolved."""
    new = _parsed(parse_status, status)
    incident = ctx.incident(incident_ref)
    warning = transition_warning(ctx.state(incident).current_status, new.value)
    (event,) = ctx.run(incident, build(ChangeStatus, status=new, reason=reason))
    if warning:
        click.echo(f"warning: {warning} (recorded anyway)", err=True)
    firing = ctx.log.alerts().firing(incident) if new.value == "resolved" else []
    if firing:
        names = ", ".join(one_line(a.name, 40) for a in firing[:5])
        more = f" and {len(firing) - 5} more" if len(firing) > 5 else ""
        click.echo(f"warning: {len(firing)} alert(s) still firing: {names}{more}", err=True)
    _done(event, f"status is {new.value}")


@click.command()
@click.argument("severity")
@click.option("--reason", default="", help="Why, for the timeline.")
@incident_option
@pass_ctx
def severity(ctx: Ctx, severity: str, reason: str, incident_ref: str | None) -> None:
    """Change the severity (SEV1..SEV4, P0..P3)."""
    level = _parsed(ctx.policy.severity, severity)
    incident = ctx.incident(incident_ref)
    (event,) = ctx.run(incident, build(ChangeSeverity, severity=level.name, reason=reason))
    every = level.update_every.total_seconds() / 60
    _done(event, f"severity is {level.name} ({level.label}); updates every {every:g} min")


@click.command()
@click.argument("role")
@click.argument("person")
@incident_option
@pass_ctx
def assign(ctx: Ctx, role: str, person: str, incident_ref: str | None) -> None:
    """Give a role to a person (ic, tech_lead, comms_lead, scribe, ...)."""
    role_def = _parsed(ctx.policy.role, role)
    incident = ctx.incident(incident_ref)
    (event,) = ctx.run(incident, build(AssignRole, role=role_def.key, person=person))
    _done(event, f"{event.payload['person']} is {role_def.name}")


@click.command()
@click.argument("role")
@incident_option
@pass_ctx
def release(ctx: Ctx, role: str, incident_ref: str | None) -> None:
    """Release a role (nobody holds it afterwards)."""
    role_def = _parsed(ctx.policy.role, role)
    (event,) = ctx.run(ctx.incident(incident_ref), build(ReleaseRole, role=role_def.key))
    holder = event.payload["person"]
    _done(event, f"{role_def.name} released by {ctx.actor} (was {holder})")


@click.command()
@click.argument("name", type=click.Choice(MILESTONES, case_sensitive=False))
@click.option("--at", "at", default="now", help="When: now, 14:05, -15m, or ISO 8601.")
@incident_option
@pass_ctx
def milestone(ctx: Ctx, name: str, at: str, incident_ref: str | None) -> None:
    """Record a milestone (back-datable with --at)."""
    moment = _parsed(parse_when, at, ctx.now(), ctx.settings.tz)
    command = build(SetMilestone, milestone=name.lower(), at=moment)
    (event,) = ctx.run(ctx.incident(incident_ref), command)
    local = moment.astimezone(ctx.settings.tz)
    _done(event, f"{name.lower().replace('_', ' ')} at {local:%Y-%m-%d %H:%M:%S %Z}")


@click.command("action-item")
@click.argument("text")
@click.option("--owner", required=True, help="Who owns it.")
@click.option("--due", default=None, help="Due date: 2026-12-01, tomorrow, +7d.")
@incident_option
@pass_ctx
def action_item(ctx: Ctx, text: str, owner: str, due: str | None, incident_ref: str | None) -> None:
    """Record a follow-up action item for the postmortem."""
    today = ctx.now().astimezone(ctx.settings.tz).date()
    due_date: date | None = _parsed(parse_date, due, today) if due else None
    command = build(AddActionItem, text=text, owner=owner, due=due_date)
    (event,) = ctx.run(ctx.incident(incident_ref), command)
    _done(event, "action item recorded")


@click.command()
@click.argument("body")
@click.option(
    "--audience", default="internal", help="internal, stakeholders, status-page, customers"
)
@click.option("--template", default="", help="Template the text came from.")
@click.option("--next", "next_in", default=None, help="Next update in (30m); default: the cadence.")
@incident_option
@pass_ctx
def update(
    ctx: Ctx, body: str, audience: str, template: str, next_in: str | None, incident_ref: str | None
) -> None:
    """Record a posted stakeholder update (restarts the update cadence)."""
    every = _parsed(parse_duration, next_in) if next_in else None
    command = build(PostUpdate, body=body, audience=audience, template=template, next_in=every)
    (event,) = ctx.run(ctx.incident(incident_ref), command)
    due = event.payload["next_update_at"]
    local = _parsed(parse_when, due, ctx.now(), ctx.settings.tz).astimezone(ctx.settings.tz)
    _done(event, f"update recorded; next update due {local:%H:%M %Z}")


@click.command()
@click.argument("item")
@click.option("--uncheck", is_flag=True, help="Clear the item instead.")
@incident_option
@pass_ctx
def check(ctx: Ctx, item: str, uncheck: bool, incident_ref: str | None) -> None:
    """Tick an item of the resolution checklist (by number or text)."""
    chosen = _pick(item, [*ctx.policy.checklist, *ctx.policy.post_resolution])
    command = build(CheckItem, item=chosen, checked=not uncheck)
    (event,) = ctx.run(ctx.incident(incident_ref), command)
    _done(event, ("☐ " if uncheck else "☑ ") + chosen)


def _pick(ref: str, items: list[str]) -> str:
    """An item by its number (1..N) or by words unique to it."""
    listing = "; ".join(f"{n}. {i}" for n, i in enumerate(items, 1))
    if ref.strip().isdigit() and ref.strip().isascii():
        number = int(ref)
        if 1 <= number <= len(items):
            return items[number - 1]
        raise Failure(f"there is no checklist item {number}: {listing}")
    words = ref.lower().split()
    hits = [i for i in items if words and all(w in i.lower() for w in words)]
    if len(hits) == 1:
        return hits[0]
    raise Failure(f"{ref!r} is not one checklist item: {listing}")


@click.command()
@click.argument("field", type=click.Choice(list(POSTMORTEM_FIELDS), case_sensitive=False))
@click.argument("text")
@incident_option
@pass_ctx
def postmortem(ctx: Ctx, field: str, text: str, incident_ref: str | None) -> None:
    """Write a postmortem section (summary, root_cause, went_well, ...)."""
    command = build(SetPostmortem, field=field.lower(), value=text)
    (event,) = ctx.run(ctx.incident(incident_ref), command)
    _done(event, f"{POSTMORTEM_FIELDS[field.lower()]} saved")


@click.command()
@click.argument("title")
@incident_option
@pass_ctx
def title(ctx: Ctx, title: str, incident_ref: str | None) -> None:
    """Rename the incident."""
    (event,) = ctx.run(ctx.incident(incident_ref), build(Rename, title=title))
    _done(event, "title changed")


@click.command()
@click.argument("impact")
@incident_option
@pass_ctx
def impact(ctx: Ctx, impact: str, incident_ref: str | None) -> None:
    """Describe the current customer impact."""
    (event,) = ctx.run(ctx.incident(incident_ref), build(DescribeImpact, impact=impact))
    _done(event, "impact updated")


COMMANDS = [
    declare,
    note,
    status,
    severity,
    assign,
    release,
    milestone,
    action_item,
    update,
    check,
    postmortem,
    title,
    impact,
]
