"""The immutable events that make up an incident's log.

An `Event` is the envelope every producer (keyboard, CLI, sync, Kubernetes watchers) emits.
Payloads of the kinds this version knows are validated by the models in
`warroom.core.payloads`; a kind it does not know (written by a newer client) is kept as a
plain JSON object and shown generically. This module does not import pydantic: reading and
drawing events never needs it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from warroom.core.hlc import stamp_time

__all__ = ["Event", "PayloadError", "normalise_payload", "parse_payload"]


class PayloadError(ValueError):
    """A payload that does not fit its kind; the message says which field and why."""


def parse_payload(kind: str, payload: dict[str, Any], *, strict: bool = False) -> Any:
    """The validated payload model of a known kind, or None for a kind this version does
    not know (`strict`: refused). Raises PayloadError naming the field. (Loads pydantic on
    first use.)"""
    from warroom.core.payloads import parse_payload as parse

    return parse(kind, payload, strict=strict)


def normalise_payload(kind: str, payload: Any, *, strict: bool = False) -> dict[str, Any]:
    """The payload as it is stored: validated for known kinds, plain JSON types; `strict`
    (local writes) refuses unknown kinds and fields."""
    from warroom.core.payloads import normalise

    return normalise(kind, payload, strict=strict)


class Event(NamedTuple):
    """One immutable fact in an incident's log.

    A named tuple so that reading 100k events from the trusted local store costs little;
    everything from outside goes through `Event.checked`, which validates it with pydantic
    (`warroom.core.payloads.EventModel`; unknown keys are refused) including the payload.
    """

    id: str
    incident_id: str
    device_id: str
    hlc: str
    actor: str
    kind: str
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
        from warroom.core.payloads import checked_event

        return checked_event(data)
