"""Typed commands: the one way to change an incident.

Every writer says what it wants as a command: a key in the console, a CLI command, the demo,
alert intake, a delivery result. `plan` checks the command against the incident as it is and
the policy, and turns it into the events to append, each naming the write it replaces. The
store runs `plan` inside its append transaction, so the state it reads is the state the
events land on (`replaces` is never stale); the demo and the server run the same `plan`
against their own state. Nobody else builds payload dicts.

Commands are strict: an unknown field, a blank title, a time out of range or a role nobody
holds is a `CommandError` whose message says what is wrong and what to do; nothing is
written. Names people type (`P1`, `ic`, `comms`) are resolved here, against the policy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from warroom.core import clock
from warroom.core.alerts import (
    FINGERPRINT_RE,
    INBOX,
    MAX_ANNOTATION_VALUE,
    MAX_ANNOTATIONS,
    MAX_GROUP_KEY,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    MAX_NAME,
    MAX_URL,
    MAX_VALUES,
    Alert,
)
from warroom.core.deliveries import MAX_UNTOLD
from warroom.core.events import Event
from warroom.core.ids import ULID_RE
from warroom.core.payloads import (
    ActionItem,
    ActionTaken,
    AlertAttached,
    AlertReceived,
    AlertResolved,
    AlertSilenced,
    CadenceSnoozed,
    ChannelRef,
    ChecklistChecked,
    ClusterFact,
    ComponentsChanged,
    Declared,
    DeliveryFailed,
    DeliverySent,
    Escalated,
    ImpactChanged,
    LogPinned,
    MilestoneSet,
    Note,
    Payload,
    Pin,
    PostmortemSet,
    RoleAssigned,
    RoleReleased,
    SeverityChanged,
    StatusChanged,
    TitleChanged,
    UpdatePosted,
    normalise,
)
from warroom.core.policy import AUDIENCES, MILESTONES, POSTMORTEM_FIELDS, Policy, Status
from warroom.core.state import IncidentState, register_key

MAX_NEXT_UPDATE = timedelta(days=7)
"""The furthest a posted update may promise the next one."""
MAX_SNOOZE = timedelta(days=1)
MILESTONE_PAST = timedelta(days=366)
"""How far back a milestone may be dated (impact can start long before anyone notices)."""
MILESTONE_FUTURE = timedelta(minutes=5)
"""Milestones record what happened; a little slack covers clocks that disagree."""
DUE_WITHIN = timedelta(days=5 * 366)


class CommandError(ValueError):
    """A command that cannot be carried out as asked; the message says why and what to do.

    `field` names the command field the problem is about, when there is one, so a form can
    show the message beside it.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _visible(text: str) -> str:
    if not any(ch.isprintable() and not ch.isspace() for ch in text):
        raise ValueError("must have visible text")
    return text


def _stripped(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str) -> str:
    """What every backend can store and every peer accept: no NUL, no lone surrogates.
    (A regex: a loop over characters cost ~40 us a label at alert intake.)"""
    if bad := _UNSTORABLE.search(text):
        raise ValueError(f"contains U+{ord(bad[0]):04X}, which cannot be stored")
    return text


Visible = AfterValidator(_visible)
Storable = AfterValidator(_storable)
Title = Annotated[str, _stripped(200, 1), Storable, Visible]
Person = Annotated[str, _stripped(200, 1), Storable, Visible]
Line = Annotated[str, _stripped(500), Storable]
Text = Annotated[str, _stripped(20_000), Storable]
Required = Annotated[str, _stripped(20_000, 1), Storable, Visible]
Body = Annotated[str, _stripped(50_000, 1), Storable, Visible]
EventId = Annotated[str, Field(pattern=ULID_RE.pattern)]


