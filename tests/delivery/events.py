"""An incident built event by event, and the `Outgoing` a channel gets for each event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warroom.core.events import Event
from warroom.core.hlc import Stamp, wall_ms_now
from warroom.core.ids import new_id
from warroom.core.state import project
from warroom.delivery.channel import Delivered, Outgoing


class Incident:
    """Events stamped a few minutes ago onwards (Slack's history is searched by time)."""

    def __init__(self, start_ms: int | None = None) -> None:
        self.id = new_id()
        self.events: list[Event] = []
        self.start = (start_ms if start_ms is not None else wall_ms_now()) - 5 * 60_000

    def add(self, kind: str, payload: dict[str, Any], actor: str = "alice") -> Event:
        stamp = Stamp(self.start + len(self.events) * 1000).encode()
        event = Event(new_id(), self.id, "dev-test", stamp, actor, kind, payload)
        self.events.append(event)
        return event

    def declare(self, title: str = "API outage", severity: str = "SEV2", **more: Any) -> Event:
        return self.add("declared", {"title": title, "severity": severity, **more})

    def update(
        self, body: str, audience: str = "internal", template: str = "status-update"
    ) -> Event:
        return self.add("update_posted", {"audience": audience, "template": template, "body": body})

    def out(
        self,
        event: Event,
        previous: tuple[Delivered, ...] = (),
        *,
        channel: str = "slack",
        text: str | None = None,
        links: Mapping[str, str] | None = None,
    ) -> Outgoing:
        upto = self.events[: self.events.index(event) + 1]
        if text is None:
            text = str(event.payload.get("body") or f"{event.kind.replace('_', ' ')}")
        return Outgoing(channel, event, project(upto), text, previous, links or {})
