"""The timeline: every event of the incident, virtualised so 100k events stay instant.

Rows are drawn with the line API from pages of the log cached in memory. A page that is not
cached yet draws as a placeholder while a worker thread fetches it; the widget never reads
the database on the UI thread. Text is drawn as plain segments, so markup in notes is shown
literally; every column is cleaned and fitted to its width in terminal cells
(`warroom.cells.fit`), so tabs, bidi overrides or CJK names never shift the border.

An event that channels carry ends its line with each channel's delivery state (sent, pending,
retrying, FAILED), as detailed as the width allows; the delivery results themselves are not
lines of their own (the console's filter leaves them out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from warroom.cells import fit
from warroom.core.describe import label, summarize
from warroom.core.events import Event
from warroom.core.timefmt import TimeFormatter
from warroom.tui.delivery_text import DeliveryView, row_segments

PAGE = 200

KIND_STYLES: dict[str, str] = {
    "declared": "bold #ff5f5f",
    "severity_changed": "bold #ff875f",
    "status_changed": "bold #ffd75f",
    "role_assigned": "#87afff",
    "role_released": "#87afff",
    "update_posted": "bold #5fd787",
    "action_taken": "#d787ff",
    "alert_received": "bold #ff5f87",
    "alert_resolved": "#5fd75f",
    "alert_attached": "#ff87af",
    "alert_silenced": "#8a8a8a",
    "log_pinned": "#5fd7d7",
    "cluster_fact": "#5fafd7",
    "milestone_set": "#ffaf5f",
    "note": "#d0d0d0",
    "action_item": "#afafff",
    "checklist_checked": "#87d787",
}


@dataclass(frozen=True)
class Page:
    number: int
    events: list[Event]


class Timeline(ScrollView, can_focus=True):
    """A cursor over the (filtered) event list; newest at the bottom, following live."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "cursor(-20)", "Page up", show=False),
        Binding("pagedown", "cursor(20)", "Page down", show=False),
        Binding("home,g", "top", "Top", show=False),
        Binding("end,G", "bottom", "Bottom", show=False),
    ]

    cursor = reactive(0, always_update=True)

    class Selected(Message):
        def __init__(self, event: Event | None) -> None:
            super().__init__()
            self.event = event

    def __init__(self, fetch: Callable[[int, int], list[Event]], tz: tzinfo, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fetch = fetch
        self._pages: dict[int, list[Event]] = {}
        self._by_id: dict[str, Event] = {}  # the events of cached pages, for pins' targets
        self._loading: set[int] = set()
        self.total = 0
        self.follow = True
        self.pinned: set[str] = set()
        self.fmt = TimeFormatter(tz)
        self.delivery = DeliveryView()
        self._generation = 0

    # -- data ---------------------------------------------------------------------------

    def reset(
        self, total: int, pinned: set[str], pages: dict[int, list[Event]] | None = None
    ) -> None:
        """The log changed: drop cached pages (but those fetched ahead), keep the cursor.

        While following, the view is anchored to the bottom, so the first paint already shows
        the newest rows (not the top of the log, then a scroll)."""
        self._generation += 1
        self._pages.clear()
        self._by_id.clear()
        self._loading.clear()
        for number, events in (pages or {}).items():
            self._keep(number, events)
        self.pinned = pinned
        self.total = total
        self.virtual_size = Size(self.size.width, total)
        if self.follow or self.cursor >= total:
            self.cursor = max(total - 1, 0)
        if self.follow:
            self.anchor()
        # The new virtual size is laid out on the next refresh; scroll after it.
        self.call_after_refresh(self._reveal_cursor)
        self.refresh()

    def set_delivery(self, view: DeliveryView) -> None:
        """Fresh delivery outcomes (or routes): redrawn in place."""
        self.delivery = view
        self.refresh()

    def set_timezone(self, tz: tzinfo) -> None:
        self.fmt = TimeFormatter(tz)
        self.refresh()

    def event_at(self, index: int) -> Event | None:
        page = self._pages.get(index // PAGE)
        if page is None:
            return None
        offset = index % PAGE
        return page[offset] if offset < len(page) else None

    def _keep(self, number: int, events: list[Event]) -> None:
        self._pages[number] = events
        self._by_id.update((e.id, e) for e in events)

    def find(self, event_id: str) -> Event | None:
        """An event of a cached page, by id: a pin without a summary names its target."""
        return self._by_id.get(event_id)

    @property
    def selected(self) -> Event | None:
        return self.event_at(self.cursor)

    def _need(self, number: int) -> None:
        if number in self._pages or number in self._loading:
            return
        self._loading.add(number)
        self._load(number, self._generation)

    @work(thread=True, group="timeline-pages")
    def _load(self, number: int, generation: int) -> None:
        events = self._fetch(number * PAGE, PAGE)
        self.app.call_from_thread(self._loaded, number, generation, events)

    def _loaded(self, number: int, generation: int, events: list[Event]) -> None:
        if generation != self._generation:
            return
        self._loading.discard(number)
        self._keep(number, events)
        self.refresh()
        if number == self.cursor // PAGE:
            self.post_message(self.Selected(self.selected))

    # -- drawing --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width  # the scrollbar would hide a last cell
        if index >= self.total:
            return Strip.blank(width)
        event = self.event_at(index)
        if event is None:
            self._need(index // PAGE)
            return Strip([Segment("  …".ljust(width), Style(dim=True))], width)
        return self._row(event, index == self.cursor, width)

    def _row(self, event: Event, highlighted: bool, width: int) -> Strip:
        base = Style()
        if highlighted:
            base = Style(bgcolor="#264f78" if self.has_focus else "#3a3a3a")
        mark = "◆ " if event.id in self.pinned else "  "
        narrow = width < 90
        when = self.fmt.hlc(event.hlc)[11 : 16 if narrow else 19]
        actor_w, kind_w = (8, 9) if narrow else (10, 11)
        actor = fit(event.actor, actor_w)
        kind = fit(label(event.kind), kind_w)
        text_width = max(width - (2 + len(when) + 1 + actor_w + 1 + kind_w + 1), 1)
        results = self.delivery.of(event)
        share = 4 if any(r.state == "failed" for r in results) else 3  # fifths of the text
        delivered = row_segments(results, self.fmt, text_width * share // 5, base)
        used = sum(cell_len(s.text) for s in delivered)
        summary_width = max(text_width - used - (2 if used else 0), 0)
        # A character cut first bounds the work for a 20,000-character note.
        what = summarize(event, 4 * summary_width + 8, lookup=self.find)
        segments = [
            Segment(mark, base + Style(color="#ffaf00", bold=True)),
            Segment(when + " ", base + Style(color="#8a8a8a")),
            Segment(actor + " ", base + Style(color="#87afd7")),
            Segment(kind + " ", base + Style.parse(KIND_STYLES.get(event.kind, "#bcbcbc"))),
            Segment(fit(what, summary_width) + ("  " if used else ""), base),
            *delivered,
        ]
        if used and used + summary_width + 2 < text_width:
            segments.append(Segment(" " * (text_width - used - summary_width - 2), base))
        return Strip(segments, width).crop(0, width)

    # -- movement -------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.follow = new >= self.total - 1
        if not self.follow:
            self.anchor(False)
        self._reveal_cursor()
        self.refresh()
        self.post_message(self.Selected(self.selected))

    def _reveal_cursor(self) -> None:
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        if self.total:
            self.cursor = min(max(self.cursor + delta, 0), self.total - 1)

    def action_top(self) -> None:
        self.cursor = 0

    def action_bottom(self) -> None:
        self.cursor = max(self.total - 1, 0)

    def go_to(self, index: int) -> None:
        self.cursor = min(max(index, 0), max(self.total - 1, 0))
        self.scroll_to(
            y=max(self.cursor - self.scrollable_content_region.height // 2, 0),
            animate=False,
            immediate=True,
        )

    def on_click(self, event: Click) -> None:
        row = self.scroll_offset.y + event.y
        if 0 <= row < self.total:
            self.cursor = row

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, self.total)
        # a narrow screen makes the timeline a strip when Tab reaches the cluster panes
        self.call_after_refresh(self._reveal_cursor)
