"""The payload models of the event kinds this version knows, and the envelope's constraints.

Pydantic lives here and only here in core, so that reading and drawing an incident (the
console's start-up) never imports it; `warroom.core.events` loads this module the first time
something is validated: an append, an import, a sync batch.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from warroom.core.alerts import (
    FINGERPRINT_RE,
    MAX_ANNOTATION_VALUE,
    MAX_ANNOTATIONS,
    MAX_GROUP_KEY,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    MAX_NAME,
    MAX_URL,
    MAX_VALUES,
)
from warroom.core.deliveries import CHANNEL_NAME, MAX_UNTOLD
from warroom.core.events import Event, PayloadError
from warroom.core.hlc import HLC_RE
from warroom.core.ids import ULID_RE
from warroom.core.policy import MILESTONES, POSTMORTEM_FIELDS, Status

Text = Annotated[str, Field(max_length=20_000)]
Short = Annotated[str, Field(max_length=500)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Severity = Annotated[str, Field(pattern=r"^SEV[1-9]$")]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


When = Annotated[AwareDatetime, AfterValidator(_utc)]


class Payload(BaseModel):
    """Unknown payload fields are ignored on validation but kept in the stored event.

    Validators are built on first use (`defer_build`): the console starts without them.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    lean: ClassVar[bool] = False
    """Stored without the fields left at their defaults (readers use theirs): for kinds
    with many optional fields written often (alerts)."""

    def stored(self) -> dict[str, Any]:
        """The payload as stored: JSON types, lean kinds without their defaults."""
        return self.model_dump(mode="json", exclude_defaults=self.lean)


class Replacing(Payload):
    """A change to a last-writer-wins field names the change it replaces (None: the first).

    Two changes that replace the same one were made concurrently: that is a conflict the
    timeline shows, even though both sides settle on the same winner by clock.
    """

    replaces: str | None = None


ChannelRef = Annotated[str, Field(pattern=f"^{CHANNEL_NAME.pattern}$")]


class Declared(Payload):
    title: Name
    severity: Severity
    impact: Text = ""
    components: list[Short] = []
    status: Status = Status.INVESTIGATING
    untold: Annotated[list[ChannelRef], Field(max_length=MAX_UNTOLD)] = []
    """Channels the declaring IC kept this declaration from (see core.deliveries.told)."""

    def stored(self) -> dict[str, Any]:
        data = super().stored()
        if not data["untold"]:  # declarations that untick nothing read as they always have
            del data["untold"]
        return data


class SeverityChanged(Replacing):
    severity: Severity
    reason: Text = ""


class StatusChanged(Replacing):
    status: Status
    reason: Text = ""


class TitleChanged(Replacing):
    title: Name


class ImpactChanged(Replacing):
    impact: Text


class ComponentsChanged(Replacing):
    components: list[Short]


class RoleAssigned(Replacing):
    role: Name
    person: Name


class RoleReleased(Replacing):
    role: Name
    person: Short = ""


class Note(Payload):
    text: Annotated[str, Field(min_length=1, max_length=20_000)]
    pinned: bool = False


class Pin(Replacing):
    target: str
    pinned: bool = True
    summary: Short = ""
    """What was pinned, in one line, so the timeline can say it without a lookup."""


class UpdatePosted(Payload):
    audience: Short = "internal"
    template: Short = ""
    body: Annotated[str, Field(min_length=1, max_length=50_000)]
    next_update_at: When | None = None


class ActionTaken(Payload):
    description: Text
    command: Text = ""
    result: Text = ""
    ok: bool | None = None


LabelName = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
Fingerprint = Annotated[str, Field(pattern=FINGERPRINT_RE)]
Url = Annotated[str, Field(max_length=MAX_URL)]
Value = Annotated[float, Field(ge=-(2**53 - 1), le=2**53 - 1, allow_inf_nan=False)]
Labels = Annotated[
    dict[LabelName, Annotated[str, Field(max_length=MAX_LABEL_VALUE)]],
    Field(max_length=MAX_LABELS),
]
Annotations = Annotated[
    dict[LabelName, Annotated[str, Field(max_length=MAX_ANNOTATION_VALUE)]],
    Field(max_length=MAX_ANNOTATIONS),
]


class AlertReceived(Payload):
    """One firing of an alert, as monitoring described it (see `warroom.core.alerts`).

    `fired_at` is its start (`startsAt`); with `fingerprint` it names the firing. Events of
    older clients carry only name, source, summary and fired_at."""

    lean: ClassVar[bool] = True

    name: Name
    source: Short = ""
    summary: Text = ""
    fired_at: When | None = None
    fingerprint: Annotated[str, Field(pattern=r"^(?:[0-9A-Za-z._:-]{1,128})?$")] = ""
    ends_at: When | None = None
    """Set when it was already resolved when warroom first heard of it."""
    received_at: When | None = None
    receiver: Short = ""
    group_key: Annotated[str, Field(max_length=MAX_GROUP_KEY)] = ""
    severity: Short = ""
    service: Short = ""
    labels: Labels = {}
    annotations: Annotations = {}
    url: Url = ""
    dashboard_url: Url = ""
    panel_url: Url = ""
    silence_url: Url = ""
    image_url: Url = ""
    values: Annotated[dict[LabelName, Value], Field(max_length=MAX_VALUES)] = {}


class AlertRef(Payload):
    """Names one firing: its fingerprint and start, and what it is called (for the timeline)."""

    fingerprint: Fingerprint
    starts_at: When
    name: Name


class AlertResolved(AlertRef):
    ends_at: When


class AlertAttached(AlertRef):
    summary: Text = ""


class AlertSilenced(AlertRef):
    reason: Annotated[str, Field(max_length=2_000)] = ""
    silenced: bool = True


