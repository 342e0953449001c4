"""Writing to a real event log the way the product does: through typed commands."""

from __future__ import annotations

from typing import Any

from warroom.core.commands import AddNote, Command, Declare
from warroom.core.events import Event
from warroom.core.hlc import Stamp, wall_ms_now
from warroom.core.ids import new_id
from warroom.store import EventLog


def declare(
    log: EventLog,
    title: str = "t",
    severity: str = "SEV2",
    actor: str = "alice",
    incident: str | None = None,
    **fields: Any,
) -> str:
    """A new incident (id given or made); its id."""
    incident = incident or new_id()
    log.execute(incident, [Declare(title=title, severity=severity, **fields)], actor)
    return incident


def run(log: EventLog, incident: str, *commands: Command, actor: str = "a") -> list[Event]:
    return log.execute(incident, list(commands), actor)


def note(log: EventLog, incident: str, text: str, actor: str = "a", pinned: bool = False) -> Event:
    return run(log, incident, AddNote(text=text, pinned=pinned), actor=actor)[0]


def foreign(incident: str, kind: str, payload: dict[str, Any], actor: str = "peer") -> Event:
    """An event as another device (or a newer warroom) made it, for `insert`."""
    return Event(
        new_id(), incident, "peer-device", Stamp(wall_ms_now(), 0).encode(), actor, kind, payload
    )
