"""A minimal delivery driver for channel tests: an incident made through the real command
layer, and each of its events handed to channels the way the contract says the engine does
(carries -> Outgoing with the earlier deliveries -> send). Not the engine: no queue, no
leases, no retries; tests that need those use the engine's API once it has landed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from warroom.core.commands import Command, Context, materialise
from warroom.core.describe import summarize
from warroom.core.events import Event
from warroom.core.hlc import Stamp
from warroom.core.ids import new_id
from warroom.core.policy import DEFAULT_POLICY, Policy
from warroom.core.state import IncidentState
from warroom.delivery.channel import Channel, Delivered, Outgoing

T0 = datetime(2026, 3, 20, 14, 0, tzinfo=UTC)


@dataclass
class Incident:
    """An incident's events, made by commands at a test clock, folded as they are made."""

    policy: Policy = DEFAULT_POLICY
    incident_id: str = field(default_factory=new_id)
    now: datetime = T0
    events: list[Event] = field(default_factory=list)
    state: IncidentState = field(init=False)
    _tick: int = 0

    def __post_init__(self) -> None:
        self.state = IncidentState(incident_id=self.incident_id)

    def run(
        self, *commands: Command, actor: str = "alice", after: timedelta = timedelta(0)
    ) -> list[Event]:
        self.now += after
        made = materialise(
            self.state,
            commands,
            Context(self.policy, self.now),
            device_id="test-device",
            actor=actor,
            ids=iter(new_id, None),
            stamps=self._stamps(),
        )
        for event in made:
            self.state.apply(event)
        self.events.extend(made)
        return made

    def _stamps(self) -> Iterator[str]:
        while True:
            self._tick += 1
            yield Stamp(int(self.now.timestamp() * 1000), self._tick).encode()


def text_of(event: Event) -> str:
    body = event.payload.get("body")
    return body if event.kind == "update_posted" and isinstance(body, str) else summarize(event)


@dataclass
class Driver:
    """Hands events to channels; keeps each channel's successful deliveries per incident."""

    channels: Sequence[Channel]
    links: dict[str, str] = field(default_factory=dict)
    delivered: dict[str, list[Delivered]] = field(default_factory=dict)

    def outgoing(self, channel: Channel, event: Event, state: IncidentState) -> Outgoing:
        return Outgoing(
            channel=channel.name,
            event=event,
            incident=state.copy(),
            text=text_of(event),
            previous=tuple(self.delivered.get(channel.name, [])),
            links=dict(self.links),
        )

    def deliver(self, events: Sequence[Event], state: IncidentState) -> list[tuple[str, Delivered]]:
        """Send every event each channel carries, in order; DeliveryError propagates."""
        out = []
        for event in events:
            for channel in self.channels:
                if channel.carries(event):
                    done = channel.send(self.outgoing(channel, event, state))
                    self.delivered.setdefault(channel.name, []).append(done)
                    out.append((channel.name, done))
        return out