@dataclass(frozen=True)
class Context:
    """What a command is judged against besides the incident: the policy and the time."""

    policy: Policy
    now: datetime
    tz: tzinfo = UTC

    def hhmm(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%H:%M %Z")


Planned = list[tuple[str, Payload]]
C = TypeVar("C", bound="Command")


class Command(BaseModel):
    """A request to change an incident. Subclasses say which events it becomes."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    needs_incident: ClassVar[bool] = True

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        raise NotImplementedError


def make(kind: type[C], /, **fields: Any) -> C:
    """Build a command from loose values (CLI options, form fields); CommandError if invalid."""
    try:
        return kind(**fields)
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        raise CommandError(_reason(exc), str(loc[0]) if loc else None) from None


def _reason(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]).replace("_", " ")
    if err["type"] == "extra_forbidden":
        return f"unknown field {where!r}"
    if err["type"] == "string_unicode":
        return f"{where}: contains a lone surrogate, which cannot be stored"
    if err["type"] == "string_too_short" and err.get("ctx", {}).get("min_length") == 1:
        return f"{where} must not be blank"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _severity(ctx: Context, name: str) -> str:
    try:
        return ctx.policy.severity(name).name
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _role(ctx: Context, name: str) -> tuple[str, str]:
    try:
        role = ctx.policy.role(name)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return role.key, role.name


# -- declaring ----------------------------------------------------------------------------------


class Declare(Command):
    needs_incident: ClassVar[bool] = False

    title: Title
    severity: str
    impact: Text = ""
    components: tuple[Line, ...] = ()
    commander: Person | None = None
    """Who takes command at once (usually the declarer); None: nobody yet."""
    untold: Annotated[tuple[ChannelRef, ...], Field(max_length=MAX_UNTOLD)] = ()
    """Channels that must not be told of the declaration (the IC unticked them)."""

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        if state.declared_id is not None:
            raise CommandError(f"incident {state.incident_id} is already declared")
        if state.incident_id == INBOX:
            raise CommandError("the alert inbox cannot be declared as an incident")
        planned: Planned = [
            (
                "declared",
                Declared(
                    title=self.title,
                    severity=_severity(ctx, self.severity),
                    impact=self.impact,
                    components=[c for c in self.components if c],
                    untold=sorted(set(self.untold)),
                ),
            )
        ]
        if self.commander:
            planned.append(
                ("role_assigned", RoleAssigned(role="incident_commander", person=self.commander))
            )
        return planned


# -- the record -----------------------------------------------------------------------------------


class AddNote(Command):
    text: Required
    pinned: bool = False

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        return [("note", Note(text=self.text, pinned=self.pinned))]


class PostUpdate(Command):
    """An update posted to an audience; restarts the cadence clock."""

    body: Body
    audience: Literal[AUDIENCES] = "internal"  # type: ignore[valid-type]
    template: Line = ""
    next_in: timedelta | None = None
    """When the next update is promised; default: the severity's cadence."""

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        every = self.next_in
        if every is None:
            every = ctx.policy.severity(state.current_severity).update_every
        elif not timedelta(minutes=1) <= every <= MAX_NEXT_UPDATE:
            raise CommandError(
                f"the next update must be promised between 1 minute and "
                f"{MAX_NEXT_UPDATE.days} days from now, not {clock.format_duration(every)}",
                "next_in",
            )
        update = UpdatePosted(
            audience=self.audience,
            template=self.template,
            body=self.body,
            next_update_at=ctx.now + every,
        )
        return [("update_posted", update)]


class ChangeStatus(Command):
    status: Status
    reason: Text = ""

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        return [("status_changed", StatusChanged(status=self.status, reason=self.reason))]


class ChangeSeverity(Command):
    severity: str
    reason: Text = ""

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        level = _severity(ctx, self.severity)
        return [("severity_changed", SeverityChanged(severity=level, reason=self.reason))]


class AssignRole(Command):
    role: str
    person: Person

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        key, _ = _role(ctx, self.role)
        return [("role_assigned", RoleAssigned(role=key, person=self.person))]


class ReleaseRole(Command):
    """Nobody holds the role afterwards; the event keeps who held it until now."""

    role: str

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        key, name = _role(ctx, self.role)
        holder = state.holder(key)
        if holder is None:
            raise CommandError(f"nobody holds {name}", "role")
        return [("role_released", RoleReleased(role=key, person=holder.value))]


class SetMilestone(Command):
    milestone: Literal[MILESTONES]  # type: ignore[valid-type]
    at: AwareDatetime

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        if self.at > ctx.now + MILESTONE_FUTURE:
            raise CommandError(
                f"{self.milestone.replace('_', ' ')} at {self.at:%Y-%m-%d %H:%M %Z} is in the"
                " future; milestones record what already happened",
                "at",
            )
        if self.at < ctx.now - MILESTONE_PAST:
            raise CommandError(
                f"{self.milestone.replace('_', ' ')} at {self.at:%Y-%m-%d %H:%M %Z} is more"
                " than a year ago; check the date",
                "at",
            )
        return [("milestone_set", MilestoneSet(milestone=self.milestone, at=self.at))]


class CheckItem(Command):
    """Tick (or clear) an item of the resolution or post-resolution checklist."""

    item: str
    checked: bool = True

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        items = [*ctx.policy.checklist, *ctx.policy.post_resolution]
        if self.item not in items:
            raise CommandError(f"{self.item!r} is not on the checklist")
        return [("checklist_checked", ChecklistChecked(item=self.item, checked=self.checked))]


class AddActionItem(Command):
    text: Required
    owner: Person
    due: date | None = None

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        today = ctx.now.astimezone(ctx.tz).date()
        if self.due is not None and not (
            today - timedelta(days=1) <= self.due <= today + DUE_WITHIN
        ):
            raise CommandError(
                f"due date {self.due.isoformat()} is out of range: give a date from today to"
                " five years ahead",
                "due",
            )
        return [("action_item", ActionItem(text=self.text, owner=self.owner, due=self.due))]


class SetPostmortem(Command):
    field: Literal[tuple(POSTMORTEM_FIELDS)]  # type: ignore[valid-type]
    value: Text

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        return [("postmortem_set", PostmortemSet(field=self.field, value=self.value))]


class Rename(Command):
    title: Title

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        return [("title_changed", TitleChanged(title=self.title))]


class DescribeImpact(Command):
    impact: Text

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        return [("impact_changed", ImpactChanged(impact=self.impact))]


class SetComponents(Command):
    components: tuple[Line, ...]

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        return [("components_changed", ComponentsChanged(components=list(self.components)))]


class PinEvent(Command):
    """Pin (or unpin) an event of the timeline, saying what it was."""

    target: EventId
    pinned: bool = True
    summary: str = ""

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        summary = " ".join(self.summary.split())
        summary = summary if len(summary) <= 500 else summary[:499] + "…"
        return [("pin", Pin(target=self.target, pinned=self.pinned, summary=summary))]


class Snooze(Command):
    """Push the update deadline out, with a reason; refused when it would change nothing."""

    minutes: float = Field(gt=0)
    reason: Required

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        span = timedelta(minutes=self.minutes)
        if span > MAX_SNOOZE:
            raise CommandError("snooze for at most 24 hours (1440 minutes)", "minutes")
        cad = clock.cadence(state, ctx.policy, ctx.now)
        if cad.due_at is None:
            raise CommandError("the update cadence is stopped: there is nothing to snooze")
        until = ctx.now + span
        if until <= cad.due_at:
            raise CommandError(
                f"the next update is due at {ctx.hhmm(cad.due_at)}; snoozing until"
                f" {ctx.hhmm(until)} would change nothing. Snooze for more than"
                f" {clock.format_duration(cad.due_at - ctx.now)}",
                "minutes",
            )
        return [("cadence_snoozed", CadenceSnoozed(until=until, reason=self.reason))]


class RecordAction(Command):
    """A playbook action taken on the cluster, with its outcome."""

    description: Required
    command: Text = ""
    result: Text = ""
    ok: bool | None = None

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        action = ActionTaken(
            description=self.description, command=self.command, result=self.result, ok=self.ok
        )
        return [("action_taken", action)]


class PinLogLine(Command):
    """A log line kept as evidence."""

    pod: Person
    container: Line = ""
    namespace: Line = ""
    source_time: AwareDatetime | None = None
    text: Text

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        line = LogPinned(
            pod=self.pod,
            container=self.container,
            namespace=self.namespace,
            source_time=self.source_time,
            text=self.text,
        )
        return [("log_pinned", line)]


class PinClusterFact(Command):
    """Evidence from the cluster: an event, a describe line, a rollout revision, a change."""

    source: Literal["event", "describe", "rollout", "change"]
    object: Title
    namespace: Line = ""
    context: Line = ""
    observed_at: AwareDatetime | None = None
    text: Required

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        fact = ClusterFact(
            source=self.source,
            object=self.object,
            namespace=self.namespace,
            context=self.context,
            observed_at=self.observed_at,
            text=self.text,
        )
        return [("cluster_fact", fact)]


LabelName = Annotated[str, Field(min_length=1, max_length=MAX_NAME), Storable]
Url = Annotated[str, Field(max_length=MAX_URL), Storable]
Fingerprint = Annotated[str, Field(pattern=FINGERPRINT_RE)]
Labels = Annotated[
    dict[LabelName, Annotated[str, Field(max_length=MAX_LABEL_VALUE), Storable]],
    Field(max_length=MAX_LABELS),
]
Annotations = Annotated[
    dict[LabelName, Annotated[str, Field(max_length=MAX_ANNOTATION_VALUE), Storable]],
    Field(max_length=MAX_ANNOTATIONS),
]
Value = Annotated[float, Field(ge=-(2**53 - 1), le=2**53 - 1, allow_inf_nan=False)]


class ReceiveAlert(Command):
    """An alert from monitoring, kept as evidence (the first one dates detection). It may
    arrive before anyone declares the incident it belongs to, and then waits in the inbox
    (`warroom.core.alerts.INBOX`). Alert intake on the server makes these; see
    `warroom.alerts.webhooks` for where each field comes from."""

    needs_incident: ClassVar[bool] = False

    name: Person
    source: Line = ""
    summary: Text = ""
    fired_at: AwareDatetime | None = None
    """When it started firing (`startsAt`)."""
    fingerprint: Annotated[str, Field(pattern=r"^(?:[0-9A-Za-z._:-]{1,128})?$")] = ""
    ends_at: AwareDatetime | None = None
    """A real `endsAt`: it had already ended when warroom first heard of it."""
    received_at: AwareDatetime | None = None
    receiver: Line = ""
    group_key: Annotated[str, Field(max_length=MAX_GROUP_KEY), Storable] = ""
    severity: Line = ""
    service: Line = ""
    labels: Labels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)
    url: Url = ""
    dashboard_url: Url = ""
    panel_url: Url = ""
    silence_url: Url = ""
    image_url: Url = ""
    values: Annotated[dict[LabelName, Value], Field(max_length=MAX_VALUES)] = Field(
        default_factory=dict
    )

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        return [("alert_received", AlertReceived.model_validate(self.__dict__))]


