"""Every key's conversation: generators that ask steps and end with an outcome.

A flow sees the incident as the console last drew it (`Ask`) and nothing else: no app, no
widgets, no database. It checks its commands against that state with the same `plan` the
store runs inside its transaction, so a refusal (a snooze that would change nothing, a
milestone in the future) is shown beside the field while the values are still there; the
store checks again when it writes.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, TypeVar

from rich.text import Text

from warroom.core import clock
from warroom.core.alerts import INBOX, Alert, AlertBoard
from warroom.core.commands import (
    AddActionItem,
    AddNote,
    AssignRole,
    ChangeSeverity,
    ChangeStatus,
    CheckItem,
    Command,
    CommandError,
    Context,
    Declare,
    Escalate,
    ReleaseRole,
    SetMilestone,
    Snooze,
    attach_alert,
    declare_from_alert,
    make,
    plan,
    silence_alert,
)
from warroom.core.deliveries import RESULT_KINDS, Route, routes_for
from warroom.core.events import Event
from warroom.core.hlc import Stamp
from warroom.core.policy import MILESTONES, Policy, Status
from warroom.core.state import IncidentState, transition_warning
from warroom.core.text import one_line
from warroom.core.timeparse import parse_date, parse_when
from warroom.store import TimelineFilter
from warroom.tui import alert_text
from warroom.tui.messages import CONSOLE_FILTER
from warroom.tui.steps import (
    ApplyFilter,
    Browse,
    Choose,
    Confirm,
    Field,
    Fill,
    Flow,
    JumpTo,
    Load,
    Notice,
    OpenIncident,
    Outcome,
    Step,
    Submit,
    SwitchCluster,
    Tick,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Ask:
    """What a flow may know: the incident as shown, the rules, the time and who asks."""

    state: IncidentState | None
    policy: Policy
    now: datetime
    tz: tzinfo
    actor: str
    board: AlertBoard | None = None
    """Every alert, as the console last read them."""
    routes: tuple[Route, ...] | None = None
    """Which channels carry what (None: not known), for the declare dialog."""

    def firing(self) -> list[Alert]:
        """The open incident's alerts that still fire."""
        if self.board is None or self.state is None:
            return []
        return self.board.firing(self.state.incident_id)

    @property
    def incident(self) -> IncidentState:
        assert self.state is not None  # flows that need an incident are only started with one
        return self.state

    def check(self, *commands: Command) -> tuple[Command, ...]:
        """Refuse what the store would refuse (CommandError), before the dialog closes."""
        if self.state is not None:
            plan(self.state, commands, Context(self.policy, self.now, self.tz))
        return commands


def ask(fill: Fill, build: Callable[[dict[str, Any]], T]) -> Generator[Step, Any, T]:
    """Ask `fill` until `build(values)` accepts the answer; refusals keep what was typed."""
    while True:
        values = yield fill
        try:
            return build(values)
        except (CommandError, ValueError) as exc:
            fill = fill.again(values, exc)


def _when(ctx: Ask) -> Callable[[str], datetime]:
    return lambda text: parse_when(text, ctx.now, ctx.tz)


# -- recording --------------------------------------------------------------------------------


def note(ctx: Ask) -> Flow:
    fill = Fill("Add a note", (Field("text", "Note"),))
    commands = yield from ask(fill, lambda v: ctx.check(make(AddNote, text=v["text"])))
    return Submit(commands, "Note added")


def status(ctx: Ask) -> Flow:
    state = ctx.incident
    current = state.current_status
    chosen = yield Choose("Status", tuple((s.value, s.value.title()) for s in Status), current)
    if chosen is None or chosen == current:
        return None
    if chosen == Status.RESOLVED.value:
        done = sum(state.checked(i) for i in ctx.policy.checklist)
        body = Text(
            f"Mark the incident resolved? Checklist {done}/{len(ctx.policy.checklist)} done;"
            " the update cadence stops."
        )
        firing = ctx.firing()
        if firing:
            body.append(f"\n\n⚠ {len(firing)} alert(s) still firing:\n", style="bold #ff5f5f")
            for alert in firing[:8]:
                body.append_text(
                    Text.assemble("  ", alert_text.short(alert, ctx.now, ctx.tz), "\n")
                )
            if len(firing) > 8:
                body.append(f"  and {len(firing) - 8} more\n")
        action = "resolve anyway" if firing else "resolve"
        if not (yield Confirm("Resolve incident", body, action)):
            return None
    warning = transition_warning(current, chosen)
    command = make(ChangeStatus, status=chosen)
    return Submit((command,), f"Status {chosen}" + (f" (note: {warning})" if warning else ""))