class LogPinned(Payload):
    pod: Name
    container: Short = ""
    namespace: Short = ""
    source_time: When | None = None
    text: Text


class ClusterFact(Payload):
    """Evidence from the cluster kept in the timeline: an event, a line of a describe, a
    revision of a rollout, or a change the console saw while the incident was open."""

    source: Literal["event", "describe", "rollout", "change"]
    object: Name
    """What it is about, as kubectl names it: `pod/checkout-…`, `deployment/checkout`."""
    namespace: Short = ""
    context: Short = ""
    observed_at: When | None = None
    """When the cluster says it happened (an event's last time, when a change was seen)."""
    text: Text


class MilestoneSet(Replacing):
    milestone: Literal[MILESTONES]  # type: ignore[valid-type]
    at: When


class ChecklistChecked(Replacing):
    item: Name
    checked: bool = True


class ActionItem(Payload):
    text: Annotated[str, Field(min_length=1, max_length=2_000)]
    owner: Short = ""
    due: date | None = None


class PostmortemSet(Replacing):
    field: Literal[tuple(POSTMORTEM_FIELDS)]  # type: ignore[valid-type]
    value: Text


class CadenceSnoozed(Payload):
    until: When
    reason: Annotated[str, Field(min_length=1, max_length=2_000)]


class Escalated(Payload):
    """A level of the escalation ladder was paged: who (people, and the channels that page
    them), why, and whether the console did it by itself (`auto`); when is the event's."""

    level: Annotated[int, Field(ge=1, le=99)]
    people: list[Short] = []
    channels: list[Short] = []
    reason: Text = ""
    auto: bool = False


Target = Annotated[str, Field(pattern=ULID_RE.pattern)]
Attempt = Annotated[int, Field(ge=1, le=1_000_000)]


class DeliverySent(Payload):
    """An event reached a channel (see `warroom.core.deliveries`)."""

    event: Target
    channel: Name
    channel_kind: Short = ""
    ref: Short = ""
    """The remote's name for it: Slack's ts, a Message-ID, a webhook receiver's id..."""
    permalink: Annotated[str, Field(max_length=2_000)] = ""
    at: When
    attempt: Attempt
    extra: Annotated[dict[str, Short], Field(max_length=20)] = {}


class DeliveryFailed(Payload):
    """An attempt to deliver an event to a channel failed; `retry`: it will be tried again."""

    event: Target
    channel: Name
    channel_kind: Short = ""
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    retry: bool
    at: When
    attempt: Attempt
    next_at: When | None = None


KINDS: dict[str, type[Payload]] = {
    "declared": Declared,
    "severity_changed": SeverityChanged,
    "status_changed": StatusChanged,
    "title_changed": TitleChanged,
    "impact_changed": ImpactChanged,
    "components_changed": ComponentsChanged,
    "role_assigned": RoleAssigned,
    "role_released": RoleReleased,
    "note": Note,
    "pin": Pin,
    "update_posted": UpdatePosted,
    "action_taken": ActionTaken,
    "alert_received": AlertReceived,
    "alert_resolved": AlertResolved,
    "alert_attached": AlertAttached,
    "alert_silenced": AlertSilenced,
    "log_pinned": LogPinned,
    "cluster_fact": ClusterFact,
    "milestone_set": MilestoneSet,
    "checklist_checked": ChecklistChecked,
    "action_item": ActionItem,
    "postmortem_set": PostmortemSet,
    "cadence_snoozed": CadenceSnoozed,
    "escalated": Escalated,
    "delivery_sent": DeliverySent,
    "delivery_failed": DeliveryFailed,
}


def parse_payload(kind: str, payload: dict[str, Any], *, strict: bool = False) -> Payload | None:
    """The validated payload of a known kind, or None for a kind this version does not know.

    `strict` is for local writes: an unknown kind or field is refused, so a typo
    (`{"pined": true}`) is an error instead of a silently dropped key. Import and sync are
    lenient: events from a newer warroom keep their unknown kinds and fields.
    """
    model = KINDS.get(kind)
    if model is None:
        if strict:
            raise PayloadError(f"unknown event kind {kind!r}")
        return None
    if strict and isinstance(payload, dict):
        unknown = sorted(set(payload) - set(model.model_fields))
        if unknown:
            raise PayloadError(f"{kind}: {unknown[0]}: unknown field")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise PayloadError(_first_error(kind, exc)) from None


def _first_error(kind: str, exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "payload"
    return f"{kind}: {where}: {err['msg']}"


class EventModel(BaseModel):
    """The constraints on an event's envelope, for everything that comes from outside."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=ULID_RE.pattern)]
    incident_id: Annotated[str, Field(pattern=ULID_RE.pattern)]
    device_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    hlc: Annotated[str, Field(pattern=HLC_RE.pattern)]
    actor: Name
    kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.]{0,63}$")]
    payload: dict[str, Any]


def checked_event(data: Any) -> Event:
    """See `Event.checked`."""
    event = Event(**EventModel.model_validate(data).__dict__)
    parse_payload(event.kind, event.payload)
    return event


def normalise(
    kind: str, payload: Payload | dict[str, Any], *, strict: bool = False
) -> dict[str, Any]:
    """The payload as stored: validated for known kinds, canonical JSON types."""
    if isinstance(payload, Payload):
        return payload.stored()
    parsed = parse_payload(kind, payload, strict=strict)
    if parsed is None:
        if not isinstance(payload, dict):
            raise TypeError("payload must be a JSON object")
        copied: dict[str, Any] = json.loads(json.dumps(payload))
        return copied
    return parsed.stored()


def warm_up() -> None:
    """Build every validator now (they are deferred), so the first append pays nothing."""
    for model in KINDS.values():
        model.model_rebuild()
