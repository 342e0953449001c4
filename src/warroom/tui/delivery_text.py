"""Where an update goes and what became of it, as the console shows it: the composer's
channel line and dry run, each timeline row's per-channel state, the details of the selected
event, and the words of a failure's notification.

Pure functions over `core.deliveries` (no widget, no IO). Outside text (channel names from a
server, failure reasons from a remote, request bodies) is cleaned by `core.text` and cut in
cells by `warroom.cells`, and goes into `rich.text.Text` as plain strings, never markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from warroom.cells import cut, width
from warroom.core.deliveries import Deliveries, Result, Route, routes_for
from warroom.core.events import Event
from warroom.core.text import clean, one_line
from warroom.core.timefmt import TimeFormatter

if TYPE_CHECKING:
    from warroom.delivery.channel import Request

Source = Literal["local", "server", "none"]

STYLES: dict[str, str] = {
    "sent": "#5fd787",
    "pending": "#8a8a8a",
    "retrying": "bold #ffaf00",
    "failed": "bold #ffffff on #d70000",
}
WORDS = {"sent": "sent", "pending": "pending", "retrying": "retrying", "failed": "FAILED"}
MARKS = {"sent": "✓", "pending": "…", "retrying": "↻", "failed": "✗"}


@dataclass(frozen=True)
class Routing:
    """Which channels carry what, as this console knows it."""

    routes: tuple[Route, ...] | None = None
    """None: not known (yet, or the server could not be asked)."""
    source: Source = "none"
    """Who delivers: this machine (`local`), a server, or nobody (no channel, no server)."""
    problem: str = ""
    """Why the routes are not known (shown in the composer)."""

    @property
    def known(self) -> bool:
        return self.routes is not None

    def carrying(self, event: Event) -> list[Route] | None:
        return None if self.routes is None else routes_for(event, self.routes)


def channel_names(routes: Sequence[Route]) -> str:
    """`war-room (slack), ops-hook (webhook)`."""
    return ", ".join(f"{one_line(r.name, 64)} ({one_line(r.kind, 20)})" for r in routes)


def draft(audience: str) -> Event:
    """An update for `audience` as routing sees it (only its kind and audience matter)."""
    return Event("", "", "draft", "0", "", "update_posted", {"audience": audience})


Reach = Literal["known", "none", "unknown"]


def destination(routing: Routing, audience: str) -> tuple[str, Reach]:
    """Where an update for `audience` will go, in words, and whether that is known."""
    routes = routing.carrying(draft(audience))
    if routes is None:
        return f"channels unknown ({routing.problem or 'not read yet'})", "unknown"
    if not routes:
        return f"recorded only: no channel carries {audience}", "none"
    return channel_names(routes), "known"


def posted_message(routing: Routing, audience: str) -> str:
    """The notification after posting: `Posted for stakeholders → war-room (slack)`."""
    where, reach = destination(routing, audience)
    if reach == "none":
        return f"Recorded for {audience}: no channel carries {audience}"
    return f"Posted for {audience} → {where}"


def confirmation(routing: Routing, audience: str) -> tuple[str, str]:
    """What the post confirmation says of where it goes, and its style."""
    where, reach = destination(routing, audience)
    if reach == "known":
        return f"It goes to {where}.", "bold"
    if reach == "none":
        return f"No channel carries {audience}: it is only recorded.", "bold #ffaf00"
    return (
        f"{where[:1].upper()}{where[1:]}: whoever delivers sends it to the channels that"
        f" carry {audience}.",
        "bold #ffaf00",
    )


# -- the timeline ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryView:
    """What the timeline needs to show each event's delivery state."""

    deliveries: Deliveries = field(default_factory=Deliveries)
    routes: tuple[Route, ...] = ()
    pending_since: datetime | None = None
    """Events from before then with no outcome are not called pending (see core)."""

    def of(self, event: Event) -> list[Result]:
        return self.deliveries.status(event, self.routes, self.pending_since)


class Watch:
    """What the console keeps between reads: the routes, the latest outcomes, and the
    failures it already announced (one notification per new failure)."""

    def __init__(self, opened: datetime) -> None:
        self.opened = opened
        """Events recorded since the console opened may be pending; older ones without an
        outcome were never queued (history is not sent), or are someone else's to tell."""
        self.routing = Routing()
        self.deliveries = Deliveries()
        self._announced: set[tuple[str, str, tuple[str, str]]] | None = None

    def view(self) -> DeliveryView:
        return DeliveryView(self.deliveries, self.routing.routes or (), self.opened)

    @property
    def failed(self) -> list[Result]:
        return self.deliveries.failed()

    def read(self, deliveries: Deliveries) -> list[Result]:
        """Take a fresh read; the failures not seen before (none on the first read of an
        incident: the header's badge shows those)."""
        self.deliveries = deliveries
        failed = deliveries.failed()
        keys = {(r.event_id, r.channel, r.recorded) for r in failed}
        first = self._announced is None
        fresh = (
            []
            if first
            else [
                r
                for r in failed
                if (r.event_id, r.channel, r.recorded) not in (self._announced or set())
            ]
        )
        self._announced = keys if first else (self._announced or set()) | keys
        return fresh

    def forget(self) -> None:
        """Another incident opens: its failures are announced afresh."""
        self.deliveries = Deliveries()
        self._announced = None


