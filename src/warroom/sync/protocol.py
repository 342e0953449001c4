"""The sync protocol's wire models, shared by the server (OpenAPI spec) and the client.

Version 1 lives under `/v1`. Every request model refuses unknown fields, so a typo or a field
from a newer protocol is a 422 instead of something silently dropped.

Both sides check what the other sends by the same rules (the server a push, the client a
page): ids and clock stamps in ASCII (core's patterns), every number bounded and in ASCII
digits, every string bounded, and every event one that both backends store and give back
unchanged (`unstorable`).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic import Strict as StrictType
from typing_extensions import TypeAliasType

from warroom.core.deliveries import CHANNEL_NAME
from warroom.core.events import Event
from warroom.core.ids import ULID_RE
from warroom.core.payloads import EventModel, Name

API = "/v1"
MAX_BATCH = 500
MAX_PULL = 1000
MAX_WAIT = 60.0
MAX_SEQ = 2**63 - 1
"""Sequences and cursors are 64-bit: SQLite's INTEGER and PostgreSQL's bigint."""
MAX_DEPTH = 32
"""How deep a payload may nest (JSON arrays and objects)."""
SAFE_INTEGER = 2**53 - 1
"""The largest number a payload may hold: I-JSON's (RFC 7493) interoperable range."""

_DIGITS = re.compile(r"[0-9]{1,19}")
_DECIMAL = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?(?:[eE][-+]?[0-9]{1,3})?")
_UNSTORABLE_CHAR = re.compile("[\x00\ud800-\udfff]")


def _ascii(pattern: re.Pattern[str], what: str) -> BeforeValidator:
    """Check a number given as text (a query parameter) before pydantic parses it.

    pydantic takes " 1", "+1", "1_0" and "1.0" for an int, "nan", "inf" and "1_0.5" for a float;
    int() and float() also take Arabic-Indic or fullwidth digits.
    """

    def check(value: object) -> object:
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise ValueError(f"expected {what} in ASCII digits")
        return value

    return BeforeValidator(check)


