"""Commands that record something: each appends one event (or a few) to the log."""

from __future__ import annotations

from typing import Any

import click

from warroom.cli.context import Ctx, Failure, incident_option, pass_ctx
from warroom.core.events import PayloadError
from warroom.core.ids import new_id
from warroom.core.policy import MILESTONES, POSTMORTEM_FIELDS, parse_status
from warroom.core.state import transition_warning
from warroom.core.timeparse import parse_date, parse_duration, parse_when


def _done(event_id: str, text: str) -> None:
    click.echo(f"{text} ({event_id[-6:]})")


@click.command()
@click.argument("title")
@click.option("--severity", "-s", required=True, help="SEV1..SEV4 (P0..P3 accepted).")
@click.option("--impact", default="", help="What is broken, for whom.")
@click.option("--component", "components", multiple=True, help="Affected component (repeatable).")
@click.option("--ic", "ic", metavar="PERSON", help="Incident Commander (default: you).")
@click.option("--no-ic", is_flag=True, help="Do not assign an Incident Commander yet.")
@pass_ctx
def declare(
    ctx: Ctx,
    title: str,
    severity: str,
    impact: str,
    components: tuple[str, ...],
    ic: str | None,
    no_ic: bool,
) -> None:
    """Declare a new incident; prints its id."""
    try:
        level = ctx.policy.severity(severity)
    except ValueError as exc:
        raise Failure(str(exc)) from None
    items: list[tuple[str, dict[str, Any]]] = [
        (
            "declared",
            {
                "title": title,
                "severity": level.name,
                "impact": impact,
                "components": list(components),
            },
        )
    ]
    if not no_ic:
        items.append(("role_assigned", {"role": "incident_commander", "person": ic or ctx.actor}))
    try:
        events = ctx.log.append_many(new_id(), items, ctx.actor)
    except PayloadError as exc:
        raise Failure(str(exc)) from None
    click.echo(events[0].incident_id)


@click.command()
@click.argument("text")
@click.option("--pin", is_flag=True, help="Pin the note in the timeline.")
@incident_option
@pass_ctx
def note(ctx: Ctx, text: str, pin: bool, incident_ref: str | None) -> None:
    """Add a note to the timeline."""
    incident = ctx.incident(incident_ref)
    event = ctx.append(incident, "note", {"text": text, "pinned": pin})
    _done(event.id, "noted" + (" and pinned" if pin else ""))


@click.command()
@click.argument("status")
@click.option("--reason", default="", help="Why, for the timeline.")
@incident_option
@pass_ctx
def status(ctx: Ctx, status: str, reason: str, incident_ref: str | None) -> None:
    """Set the status: investigating, identified, monitoring, resolved."""
    try:
        new = parse_status(status)
    except ValueError as exc:
        raise Failure(str(exc)) from None
    incident = ctx.incident(incident_ref)
    state = ctx.state(incident)
    warning = transition_warning(state.current_status, new.value)
    event = ctx.append(
        incident,
        "status_changed",
        {"status": new.value, "reason": reason},
    )
    if warning:
        click.echo(f"warning: {warning} (recorded anyway)", err=True)
    _done(event.id, f"status is {new.value}")


@click.command()
@click.argument("severity")
@click.option("--reason", default="", help="Why, for the timeline.")
@incident_option
@pass_ctx
def severity(ctx: Ctx, severity: str, reason: str, incident_ref: str | None) -> None:
    """Change the severity (SEV1..SEV4, P0..P3)."""
    try:
        level = ctx.policy.severity(severity)
    except ValueError as exc:
        raise Failure(str(exc)) from None
    incident = ctx.incident(incident_ref)
    payload = {"severity": level.name, "reason": reason}
    event = ctx.append(incident, "severity_changed", payload)
    every = level.update_every.total_seconds() / 60
    _done(event.id, f"severity is {level.name} ({level.label}); updates every {every:g} min")


@click.command()
@click.argument("role")
@click.argument("person")
@incident_option
@pass_ctx
def assign(ctx: Ctx, role: str, person: str, incident_ref: str | None) -> None:
    """Give a role to a person (ic, tech_lead, comms_lead, scribe, ...)."""
    try:
        role_def = ctx.policy.role(role)
    except ValueError as exc:
        raise Failure(str(exc)) from None
    incident = ctx.incident(incident_ref)
    payload = {
        "role": role_def.key,
        "person": person,
    }
    event = ctx.append(incident, "role_assigned", payload)
    _done(event.id, f"{person} is {role_def.name}")


@click.command()
@click.argument("role")
@incident_option
@pass_ctx
def release(ctx: Ctx, role: str, incident_ref: str | None) -> None:
    """Release a role (nobody holds it afterwards)."""
    try:
        role_def = ctx.policy.role(role)
    except ValueError as exc:
        raise Failure(str(exc)) from None
    incident = ctx.incident(incident_ref)
    holder = ctx.state(incident).holder(role_def.key)
    if holder is None:
        raise Failure(f"nobody holds {role_def.name}")
    payload = {"role": role_def.key, "person": holder.value, "replaces": holder.id}
    event = ctx.append(incident, "role_released", payload)
    _done(event.id, f"{role_def.name} released by {holder.value}")


