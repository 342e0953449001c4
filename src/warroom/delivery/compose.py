"""What a channel is given to send: an event's words and context (`Outgoing`), and the dry
run of what it would send (`preview`), for the engine, the CLI and the composer alike."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from warroom.core.describe import summarize
from warroom.core.events import Event
from warroom.core.hlc import Stamp
from warroom.core.ids import new_id
from warroom.core.state import IncidentState
from warroom.core.text import clean
from warroom.delivery.channel import Channel, Delivered, DeliveryError, Outgoing, Request
from warroom.store.deliveries import Row

Links = Callable[[IncidentState], Mapping[str, str]]
"""Where people can read more about an incident (`status_page`, `incident`), if known."""


def no_links(_state: IncidentState) -> Mapping[str, str]:
    return {}


def text_of(event: Event) -> str:
    """The words to send: an update's body as posted, else one line saying what changed.
    Terminal escapes and invisible characters are gone; line breaks are kept."""
    if event.kind == "update_posted":
        return clean(str(event.payload.get("body", ""))).strip()
    return summarize(event)


def delivered_of(rows: Iterable[Row]) -> tuple[Delivered, ...]:
    return tuple(Delivered(r.event_id, r.ref, r.permalink, dict(r.extra)) for r in rows)


def outgoing(
    channel: str,
    event: Event,
    incident: IncidentState,
    previous: Sequence[Row] = (),
    links: Links = no_links,
) -> Outgoing:
    return Outgoing(
        channel=channel,
        event=event,
        incident=incident,
        text=text_of(event),
        previous=delivered_of(previous),
        links=dict(links(incident)),
    )


def draft_update(
    incident: IncidentState,
    body: str,
    *,
    audience: str = "internal",
    template: str = "",
    actor: str = "you",
    now: datetime,
) -> Event:
    """An update not posted yet, as the event it would be (a fresh id; the composer's
    dry run shows what each channel would receive for it)."""
    stamp = Stamp(int(now.timestamp() * 1000), 0).encode()
    payload = {"audience": audience, "template": template, "body": body}
    return Event(new_id(), incident.incident_id, "draft", stamp, actor, "update_posted", payload)


@dataclass(frozen=True)
class Preview:
    """What one channel would be sent for one event (the dry run); `error`: why it cannot
    be shown (the channel refused to build it)."""

    channel: str
    kind: str
    event: Event
    requests: tuple[Request, ...] = ()
    error: str = ""


def preview(
    channels: Iterable[Channel],
    event: Event,
    incident: IncidentState,
    previous: Mapping[str, Sequence[Row]] | None = None,
    links: Links = no_links,
) -> list[Preview]:
    """The exact requests each channel that carries `event` would receive, secrets redacted.

    For the composer a draft update is an `Event` not yet stored; nothing is sent."""
    out = []
    for channel in channels:
        if not channel.carries(event):
            continue
        rows = (previous or {}).get(channel.name, ())
        try:
            requests = channel.requests(outgoing(channel.name, event, incident, rows, links))
        except DeliveryError as exc:
            out.append(Preview(channel.name, channel.kind, event, error=exc.reason))
            continue
        out.append(Preview(channel.name, channel.kind, event, tuple(requests)))
    return out