class _AlertCommand(Command):
    """A command about one firing: its fingerprint and start; its name for the timeline."""

    fingerprint: Fingerprint
    starts_at: AwareDatetime
    name: Person

    def ref(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "starts_at": self.starts_at, "name": self.name}


class ResolveAlert(_AlertCommand):
    """Monitoring says the firing ended (written where the alert is, inbox or incident)."""

    needs_incident: ClassVar[bool] = False

    ends_at: AwareDatetime

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        return [("alert_resolved", AlertResolved(**self.ref(), ends_at=self.ends_at))]


class AttachAlert(_AlertCommand):
    """Make an alert part of this incident's record (it leaves the inbox or another incident)."""

    summary: Text = ""

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        return [("alert_attached", AlertAttached(**self.ref(), summary=self.summary))]


class SilenceAlert(_AlertCommand):
    """Silence an alert in the inbox, saying why (or lift the silence)."""

    needs_incident: ClassVar[bool] = False

    reason: Text = ""
    silenced: bool = True

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        if state.incident_id != INBOX:
            raise CommandError("alerts are silenced in the inbox, not in an incident")
        if self.silenced and not self.reason:
            raise CommandError("say why the alert is silenced (it is recorded)", "reason")
        silence = AlertSilenced(**self.ref(), reason=self.reason, silenced=self.silenced)
        return [("alert_silenced", silence)]


