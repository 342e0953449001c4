"""Which channels carry an event, and what became of each delivery: a pure fold.

A delivery is one event to one channel. Whoever delivers (the server, or the local warroom
when there is none) records each outcome as an event of the delivered event's incident:
`delivery_sent` (the remote's reference, when) and `delivery_failed` (why, whether it will
be tried again). Those events sync like any other, so every responder can fold them into
the per-channel state of every update, and the postmortem can say when an update was
drafted and when it reached whom.

The fold is order-independent like `IncidentState`: a sent result wins over any failure
(nothing un-sends a message), and among results of the same kind the latest attempt wins.

An event may name channels it must not reach (`untold`: the Incident Commander unticked them
when declaring). `told` is the one check of that, made by `Route.carries` and by every
channel's `carries` (`warroom.delivery.channel`), so no deliverer and no kind can forget it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from warroom.core.events import Event
from warroom.core.hlc import stamp_time

RESULT_KINDS = ("delivery_sent", "delivery_failed")
LIFECYCLE = ("declared", "severity", "status", "roles", "resolved")
"""What a channel's `on` may name, besides the updates of its audiences."""

DeliveryState = Literal["pending", "sent", "retrying", "failed"]

CHANNEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""What `[channels.NAME]` may be called (ASCII, so an event can name one safely)."""
MAX_UNTOLD = 64
"""How many channels one event may keep itself from."""


def untold(event: Event) -> frozenset[str]:
    """The channels `event` must not reach (a declaration's unticked channels)."""
    names = event.payload.get("untold")
    if not isinstance(names, list | tuple):
        return frozenset()
    return frozenset(n for n in names if isinstance(n, str))


def told(event: Event, channel: str) -> bool:
    """Whether `channel` may receive `event`: the one check of `untold`, whatever the kind."""
    return channel not in untold(event)


def carries(
    kind: str, payload: Mapping[str, Any], audiences: Collection[str], on: Collection[str]
) -> bool:
    """Whether a channel with these audiences and lifecycle events gets a delivery for an
    event of this kind: updates go by audience, lifecycle events by `on`."""
    if kind == "update_posted":
        return str(payload.get("audience", "")) in audiences
    if kind == "declared":
        return "declared" in on
    if kind == "severity_changed":
        return "severity" in on
    if kind == "status_changed":
        return ("resolved" if payload.get("status") == "resolved" else "status") in on
    if kind in ("role_assigned", "role_released"):
        return "roles" in on
    return False


@dataclass(frozen=True, slots=True)
class Route:
    """A channel as far as routing goes: no secret, no endpoint (what the composer shows)."""

    name: str
    kind: str
    audiences: frozenset[str]
    on: frozenset[str]

    def carries(self, event: Event) -> bool:
        return told(event, self.name) and carries(
            event.kind, event.payload, self.audiences, self.on
        )


def routes_for(event: Event, routes: Iterable[Route]) -> list[Route]:
    """The channels that will receive `event` (a draft update included), in config order."""
    return [route for route in routes if route.carries(event)]


@dataclass(frozen=True, slots=True)
class Result:
    """The latest known outcome of one delivery (event x channel)."""

    event_id: str
    channel: str
    state: DeliveryState
    attempt: int = 0
    at: datetime | None = None
    """When it was sent, or when the attempt failed."""
    channel_kind: str = ""
    ref: str = ""
    permalink: str = ""
    reason: str = ""
    next_at: datetime | None = None
    """When a retrying delivery is tried next (None: unknown, or not retried)."""
    recorded: tuple[str, str] = ("", "")
    """The (stamp, id) of the result event: the order among results of the same kind."""


def result_of(event: Event) -> Result | None:
    """The outcome a `delivery_sent`/`delivery_failed` event records; None for other kinds
    and for malformed payloads (a peer's, from a newer version: never fatal)."""
    if event.kind not in RESULT_KINDS:
        return None
    p = event.payload
    try:
        target, channel = str(p["event"]), str(p["channel"])
        attempt = int(p.get("attempt", 0))
        at = _when(p.get("at")) or stamp_time(event.hlc)
        if event.kind == "delivery_sent":
            return Result(
                target,
                channel,
                "sent",
                attempt,
                at,
                str(p.get("channel_kind", "")),
                str(p.get("ref", "")),
                str(p.get("permalink", "")),
                recorded=(event.hlc, event.id),
            )
        retry = bool(p.get("retry", False))
        return Result(
            target,
            channel,
            "retrying" if retry else "failed",
            attempt,
            at,
            str(p.get("channel_kind", "")),
            reason=str(p.get("reason", "")),
            next_at=_when(p.get("next_at")) if retry else None,
            recorded=(event.hlc, event.id),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else None


def _beats(new: Result, old: Result) -> bool:
    if (new.state == "sent") != (old.state == "sent"):
        return new.state == "sent"
    return (new.attempt, new.recorded) > (old.attempt, old.recorded)


class Deliveries:
    """The outcome of every delivery of an incident, by event and channel."""

    def __init__(self) -> None:
        self._by_event: dict[str, dict[str, Result]] = {}
        self.recorded = 0
        """How many result events were applied (the console's timeline leaves them out)."""

    def apply(self, event: Event) -> None:
        if event.kind in RESULT_KINDS:
            self.recorded += 1
        result = result_of(event)
        if result is None:
            return
        channels = self._by_event.setdefault(result.event_id, {})
        old = channels.get(result.channel)
        if old is None or _beats(result, old):
            channels[result.channel] = result

    def of(self, event_id: str) -> dict[str, Result]:
        """Each channel's latest outcome for one event (channels with none are absent)."""
        return dict(self._by_event.get(event_id, {}))

    def event_ids(self) -> list[str]:
        return sorted(self._by_event)

    def status(
        self, event: Event, routes: Iterable[Route], pending_since: datetime | None = None
    ) -> list[Result]:
        """One line per channel that carries `event`: its outcome, or pending; then any
        channel that recorded an outcome but is no longer configured here.

        `pending_since`: an event recorded before then with no outcome is left out rather
        than called pending (history from before anyone delivered is never sent)."""
        known = self._by_event.get(event.id, {})
        waiting = pending_since is None or stamp_time(event.hlc) >= pending_since
        out = []
        for route in routes:
            if not route.carries(event):
                continue
            result = known.get(route.name)
            if result is not None:
                out.append(result)
            elif waiting:
                out.append(Result(event.id, route.name, "pending", channel_kind=route.kind))
        listed = {r.channel for r in out}
        out += [known[name] for name in sorted(known) if name not in listed]
        return out

    def failed(self) -> list[Result]:
        """Deliveries that failed for good, in the order they failed (a later sent result,
        after `warroom deliveries retry`, takes one off)."""
        found = [r for channels in self._by_event.values() for r in channels.values()]
        return sorted((r for r in found if r.state == "failed"), key=lambda r: r.recorded)


def fold(events: Iterable[Event]) -> Deliveries:
    """The delivery outcomes recorded among `events` (any order)."""
    deliveries = Deliveries()
    for event in events:
        deliveries.apply(event)
    return deliveries