@click.command()
@click.argument("name", type=click.Choice(MILESTONES, case_sensitive=False))
@click.option("--at", "at", default="now", help="When: now, 14:05, -15m, or ISO 8601.")
@incident_option
@pass_ctx
def milestone(ctx: Ctx, name: str, at: str, incident_ref: str | None) -> None:
    """Record a milestone (back-datable with --at)."""
    try:
        moment = parse_when(at, ctx.now(), ctx.settings.tz)
    except ValueError as exc:
        raise Failure(str(exc)) from None
    incident = ctx.incident(incident_ref)
    payload = {
        "milestone": name.lower(),
        "at": moment.isoformat(),
    }
    event = ctx.append(incident, "milestone_set", payload)
    _done(event.id, f"{name.lower().replace('_', ' ')} at {moment:%Y-%m-%d %H:%M:%S %Z}")


@click.command("action-item")
@click.argument("text")
@click.option("--owner", default="", help="Who owns it.")
@click.option("--due", default=None, help="Due date: 2026-12-01, tomorrow, +7d.")
@incident_option
@pass_ctx
def action_item(ctx: Ctx, text: str, owner: str, due: str | None, incident_ref: str | None) -> None:
    """Record a follow-up action item for the postmortem."""
    try:
        due_date = parse_date(due, ctx.now().astimezone(ctx.settings.tz).date()) if due else None
    except ValueError as exc:
        raise Failure(str(exc)) from None
    incident = ctx.incident(incident_ref)
    payload = {"text": text, "owner": owner, "due": due_date.isoformat() if due_date else None}
    event = ctx.append(incident, "action_item", payload)
    _done(event.id, "action item recorded")


@click.command()
@click.argument("body")
@click.option("--audience", default="internal", help="internal, status-page, customers, ...")
@click.option("--template", default="", help="Template the text came from.")
@click.option("--next", "next_in", default=None, help="Next update in (30m); default: the cadence.")
@incident_option
@pass_ctx
def update(
    ctx: Ctx, body: str, audience: str, template: str, next_in: str | None, incident_ref: str | None
) -> None:
    """Record a posted stakeholder update (restarts the update cadence)."""
    incident = ctx.incident(incident_ref)
    state = ctx.state(incident)
    try:
        every = (
            parse_duration(next_in)
            if next_in
            else ctx.policy.severity(state.current_severity).update_every
        )
    except ValueError as exc:
        raise Failure(str(exc)) from None
    next_at = ctx.now() + every
    payload = {
        "audience": audience,
        "template": template,
        "body": body,
        "next_update_at": next_at.isoformat(),
    }
    event = ctx.append(incident, "update_posted", payload)
    local = next_at.astimezone(ctx.settings.tz)
    _done(event.id, f"update recorded; next update due {local:%H:%M %Z}")


@click.command()
@click.argument("item")
@click.option("--uncheck", is_flag=True, help="Clear the item instead.")
@incident_option
@pass_ctx
def check(ctx: Ctx, item: str, uncheck: bool, incident_ref: str | None) -> None:
    """Tick an item of the resolution checklist (by number or text)."""
    items = [*ctx.policy.checklist, *ctx.policy.post_resolution]
    chosen = _pick(item, items)
    incident = ctx.incident(incident_ref)
    payload = {
        "item": chosen,
        "checked": not uncheck,
    }
    event = ctx.append(incident, "checklist_checked", payload)
    _done(event.id, ("☐ " if uncheck else "☑ ") + chosen)


def _pick(ref: str, items: list[str]) -> str:
    if ref.isdigit() and 1 <= int(ref) <= len(items):
        return items[int(ref) - 1]
    hits = [i for i in items if ref.lower() in i.lower()]
    if len(hits) == 1:
        return hits[0]
    listing = "; ".join(f"{n}. {i}" for n, i in enumerate(items, 1))
    raise Failure(f"{ref!r} is not one checklist item: {listing}")


@click.command()
@click.argument("field", type=click.Choice(list(POSTMORTEM_FIELDS), case_sensitive=False))
@click.argument("text")
@incident_option
@pass_ctx
def postmortem(ctx: Ctx, field: str, text: str, incident_ref: str | None) -> None:
    """Write a postmortem section (summary, root_cause, went_well, ...)."""
    incident = ctx.incident(incident_ref)
    payload = {
        "field": field.lower(),
        "value": text,
    }
    event = ctx.append(incident, "postmortem_set", payload)
    _done(event.id, f"{POSTMORTEM_FIELDS[field.lower()]} saved")


@click.command()
@click.argument("title")
@incident_option
@pass_ctx
def title(ctx: Ctx, title: str, incident_ref: str | None) -> None:
    """Rename the incident."""
    incident = ctx.incident(incident_ref)
    event = ctx.append(incident, "title_changed", {"title": title})
    _done(event.id, "title changed")


@click.command()
@click.argument("impact")
@incident_option
@pass_ctx
def impact(ctx: Ctx, impact: str, incident_ref: str | None) -> None:
    """Describe the current customer impact."""
    incident = ctx.incident(incident_ref)
    event = ctx.append(incident, "impact_changed", {"impact": impact})
    _done(event.id, "impact updated")


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