def declare_from_alert(
    alert: Alert,
    ctx: Context,
    *,
    commander: str | None,
    title: str | None = None,
    severity: str | None = None,
    impact: str = "",
    components: Sequence[str] | None = None,
    untold: Sequence[str] = (),
) -> tuple[Command, ...]:
    """Declaring an incident from an alert, as one batch: the declaration (title from the
    alert's summary or name, severity through the config's map unless given, components
    from its service), its start as `impact_started`, when warroom first heard of it as
    `detected` (so MTTD and MTTA are measured, as the process defines them), and the alert
    attached. A milestone outside what `SetMilestone` accepts is left out, not refused."""
    rules = ctx.policy.alerts
    chosen = severity or rules.severity_for(alert.severity)
    parts = [alert.service] if components is None and alert.service else list(components or ())
    headline = title if title is not None else " ".join(alert.headline.split())
    commands: list[Command] = [
        make(
            Declare,
            title=headline if len(headline) <= 200 else headline[:199] + "…",
            severity=chosen,
            impact=impact,
            components=tuple(parts),
            commander=commander,
            untold=tuple(untold),
        )
    ]
    for milestone, at in (("impact_started", alert.starts_at), ("detected", alert.received_at)):
        if at is not None and ctx.now - MILESTONE_PAST <= at <= ctx.now + MILESTONE_FUTURE:
            commands.append(SetMilestone(milestone=milestone, at=at))
    commands.append(attach_alert(alert))
    return tuple(commands)


