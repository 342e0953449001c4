"""Building events by hand for core tests: explicit clocks, no store."""

from __future__ import annotations

from typing import Any

from warroom.core.events import Event
from warroom.core.hlc import Stamp
from warroom.core.ids import new_id

INCIDENT = new_id()
T0 = 1_790_000_000_000  # ms


class Maker:
    def __init__(self, device: str = "dev-a") -> None:
        self.device = device

    def __call__(
        self, minute: float, kind: str, payload: dict[str, Any], actor: str = "alice", n: int = 0
    ) -> Event:
        return Event(
            id=new_id(),
            incident_id=INCIDENT,
            device_id=self.device,
            hlc=Stamp(int(T0 + minute * 60_000), n).encode(),
            actor=actor,
            kind=kind,
            payload=payload,
        )


def at(minute: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp((T0 + minute * 60_000) / 1000, UTC)