# Field before the validator: that order keeps `minimum`/`maximum` in the JSON Schema.
QueryCursor = Annotated[int, Field(ge=0, le=MAX_SEQ), _ascii(_DIGITS, "an integer")]
QueryLimit = Annotated[int, Field(ge=1, le=MAX_PULL), _ascii(_DIGITS, "an integer")]
QuerySeconds = Annotated[
    float, Field(ge=0, le=MAX_WAIT, allow_inf_nan=False), _ascii(_DECIMAL, "a decimal number")
]
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ), StrictType()]
"""A sequence in an answer: a JSON integer, never text or a float."""
EventId = Annotated[str, Field(pattern=ULID_RE.pattern)]
DeviceId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Line = Annotated[str, Field(max_length=1000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def unstorable(value: Any, where: str = "payload", depth: int = 0) -> str | None:
    """Why a JSON value cannot go through both backends unchanged; None if it can.

    PostgreSQL's text and jsonb refuse NUL, UTF-8 has no lone surrogates, jsonb keeps numbers
    as exact decimals (1e300 comes back as an integer that is not the float sent) and neither
    backend stores NaN or infinities. So payloads follow I-JSON (RFC 7493), without NUL, and
    nest at most MAX_DEPTH deep: the same rules for every backend.
    """
    found = _refusal(value, depth)
    if found is None:
        return None
    path, reason = found
    return where + "".join(f".{shown(step)}" for step in reversed(path)) + reason


def _refusal(value: Any, depth: int) -> tuple[list[object], str] | None:
    """The path (innermost first) and reason of the first value that cannot be stored. Every
    event of every push and pull goes through here: the path is only built for a refusal."""
    if isinstance(value, str):
        bad = _UNSTORABLE_CHAR.search(value)
        if bad:
            return [], f": U+{ord(bad[0]):04X} cannot be stored"
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return [], ": NaN and infinities cannot be stored"
        if abs(value) > SAFE_INTEGER:
            return [], ": numbers are limited to ±(2**53 - 1)"
    elif isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            return [], f": nested deeper than {MAX_DEPTH}"
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and (bad := _UNSTORABLE_CHAR.search(key)):
                return [key], f" (a key): U+{ord(bad[0]):04X} cannot be stored"
            if (found := _refusal(item, depth + 1)) is not None:
                found[0].append(key)
                return found
    else:
        return [], ": not a JSON value"
    return None


def shown(key: object) -> str:
    """A key as an error message may show it: escaped unless printable and storable."""
    text = str(key)
    return text if text.isprintable() and not _UNSTORABLE_CHAR.search(text) else ascii(text)


# The same rules as types, so that the OpenAPI spec tells clients (and schemathesis) what the
# server takes; `unstorable` checks first, to explain a refusal in one line.
NO_NUL = r"^[^\x00]*$"
StorableText = Annotated[str, Field(pattern=NO_NUL)]
SafeInt = Annotated[int, Field(ge=-SAFE_INTEGER, le=SAFE_INTEGER)]
SafeFloat = Annotated[float, Field(ge=-SAFE_INTEGER, le=SAFE_INTEGER, allow_inf_nan=False)]
StorableJson = TypeAliasType(
    "StorableJson",
    "StorableText | SafeInt | SafeFloat | bool | list[StorableJson] | StorableObject | None",
)
StorableObject = Annotated[
    dict[str, StorableJson], Field(json_schema_extra={"propertyNames": {"pattern": NO_NUL}})
]


class WireEvent(EventModel):
    """One event, as `warroom.core.events.Event` holds it.

    The core envelope's own model, so that the two can never drift apart (core keeps `Event`
    a NamedTuple, cheap for 100k local rows, which JSON Schema would show as an array),
    narrowed to what every backend stores and gives back unchanged.
    """

    actor: Annotated[Name, Field(pattern=NO_NUL)]
    payload: StorableObject

    @field_validator("actor", "payload", mode="before")  # before: pydantic raises a bare
    @classmethod  # UnicodeEncodeError on a dict key holding a lone surrogate
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        if reason := unstorable(value, info.field_name or "event"):
            raise ValueError(reason)
        return value


def to_wire(event: Event) -> dict[str, Any]:
    return event._asdict()


def from_wire(model: BaseModel) -> Event:
    return Event(**model.__dict__)


def unsendable(event: Event) -> str | None:
    """Why the server would refuse this event (422), or None: checked before a push, so that
    one such event in the outbox does not hold up the others."""
    try:
        WireEvent.model_validate(to_wire(event))
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "value_error":  # unstorable's own reason, which says where
            return str(err["ctx"]["error"])
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return None


class PushRequest(Strict):
    """A batch of events made on (or imported by) the pushing device."""

    device_id: DeviceId = Field(description="The pushing device; a token serves one device.")
    events: list[WireEvent] = Field(max_length=MAX_BATCH)


class PullQuery(Strict):
    """`GET /v1/events` query parameters; unknown ones are refused too."""

    after: QueryCursor = Field(0, description="The cursor: the last sequence seen.")
    limit: QueryLimit = MAX_PULL
    wait: QuerySeconds = Field(0, description="Seconds to wait for news (long-poll).")


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class PushResult(BaseModel):
    id: EventId
    status: Outcome
    seq: Seq | None = Field(None, description="The server sequence of a stored event.")
    reason: Line | None = Field(None, description="Why an event was rejected.")

    @property
    def acknowledged(self) -> bool:
        """The server holds this event: the client may drop it from its outbox."""
        return self.status is not Outcome.REJECTED


class Timed(BaseModel):
    server_time: datetime = Field(description="The server's clock when it answered.")


class PushResponse(Timed):
    results: list[PushResult] = Field(max_length=MAX_BATCH)
    head: Seq = Field(description="The highest sequence the server had assigned.")


class Sequenced(BaseModel):
    seq: Seq
    event: WireEvent


class PullResponse(Timed):
    server_id: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Names the database: a cursor is only valid for it.",
    )
    events: list[Sequenced] = Field(max_length=MAX_PULL)
    next: Seq = Field(description="The cursor to pull after next time.")
    head: Seq = Field(description="The highest sequence the server had assigned.")


class Health(Timed):
    status: Annotated[str, Field(max_length=64)] = "ok"
    version: Annotated[str, Field(max_length=64)]


# -- channels: what a team's consoles are told of the server's channels ---------------------

ChannelName = Annotated[str, Field(pattern=f"^{CHANNEL_NAME.pattern}$")]
Word = Annotated[str, Field(max_length=64, pattern=r"^[a-z0-9_-]*$")]
MAX_CHANNELS = 1000
MAX_DRAFT = 50_000
"""Characters of a draft update: what `PostUpdate` would accept."""


class ChannelRoute(BaseModel):
    """A channel as a console needs to know it: what it carries (never its endpoint or
    secret, which stay on the server)."""

    name: ChannelName
    kind: Word
    audiences: list[Word] = Field(max_length=16)
    on: list[Word] = Field(max_length=16)


class PreviewRequest(Strict):
    """An update not posted yet, for the dry run of what each channel would receive."""

    incident_id: EventId
    audience: Literal["internal", "stakeholders", "status-page", "customers"]
    text: Annotated[str, Field(min_length=1, max_length=MAX_DRAFT, pattern=NO_NUL)]
    template: Annotated[str, Field(max_length=500, pattern=NO_NUL)] = ""


class PreviewedRequest(BaseModel):
    """One request exactly as the channel would send it, secrets redacted."""

    method: Annotated[str, Field(max_length=16)]
    url: Annotated[str, Field(max_length=4000)]
    headers: dict[str, str] = Field(max_length=100)
    body: Annotated[str, Field(max_length=4 * MAX_DRAFT + 100_000)]


class ChannelPreview(BaseModel):
    """What one channel would be sent for the draft; `error`: why it cannot be shown."""

    channel: ChannelName
    kind: Word
    requests: list[PreviewedRequest] = Field(max_length=20)
    error: Annotated[str, Field(max_length=1000)] = ""


class Problem(BaseModel):
    """Every error: a one-line reason, and pydantic's errors for a 422."""

    detail: str
    errors: list[dict[str, Any]] | None = None


def now() -> datetime:
    return datetime.now(UTC)
