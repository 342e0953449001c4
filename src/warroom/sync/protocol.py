"""The sync protocol's wire models, shared by the server (OpenAPI spec) and the client.

Version 1 lives under `/v1`. Every request model refuses unknown fields, so a typo or a field
from a newer protocol is a 422 instead of something silently dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from warroom.core.events import Event
from warroom.core.payloads import EventModel

API = "/v1"
MAX_BATCH = 500
MAX_PULL = 1000
MAX_WAIT = 60.0

DeviceId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The core envelope's own model, so that the two can never drift apart; core keeps `Event` a
# NamedTuple (cheap for 100k local rows), which JSON Schema would show as an array.
WireEvent: type[BaseModel] = create_model(
    "WireEvent",
    __base__=EventModel,
    __doc__="One event, as `warroom.core.events.Event` holds it.",
)


def to_wire(event: Event) -> dict[str, Any]:
    return event._asdict()


def from_wire(model: BaseModel) -> Event:
    return Event(**model.__dict__)


class PushRequest(Strict):
    """A batch of events made on (or imported by) the pushing device."""

    device_id: DeviceId = Field(description="The pushing device; a token serves one device.")
    events: list[WireEvent] = Field(max_length=MAX_BATCH)  # type: ignore[valid-type]


class PullQuery(Strict):
    """`GET /v1/events` query parameters; unknown ones are refused too."""

    after: int = Field(0, ge=0, description="The cursor: the last sequence seen.")
    limit: int = Field(MAX_PULL, ge=1, le=MAX_PULL)
    wait: float = Field(0, ge=0, le=MAX_WAIT, description="Seconds to wait for news (long-poll).")


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class PushResult(BaseModel):
    id: str
    status: Outcome
    seq: int | None = Field(None, description="The server sequence of a stored event.")
    reason: str | None = Field(None, description="Why an event was rejected.")

    @property
    def acknowledged(self) -> bool:
        """The server holds this event: the client may drop it from its outbox."""
        return self.status is not Outcome.REJECTED


class Timed(BaseModel):
    server_time: datetime = Field(description="The server's clock when it answered.")


class PushResponse(Timed):
    results: list[PushResult]
    head: int = Field(description="The highest sequence the server had assigned.")


class Sequenced(BaseModel):
    seq: int
    event: WireEvent  # type: ignore[valid-type]


class PullResponse(Timed):
    server_id: str = Field(description="Names the database: a cursor is only valid for it.")
    events: list[Sequenced]
    next: int = Field(description="The cursor to pull after next time.")
    head: int = Field(description="The highest sequence the server had assigned.")


class Health(Timed):
    status: str = "ok"
    version: str


class Problem(BaseModel):
    """Every error: a one-line reason, and pydantic's errors for a 422."""

    detail: str
    errors: list[dict[str, Any]] | None = None


def now() -> datetime:
    return datetime.now(UTC)
