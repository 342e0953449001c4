"""The immutable events that make up an incident's log.

An `Event` is the envelope every producer (keyboard, CLI, sync, Kubernetes watchers) emits.
Payloads of the kinds this version knows are validated by the models below; a kind it does not
know (written by a newer client) is kept as a plain JSON object and shown generically.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from warroom.core.hlc import HLC_RE, stamp_time
from warroom.core.ids import ULID_RE
from warroom.core.policy import MILESTONES, POSTMORTEM_FIELDS, Status

__all__ = ["KINDS", "Event", "PayloadError", "ValidationError", "parse_payload"]

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


class Replacing(Payload):
    """A change to a last-writer-wins field names the change it replaces (None: the first).

    Two changes that replace the same one were made concurrently: that is a conflict the
    timeline shows, even though both sides settle on the same winner by clock.
    """

    replaces: str | None = None


class Declared(Payload):
    title: Name
    severity: Severity
    impact: Text = ""
    components: list[Short] = []
    status: Status = Status.INVESTIGATING


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


class AlertReceived(Payload):
    name: Name
    source: Short = ""
    summary: Text = ""
    fired_at: When | None = None


class LogPinned(Payload):
    pod: Name
    container: Short = ""
    namespace: Short = ""
    source_time: When | None = None
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
    "log_pinned": LogPinned,
    "milestone_set": MilestoneSet,
    "checklist_checked": ChecklistChecked,
    "action_item": ActionItem,
    "postmortem_set": PostmortemSet,
    "cadence_snoozed": CadenceSnoozed,
}


class PayloadError(ValueError):
    """A payload that does not fit its kind; the message says which field and why."""


def parse_payload(kind: str, payload: dict[str, Any]) -> Payload | None:
    """The validated payload of a known kind, or None for a kind this version does not know."""
    model = KINDS.get(kind)
    if model is None:
        return None
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise PayloadError(_first_error(kind, exc)) from None


def _first_error(kind: str, exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "payload"
    return f"{kind}: {where}: {err['msg']}"


class Event(NamedTuple):
    """One immutable fact in an incident's log.

    A named tuple so that reading 100k events from the trusted local store costs little;
    everything from outside goes through `Event.checked`, which validates it with pydantic
    (the field constraints below; unknown keys are refused) including the payload.
    """

    id: Annotated[str, Field(pattern=ULID_RE.pattern)]
    incident_id: Annotated[str, Field(pattern=ULID_RE.pattern)]
    device_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    hlc: Annotated[str, Field(pattern=HLC_RE.pattern)]
    actor: Name
    kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.]{0,63}$")]
    payload: dict[str, Any]

    @property
    def time(self) -> datetime:
        """When the event was made, from its clock stamp."""
        return stamp_time(self.hlc)

    @property
    def order(self) -> tuple[str, str]:
        """Total order shared by every replica: clock stamp, then id."""
        return (self.hlc, self.id)

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def checked(cls, data: Any) -> Event:
        """Validate an event from outside (import, sync), including its payload's kind.

        Raises pydantic's ValidationError for a bad envelope, PayloadError for a bad payload.
        """
        event = _adapter().validate_python(data)
        parse_payload(event.kind, event.payload)
        return event


@cache
def _adapter() -> TypeAdapter[Event]:
    return TypeAdapter(Event)