def attach_alert(alert: Alert) -> AttachAlert:
    if not alert.fingerprint or alert.starts_at is None:
        raise CommandError(f"{alert.name} has no fingerprint and start: it cannot be moved")
    return AttachAlert(
        fingerprint=alert.fingerprint,
        starts_at=alert.starts_at,
        name=alert.name[:200],
        summary=alert.summary[:20_000],
    )


def silence_alert(alert: Alert, reason: str, *, silenced: bool = True) -> SilenceAlert:
    if not alert.fingerprint or alert.starts_at is None:
        raise CommandError(f"{alert.name} has no fingerprint and start: it cannot be silenced")
    return make(
        SilenceAlert,
        fingerprint=alert.fingerprint,
        starts_at=alert.starts_at,
        name=alert.name[:200],
        reason=reason,
        silenced=silenced,
    )


class Escalate(Command):
    """Page a level of the escalation ladder: its people, through its channels (the policy
    says which), recording why. Refused once the incident is resolved."""

    level: int = Field(ge=1, le=99)
    reason: Text = ""
    auto: bool = False

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        if state.is_resolved:
            raise CommandError("the incident is resolved: there is nobody to page")
        severity = state.current_severity
        ladder = {step.level: step for step in ctx.policy.escalation_for(severity)}
        step = ladder.get(self.level)
        if step is None:
            levels = ", ".join(f"L{n}" for n in sorted(ladder))
            raise CommandError(
                f"{severity} has no escalation level L{self.level} (it has {levels})", "level"
            )
        paged = Escalated(
            level=step.level,
            people=step.people(severity),
            channels=list(step.channels),
            reason=self.reason,
            auto=self.auto,
        )
        return [("escalated", paged)]


# -- delivery results -----------------------------------------------------------------------------

ChannelName = Annotated[str, _stripped(200, 1), Storable, Visible]
Attempt = Annotated[int, Field(ge=1, le=1_000_000)]