def severity(ctx: Ask) -> Flow:
    state = ctx.incident
    options = tuple(
        (
            level.name,
            f"{level.name} {level.label} — updates every "
            f"{clock.format_duration(level.update_every)}",
        )
        for level in ctx.policy.severities
    )
    chosen = yield Choose("Severity", options, state.current_severity)
    if chosen is None or chosen == state.current_severity:
        return None
    return Submit((make(ChangeSeverity, severity=chosen),), chosen)


def assign(ctx: Ask) -> Flow:
    state = ctx.incident
    options = []
    for role in ctx.policy.roles:
        holder = state.holder(role.key)
        options.append((role.key, f"{role.name} — {holder.value if holder else 'unassigned'}"))
    role = yield Choose("Assign a role", tuple(options))
    if role is None:
        return None
    name = ctx.policy.role_name(role)
    holder = state.holder(role)
    person_field = Field("person", f"{name} (empty: release)", ctx.actor, required=False)

    def build(values: dict[str, Any]) -> tuple[Command, ...]:
        person = values["person"].strip()
        if person:
            return ctx.check(make(AssignRole, role=role, person=person))
        if holder is None:
            raise CommandError(f"nobody holds {name}: type a name to assign it", "person")
        return ctx.check(make(ReleaseRole, role=role))

    commands = yield from ask(Fill(f"Assign {name}", (person_field,)), build)
    person = getattr(commands[0], "person", None)
    return Submit(commands, f"{person} is {name}" if person else f"{name} released")


def take_command(ctx: Ask) -> Flow:
    holder = ctx.incident.holder("incident_commander")
    if holder is not None and holder.value == ctx.actor:
        return Notice("You already have command")
    command = make(AssignRole, role="incident_commander", person=ctx.actor)
    if holder is not None:
        body = Text(
            f"Take Incident Commander from {one_line(holder.value, 40)}? The handoff is recorded."
        )
        if not (yield Confirm("I have command", body, "take command")):
            return None
    return Submit((command,), "You have command")


def milestone(ctx: Ask) -> Flow:
    state = ctx.incident
    options = []
    for name in MILESTONES:
        at = state.milestone(name)
        when = at.astimezone(ctx.tz).strftime("%H:%M") if at else "not set"
        options.append((name, f"{name.replace('_', ' ')} — {when}"))
    name = yield Choose("Milestone", tuple(options))
    if name is None:
        return None
    fill = Fill(
        f"Milestone: {name.replace('_', ' ')}",
        (Field("at", "When (now, 14:05, -15m, ISO)", "now", parse=_when(ctx)),),
    )
    commands = yield from ask(
        fill, lambda v: ctx.check(make(SetMilestone, milestone=name, at=v["at"]))
    )
    at = commands[0].at  # type: ignore[attr-defined]
    return Submit(commands, f"{name.replace('_', ' ')} at {at.astimezone(ctx.tz):%H:%M}")


def checklist(ctx: Ask) -> Flow:
    state, policy = ctx.incident, ctx.policy
    resolution = tuple(policy.checklist)
    after = tuple(policy.post_resolution)
    done = sum(state.checked(i) for i in resolution)
    groups = [(f"Resolution checklist ({done}/{len(resolution)})", resolution)]
    if after:
        done_after = sum(state.checked(i) for i in after)
        groups.append((f"After resolution ({done_after}/{len(after)})", after))
    checked = frozenset(i for i in (*resolution, *after) if state.checked(i))
    notes = {}
    if ctx.board is not None:
        mine = ctx.board.of_incident(state.incident_id)
        notes = {i: alert_text.evidence(mine, ctx.now) for i in resolution if "alert" in i.lower()}
    changes = yield Tick("Checklist", tuple(groups), checked, notes)
    if not changes:
        return None
    commands = tuple(make(CheckItem, item=item, checked=value) for item, value in changes.items())
    return Submit(ctx.check(*commands), f"{len(commands)} checklist item(s) saved")


