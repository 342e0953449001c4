"""Events and request bodies for protocol tests."""

from __future__ import annotations

from typing import Any

from warroom.core.events import Event
from warroom.core.hlc import Stamp, wall_ms_now
from warroom.core.ids import new_id


def notes(n: int, *, device: str, incident: str | None = None, ahead_ms: int = 0) -> list[Event]:
    incident = incident or new_id()
    wall = wall_ms_now() + ahead_ms
    return [
        Event(
            new_id(), incident, device, Stamp(wall, i).encode(), "tester", "note", {"text": f"{i}"}
        )
        for i in range(n)
    ]


def body(device: str, events: list[Event]) -> dict[str, Any]:
    return {"device_id": device, "events": [e.to_dict() for e in events]}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