def _one(result: Result, fmt: TimeFormatter, form: int) -> str:
    """One channel's state: 0 in full, 1 shorter, 2 as a mark."""
    name = one_line(result.channel, 64)
    if form == 2:
        return f"{name} {MARKS[result.state]}"
    word = WORDS[result.state]
    if result.state == "sent":
        at = fmt.dt(result.at)[11 : 19 if form == 0 else 16]
        return f"{name} {word} {at}"
    if form == 1 or result.state == "pending":
        return f"{name} {word}"
    reason = one_line(result.reason, 120)
    if result.state == "retrying":
        nxt = f"; next {fmt.dt(result.next_at)[11:19]}" if result.next_at else ""
        return f"{name} {word} ({reason}{nxt})"
    return f"{name} {word}: {reason}"


ORDER = {"failed": 0, "retrying": 1, "pending": 2, "sent": 3}


def _counts(results: Sequence[Result]) -> list[tuple[str, str]]:
    """`1 FAILED`, `2 sent`...: each state once, the worst first."""
    seen: dict[str, int] = {}
    for r in results:
        seen[r.state] = seen.get(r.state, 0) + 1
    return [
        (state, f"{seen[state]} {WORDS[state]}") for state in sorted(seen, key=ORDER.__getitem__)
    ]


def row_segments(
    results: Sequence[Result], fmt: TimeFormatter, cells: int, base: Style
) -> list[Segment]:
    """Each channel's state in at most `cells` cells, as detailed as fits: in full, shorter,
    failures by name and the rest counted, as marks (the worst first), or all counted. A
    failure is white on red, and the last to be cut."""
    if not results or cells <= 0:
        return []
    worst_first = sorted(results, key=lambda r: ORDER[r.state])
    forms: list[list[tuple[str, str]]] = [
        [(r.state, _one(r, fmt, 0)) for r in results],
        [(r.state, _one(r, fmt, 1)) for r in results],
        [(r.state, _one(r, fmt, 1)) for r in worst_first if r.state == "failed"]
        + _counts([r for r in results if r.state != "failed"]),
        [(r.state, _one(r, fmt, 2)) for r in worst_first],
        _counts(results),
    ]
    parts = next((f for f in forms if width(" · ".join(text for _, text in f)) <= cells), forms[-1])
    segments: list[Segment] = []
    used = 0
    for i, (state, part) in enumerate(parts):
        sep = " · " if i else ""
        room = cells - used - len(sep)
        if room <= 1:
            break
        text = cut(part, room)
        if sep:
            segments.append(Segment(sep, base + Style(color="#6c6c6c")))
        segments.append(Segment(text, base + Style.parse(STYLES[state])))
        used += len(sep) + width(text)
    return segments


def details(results: Sequence[Result], fmt: TimeFormatter) -> Text:
    """The selected event's deliveries, one channel a line, with reasons and references."""
    text = Text()
    if not results:
        return text
    text.append("\nDelivery\n", style="bold #8a8a8a")
    for r in results:
        text.append(f"  {one_line(r.channel, 64)} ", style="bold")
        text.append(WORDS[r.state], style=STYLES[r.state])
        if r.at is not None and r.state != "pending":
            text.append(f" {fmt.dt(r.at)[11:19]}", style="#8a8a8a")
        if r.attempt > 1:
            text.append(f" (attempt {r.attempt})", style="#8a8a8a")
        if r.state == "retrying" and r.next_at is not None:
            text.append(f" next {fmt.dt(r.next_at)[11:19]}", style="#ffaf00")
        if r.reason and r.state != "sent":
            text.append(f"\n    {one_line(r.reason, 500)}")
        if r.state == "failed":
            text.append("\n    warroom deliveries retry tries it again", style="#8a8a8a")
        link = r.permalink or r.ref
        if link and r.state == "sent":
            text.append(f"\n    {one_line(link, 300)}", style="#87afd7")
        text.append("\n")
    return text


def failure_notice(result: Result, summary: str) -> str:
    """One line for the toast of a new failure."""
    what = one_line(summary, 60)
    return f"{one_line(result.channel, 64)} did not take “{what}”: {one_line(result.reason, 200)}"


# -- the dry run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRun:
    """What one channel would receive for a draft (local or from the server)."""

    channel: str
    kind: str
    requests: tuple[Request, ...] = ()
    error: str = ""


def dry_run_text(runs: Iterable[DryRun], where: str) -> Text:
    """Every request exactly as it would leave (secrets already redacted by the channel),
    JSON bodies indented; all of it outside text, shown literally."""
    text = Text()
    runs = list(runs)
    text.append(f"{where}. Nothing is sent until you post.\n", style="#8a8a8a")
    if not runs:
        text.append("\nNo channel carries this update: it is only recorded.\n")
    for run in runs:
        text.append(f"\n{one_line(run.channel, 64)} ", style="bold")
        text.append(f"({one_line(run.kind, 20)})\n", style="#8a8a8a")
        if run.error:
            text.append(f"  cannot be shown: {one_line(run.error, 500)}\n", style="bold #ff5f5f")
        for request in run.requests:
            text.append(f"  {one_line(request.method, 10)} {one_line(request.url, 500)}\n")
            for name, value in request.headers.items():
                text.append(f"  {one_line(name, 100)}: {one_line(value, 500)}\n", style="#87afd7")
            text.append(_indent(_pretty(request.body)) + "\n")
    return text


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


def _indent(body: str) -> str:
    return "\n".join("    " + line for line in clean(body).splitlines())