def action_item(ctx: Ask) -> Flow:
    today = ctx.now.astimezone(ctx.tz).date()
    fill = Fill(
        "Action item",
        (
            Field("text", "Action item"),
            Field("owner", "Owner"),
            Field(
                "due",
                "Due (2026-12-01, +7d, tomorrow; empty: none)",
                required=False,
                parse=lambda text: parse_date(text, today) if text.strip() else None,
            ),
        ),
    )
    commands = yield from ask(
        fill,
        lambda v: ctx.check(make(AddActionItem, text=v["text"], owner=v["owner"], due=v["due"])),
    )
    return Submit(commands, "Action item added")


def snooze(ctx: Ask) -> Flow:
    fill = Fill(
        "Snooze the update cadence",
        (
            Field("minutes", "Snooze for (minutes)", "15", parse=_minutes),
            Field("reason", "Why (recorded in the timeline)"),
        ),
    )
    commands = yield from ask(
        fill, lambda v: ctx.check(make(Snooze, minutes=v["minutes"], reason=v["reason"]))
    )
    return Submit(commands, "Update cadence snoozed")


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("minutes must be a number, e.g. 15") from None
    if not text.strip().replace(".", "", 1).isascii() or not 0 < value <= 24 * 60:
        raise ValueError("minutes must be a number from 1 to 1440")
    return value


# -- escalating -------------------------------------------------------------------------------


def escalate(ctx: Ask) -> Flow:
    """Page a level of the escalation ladder. When elapsed time has reached a level nobody
    paged, that one is offered at once (E, then Enter); otherwise pick the level."""
    state, policy = ctx.incident, ctx.policy
    if state.is_resolved:
        return Notice("The incident is resolved: there is nobody to page")
    ladder = policy.escalation_for(state.current_severity)
    due = clock.escalation_due(state, policy, ctx.now)
    level = due.level if due else None
    if due is None:
        esc = clock.escalation(state, policy, ctx.now)
        options = []
        for step in ladder:
            at = f"from {clock.format_duration(step.after)}"
            reached = " · reached" if esc and esc.elapsed >= step.after else ""
            options.append((str(step.level), f"L{step.level} {_who(step, state)} ({at}{reached})"))
        above = [s.level for s in ladder if s.level > state.escalated_to()]
        chosen = yield Choose("Page a level", tuple(options), str(above[0]) if above else None)
        if chosen is None:
            return None
        level = int(chosen)
    step = next(s for s in ladder if s.level == level)
    reason = clock.escalation_reason(state, policy, ctx.now, step.level)
    via = f" through {', '.join(step.channels)}" if step.channels else " (no channel: call them)"
    body = Text(f"Page L{step.level}: {_who(step, state)}{via}?\n{reason}")
    if not (yield Confirm(f"Escalate to L{step.level}", body, "page")):
        return None
    command = ctx.check(make(Escalate, level=step.level, reason=reason))
    return Submit(command, f"L{step.level} paged")


def _who(step: Any, state: IncidentState) -> str:
    return one_line(", ".join(step.people(state.current_severity)) or "nobody named", 60)


# -- navigating -------------------------------------------------------------------------------


def timeline_filter(current: TimelineFilter) -> Flow:
    label = "kind:note actor:bob words (kind:delivery: delivery results; empty: all)"
    field = Field("query", label, current.query(), required=False)
    values = yield Fill("Filter the timeline", (field,))
    kinds: list[str] = []
    actor, words = "", []
    for token in values["query"].split():
        if token == "kind:delivery":  # the results folded into the lines they are about
            kinds += RESULT_KINDS
        elif token.startswith("kind:"):
            kinds.append(token[5:])
        elif token.startswith("actor:"):
            actor = token[6:]
        else:
            words.append(token)
    if not (kinds or actor or words):
        return ApplyFilter(CONSOLE_FILTER)
    return ApplyFilter(TimelineFilter(tuple(kinds), actor, " ".join(words)))


def jump(ctx: Ask) -> Flow:
    fill = Fill("Jump to time", (Field("at", "Time (14:05, -1h, ISO)", parse=_when(ctx)),))
    moment = yield from ask(fill, lambda v: v["at"])
    return JumpTo(moment)


def switch(rows: Sequence[tuple[str, IncidentState]], current: str | None) -> Flow:
    options = tuple(
        (i, f"{s.current_severity} {s.current_status:<13} {one_line(s.title.value or '', 60)}")
        for i, s in rows
    )
    chosen = yield Choose("Open incident", options, current)
    return OpenIncident(chosen) if chosen else None