class RecordSent(Command):
    """A delivery reached its channel (`warroom.delivery` records it; see core.deliveries)."""

    target: EventId
    channel: ChannelName
    channel_kind: Line = ""
    ref: Line = ""
    permalink: Annotated[str, _stripped(2_000), Storable] = ""
    at: AwareDatetime
    attempt: Attempt
    extra: Annotated[dict[str, Line], Field(max_length=20)] = {}

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        sent = DeliverySent(
            event=self.target,
            channel=self.channel,
            channel_kind=self.channel_kind,
            ref=self.ref,
            permalink=self.permalink,
            at=self.at,
            attempt=self.attempt,
            extra=self.extra,
        )
        return [("delivery_sent", sent)]


class RecordFailed(Command):
    """An attempt to deliver failed; `retry`: the deliverer tries again at `next_at`."""

    target: EventId
    channel: ChannelName
    channel_kind: Line = ""
    reason: Annotated[str, _stripped(500, 1), Storable, Visible]
    retry: bool
    at: AwareDatetime
    attempt: Attempt
    next_at: AwareDatetime | None = None

    def events(self, state: IncidentState, ctx: Context) -> Planned:
        failed = DeliveryFailed(
            event=self.target,
            channel=self.channel,
            channel_kind=self.channel_kind,
            reason=self.reason,
            retry=self.retry,
            at=self.at,
            attempt=self.attempt,
            next_at=self.next_at if self.retry else None,
        )
        return [("delivery_failed", failed)]


# -- planning -------------------------------------------------------------------------------------


def plan(
    state: IncidentState, commands: Sequence[Command], ctx: Context
) -> list[tuple[str, dict[str, Any]]]:
    """The events a batch of commands becomes, as stored payloads naming what they replace.

    `state` is the incident as it stands; each event's `replaces` is its register's current
    write, or an earlier event of the same batch. The caller gives each event its id right
    after (`link`), since replaces needs ids of the batch's own events.
    """
    declared = state.declared_id is not None
    out: list[tuple[str, dict[str, Any]]] = []
    for command in commands:
        if command.needs_incident and not declared:
            raise CommandError(f"no incident {state.incident_id} here: declare it first")
        for kind, payload in command.events(state, ctx):
            out.append((kind, payload.stored()))
        declared = declared or isinstance(command, Declare)
    return out


def link(
    state: IncidentState, planned: list[tuple[str, dict[str, Any]]], ids: Sequence[str]
) -> list[tuple[str, dict[str, Any]]]:
    """Fill in `replaces` for planned events that will get these ids, in order."""
    written: dict[tuple[str, str], str] = {}
    out = []
    for (kind, payload), event_id in zip(planned, ids, strict=True):
        payload = state.with_replaces(kind, payload, written)
        key = register_key(kind, payload)
        if key is not None:
            written[key] = event_id
        out.append((kind, payload))
    return out


def materialise(
    state: IncidentState,
    commands: Sequence[Command],
    ctx: Context,
    *,
    device_id: str,
    actor: str,
    ids: Iterator[str],
    stamps: Iterator[str],
) -> list[Event]:
    """The events a batch of commands becomes on `state`'s incident, ids and stamps given.

    The one executor of commands: the local store (inside its append transaction, with its
    clock), the server (the same, in its own transaction) and the demo (stamps back in time)
    all call it. Payloads are validated strictly: nothing reaches a log unchecked. A payload
    `plan` made from its validated model and `link` left alone is stored as made (checking it
    again cost a third of alert intake); one `link` changed is checked again.
    """
    planned = plan(state, commands, ctx)
    made = [next(ids) for _ in planned]
    linked = link(state, planned, made)
    return [
        Event(
            id=event_id,
            incident_id=state.incident_id,
            device_id=device_id,
            hlc=next(stamps),
            actor=actor,
            kind=kind,
            payload=payload if payload is before else normalise(kind, payload, strict=True),
        )
        for event_id, (kind, payload), (_, before) in zip(made, linked, planned, strict=True)
    ]