def declare(ctx: Ask) -> Flow:
    fill = Fill(
        "Declare an incident",
        (
            Field("title", "Title"),
            Field("severity", "Severity (SEV1..SEV4 or P0..P3)", "SEV2"),
            Field("impact", "Impact (what is broken, for whom)", required=False),
            Field("components", "Components (comma-separated)", required=False),
        ),
    )

    def build(values: dict[str, Any]) -> tuple[Command, ...]:
        try:
            level = ctx.policy.severity(values["severity"])
        except ValueError as exc:
            raise CommandError(str(exc), "severity") from None
        components = tuple(c.strip() for c in values["components"].split(",") if c.strip())
        return (
            make(
                Declare,
                title=values["title"],
                severity=level.name,
                impact=values["impact"],
                components=components,
                commander=ctx.actor,
            ),
        )

    commands = yield from ask(fill, build)
    commands, kept = yield from _tell(ctx, commands)
    level = commands[0].severity  # type: ignore[attr-defined]
    return Submit(commands, f"{level} declared; you have command{kept}", declare=True)


def _tell(
    ctx: Ask, commands: tuple[Command, ...]
) -> Generator[Step, Any, tuple[tuple[Command, ...], str]]:
    """Which channels will be told of the declaration, each ticked: the IC may untick some
    (recorded as the declaration's `untold`, which every deliverer honours). The commands
    with that choice, and a few words for the notification."""
    declaring = commands[0]
    fields = declaring.model_dump()
    stamp = Stamp(int(ctx.now.timestamp() * 1000), 0).encode()
    draft = Event("", "", "draft", stamp, ctx.actor, "declared", fields)
    told = routes_for(draft, ctx.routes or ())
    if not told:
        return commands, ""
    names = tuple(r.name for r in told)
    kinds = {r.name: Text(f"({one_line(r.kind, 20)})", style="#8a8a8a") for r in told}
    heading = "Tell these channels (Space unticks one)"
    changes = yield Tick("Declare: who is told", ((heading, names),), frozenset(names), kinds)
    untold = tuple(name for name in names if changes.get(name) is False)
    if not untold:
        return commands, ""
    declaring = make(Declare, **{**fields, "untold": untold})
    return (declaring, *commands[1:]), f" (not told: {', '.join(untold)})"


# -- alerts -----------------------------------------------------------------------------------

ALERT_KEYS = (
    ("enter", "declare", "declare"),
    ("d", "declare", "declare"),
    ("a", "attach", "attach here"),
    ("x", "silence", "silence"),
)


def alerts(ctx: Ask) -> Flow:
    """The inbox and this incident's alerts; d declares an incident from an inbox alert,
    a attaches it to the open incident, x silences it (or lifts a silence), with a reason."""
    board = ctx.board
    if board is None:
        return Notice("Alerts are still loading; try again in a moment")
    current, note = None, ""
    while True:
        items, details = _alert_items(ctx, board)
        if not any(value for value, _ in items):
            return Notice("No alerts: none waits in the inbox and none is attached here")
        picked = yield Browse("Alerts", items, details, ALERT_KEYS, note, current)
        if picked is None:
            return None
        action, key = picked
        alert = board.alert(key)
        if alert is None:
            return None
        current = key
        if not alert.in_inbox:
            where = (
                "this incident"
                if ctx.state and alert.incident_id == ctx.state.incident_id
                else "an incident"
            )
            note = f"{one_line(alert.name, 40)} is already part of {where}"
            continue
        if action == "declare":
            return (yield from _declare_from(ctx, alert))
        if action == "attach":
            if ctx.state is None:
                note = "No incident is open here: declare one from the alert (d)"
                continue
            return Submit(ctx.check(attach_alert(alert)), f"{one_line(alert.name, 40)} attached")
        return (yield from _silence(alert))


def _alert_items(
    ctx: Ask, board: AlertBoard
) -> tuple[tuple[tuple[str, str | Text], ...], dict[str, Text]]:
    state = ctx.state
    inbox = board.inbox(silenced=True)
    waiting = [a for a in inbox if not a.silenced]
    quiet = [a for a in inbox if a.silenced]
    mine = board.of_incident(state.incident_id) if state else []
    items: list[tuple[str, str | Text]] = []
    details: dict[str, Text] = {}
    sections = [
        (f"Inbox: {_counted(waiting)}", waiting, "in the inbox"),
        (f"This incident: {_counted(mine)}", mine, "attached to this incident"),
        (f"Silenced in the inbox: {len(quiet)}", quiet, "silenced in the inbox"),
    ]
    for heading, rows, where in sections:
        if not rows and heading.startswith("Silenced"):
            continue
        items.append(("", heading))
        for alert in rows[:200]:
            items.append((alert.key, alert_text.line(alert, ctx.now, ctx.tz)))
            details[alert.key] = alert_text.details(alert, ctx.now, ctx.tz, where)
    return tuple(items), details


def _counted(rows: Sequence[Alert]) -> str:
    firing = sum(1 for a in rows if a.firing)
    return f"{firing} firing, {len(rows) - firing} resolved" if rows else "none"


def _declare_from(ctx: Ask, alert: Alert) -> Flow:
    """The declaration form, filled from the alert; the Incident Commander confirms it."""
    suggested = ctx.policy.alerts.severity_for(alert.severity)
    said = f"{one_line(alert.severity, 20)} → {suggested}" if alert.severity else "no severity"
    fill = Fill(
        f"Declare from {one_line(alert.name, 60)}",
        (
            Field("title", "Title", one_line(alert.headline, 200)),
            Field("severity", f"Severity (the alert says {said}; confirm it)", suggested),
            Field("impact", "Impact (what is broken, for whom)", required=False),
            Field("components", "Components (comma-separated)", one_line(alert.service)),
        ),
    )

    def build(values: dict[str, Any]) -> tuple[Command, ...]:
        try:
            level = ctx.policy.severity(values["severity"])
        except ValueError as exc:
            raise CommandError(str(exc), "severity") from None
        return declare_from_alert(
            alert,
            Context(ctx.policy, ctx.now, ctx.tz),
            commander=ctx.actor,
            title=values["title"],
            severity=level.name,
            impact=values["impact"],
            components=[c.strip() for c in values["components"].split(",") if c.strip()],
        )

    commands = yield from ask(fill, build)
    commands, kept = yield from _tell(ctx, commands)
    level = commands[0].severity  # type: ignore[attr-defined]
    name = one_line(alert.name, 40)
    return Submit(commands, f"{level} declared from {name}{kept}", declare=True)


def _silence(alert: Alert) -> Flow:
    name = one_line(alert.name, 40)
    if alert.silenced:
        body = Text(f"Lift the silence on {name}? It was silenced: ")
        body.append(one_line(alert.silence_reason, 200))
        if not (yield Confirm("Unsilence", body, "unsilence")):
            return None
        return Submit(
            (silence_alert(alert, "", silenced=False),), f"{name} unsilenced", incident_id=INBOX
        )
    fill = Fill(f"Silence {name}", (Field("reason", "Why (recorded in the inbox)"),))
    commands = yield from ask(fill, lambda v: (silence_alert(alert, v["reason"]),))
    return Submit(commands, f"{name} silenced", incident_id=INBOX)


def cluster(
    contexts: Sequence[str], current: str | None, namespaces: Callable[[str], list[str]]
) -> Flow:
    context = yield Choose("Kubernetes context", tuple((n, n) for n in contexts), current)
    if not context:
        return None
    names = yield Load(f"namespaces of {context}", lambda: namespaces(context))
    if isinstance(names, Exception):
        return Notice(f"{context}: {names}", error=True)
    options = (("*", "(all namespaces)"), *((n, n) for n in names))
    namespace = yield Choose(f"Namespace in {context}", options)
    if not namespace:
        return None
    every = namespace == "*"
    return SwitchCluster(context, None if every else namespace, every)


FLOWS: dict[str, Callable[[Ask], Flow]] = {
    "note": note,
    "status": status,
    "severity": severity,
    "assign": assign,
    "take_command": take_command,
    "milestone": milestone,
    "checklist": checklist,
    "action_item": action_item,
    "snooze": snooze,
    "jump": jump,
    "declare": declare,
    "escalate": escalate,
    "alerts": alerts,
}
"""Flows that need only `Ask`, by the console action that starts them."""

__all__ = ["FLOWS", "Ask", "Outcome", "ask"]
