"""The logs pane: followed lines from one or many pods, coloured per pod, filterable, pausable.

Followers fill a bounded `LogBuffer` from threads of their own; a timer drains it every DRAIN
seconds in one batch. The view is a line-API widget over a bounded list (only visible rows are drawn),
so a flood costs an append per line, not a render. Text is drawn as plain segments: escape
codes were stripped by the follower and Rich markup in a line is shown as typed.
"""

from __future__ import annotations

import bisect
import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, Static

from warroom.kube.gateway import Gateway
from warroom.kube.logs import Line, LogOptions, LogSession, LogTarget

DRAIN = 0.05
PALETTE = ("#5fafff", "#ffaf5f", "#87d787", "#d787ff", "#5fd7d7", "#ff87af", "#d7d75f", "#afafff")
HIGHLIGHT = Style(color="#000000", bgcolor="#ffd700", bold=True)
CURSOR = Style(bgcolor="#264f78")


def pod_colour(pod: str) -> str:
    """The same pod always gets the same colour, across sessions and machines."""
    return PALETTE[zlib.crc32(pod.encode()) % len(PALETTE)]


@dataclass
class Filters:
    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None
    highlight: re.Pattern[str] | None = None

    def passes(self, text: str) -> bool:
        if self.include is not None and not self.include.search(text):
            return False
        return self.exclude is None or not self.exclude.search(text)


class LogView(ScrollView, can_focus=True):
    """A bounded, filtered list of lines drawn with the line API; follows the tail."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "cursor(-20)", "Page up", show=False),
        Binding("pagedown", "cursor(20)", "Page down", show=False),
        Binding("end,G", "tail", "Tail", show=False),
    ]

    def __init__(self, max_lines: int = 20_000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_lines = max_lines
        self.kept: list[Line] = []
        """Everything kept (the ring), filtered or not."""
        self.shown: list[Line] = []
        """What is shown: `lines` through the filters, frozen while paused."""
        self.sources: list[tuple[str, Style]] = []
        self.filters = Filters()
        self.wrap = False
        self.timestamps = False
        self.paused = False
        self.pending = 0
        """Lines that arrived (and pass the filters) while paused."""
        self.dropped = 0
        self.received = 0
        """Lines added since the last clear, kept or not (throughput, status)."""
        self.cursor: int | None = None
        """Index into `visible` of the chosen line; None follows the tail."""
        self._rows: list[int] = []
        """With wrap: first screen row of each visible line, plus the total at the end."""

    # -- data -----------------------------------------------------------------------------

    def set_sources(self, labels: list[str], pods: list[str]) -> None:
        self.sources = [
            (label, Style(color=pod_colour(pod), bold=True))
            for label, pod in zip(labels, pods, strict=True)
        ]

    def clear(self) -> None:
        self.kept, self.shown, self.pending, self.dropped, self.cursor = [], [], 0, 0, None
        self.received = 0
        self._relayout()

    def add(self, lines: list[Line], dropped: int = 0) -> None:
        """One drained batch."""
        self.dropped += dropped
        self.received += len(lines)
        if len(lines) > self.max_lines:
            lines = lines[-self.max_lines :]  # older ones would be trimmed at once anyway
        self.kept.extend(lines)
        self.kept = _trimmed(self.kept, self.max_lines)
        if self.paused:
            self.pending += self._count_passing(lines)
            return
        passes = self.filters.passes
        plain = self.filters.include is None and self.filters.exclude is None
        self.shown.extend(lines if plain else [ln for ln in lines if passes(ln[2])])
        before = len(self.shown)
        self.shown = _trimmed(self.shown, self.max_lines)
        if self.cursor is not None:
            self.cursor = max(self.cursor - (before - len(self.shown)), 0)
        self._relayout()

    def _count_passing(self, lines: list[Line]) -> int:
        return sum(1 for ln in lines if self.filters.passes(ln[2]))

    def refilter(self) -> None:
        """Filters changed or pause ended: rebuild what is shown from everything kept."""
        passes = self.filters.passes
        self.shown = [ln for ln in self.kept if passes(ln[2])]
        self.pending = 0
        self.cursor = None
        self._relayout()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused:
            self.refilter()

    def set_wrap(self, wrap: bool) -> None:
        self.wrap = wrap
        self._relayout()

    def set_timestamps(self, on: bool) -> None:
        self.timestamps = on
        self._relayout()

    @property
    def chosen(self) -> Line | None:
        """The cursor's line, else the newest shown."""
        if not self.shown:
            return None
        return self.shown[self.cursor if self.cursor is not None else -1]

    def plain(self, line: Line) -> str:
        label = self.sources[line[0]][0] if line[0] < len(self.sources) else "?"
        stamp = f"{line[1]} " if self.timestamps else ""
        return f"{label} {stamp}{line[2]}" if len(self.sources) > 1 else f"{stamp}{line[2]}"

    # -- layout -----------------------------------------------------------------------------

    def _prefix_width(self) -> int:
        label = (
            max((len(s[0]) for s in self.sources), default=0) + 1 if len(self.sources) > 1 else 0
        )
        return label + (13 if self.timestamps else 0)

    def _relayout(self) -> None:
        width = max(self.scrollable_content_region.width, 1)
        if self.wrap:
            body = max(width - self._prefix_width(), 1)
            rows, total = [], 0
            for line in self.shown:
                rows.append(total)
                total += max(1, -(-len(line[2]) // body))
            rows.append(total)
            self._rows = rows
            height = total
        else:
            height = len(self.shown)
        self.virtual_size = Size(width, height)
        if self.cursor is None and not self.paused:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def on_resize(self) -> None:
        self._relayout()

    # -- drawing ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        row = self.scroll_offset.y + y
        width = self.size.width
        if self.wrap:
            index = bisect.bisect_right(self._rows, row) - 1
            if not 0 <= index < len(self.shown):
                return Strip.blank(width)
            part = row - self._rows[index]
        else:
            index, part = row, 0
            if index >= len(self.shown):
                return Strip.blank(width)
        return self._strip(index, part, width)

    def _strip(self, index: int, part: int, width: int) -> Strip:
        source, stamp, text = self.shown[index]
        base = CURSOR if index == self.cursor else Style()
        segments: list[Segment] = []
        if part == 0:
            if len(self.sources) > 1:
                label, style = self.sources[source] if source < len(self.sources) else ("?", base)
                pad = self._prefix_width() - (13 if self.timestamps else 0)
                segments.append(Segment(label.ljust(pad)[:pad], base + style))
            if self.timestamps:
                segments.append(Segment(stamp[11:23].ljust(13), base + Style(color="#8a8a8a")))
        else:
            segments.append(Segment(" " * self._prefix_width(), base))
        if self.wrap:
            body = max(width - self._prefix_width(), 1)
            text = text[part * body : (part + 1) * body]
        segments.extend(self._highlighted(text, base))
        return Strip(segments).crop(0, width).extend_cell_length(width, base)

    def _highlighted(self, text: str, base: Style) -> list[Segment]:
        pattern = self.filters.highlight
        if pattern is None:
            return [Segment(text, base)]
        out, at = [], 0
        for match in pattern.finditer(text):
            if match.end() == match.start():
                continue
            out.append(Segment(text[at : match.start()], base))
            out.append(Segment(match.group(), base + HIGHLIGHT))
            at = match.end()
        out.append(Segment(text[at:], base))
        return out

    # -- movement ---------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        if not self.shown:
            return
        start = self.cursor if self.cursor is not None else len(self.shown) - 1
        self.cursor = min(max(start + delta, 0), len(self.shown) - 1)
        self._show_cursor()

    def action_tail(self) -> None:
        self.cursor = None
        self._relayout()

    def _show_cursor(self) -> None:
        if self.cursor is None:
            return
        row = self._rows[self.cursor] if self.wrap else self.cursor
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)
        self.refresh()

    def on_click(self, event: Click) -> None:
        row = self.scroll_offset.y + event.y
        if self.wrap:
            row = bisect.bisect_right(self._rows, row) - 1
        if 0 <= row < len(self.shown):
            self.cursor = row
            self.refresh()


def _trimmed(lines: list[Line], limit: int) -> list[Line]:
    """Keep the newest `limit`; trims in steps so the copy is amortised."""
    if len(lines) > limit + limit // 4:
        return lines[-limit:]
    return lines


class LogsPane(Widget):
    """Follows pods' logs into a `LogView`, with filters, pause, pin and save."""

    BINDINGS = [
        Binding("space", "pause", "Pause"),
        Binding("slash", "ask('include')", "Include"),
        Binding("backslash", "ask('exclude')", "Exclude"),
        Binding("h", "ask('highlight')", "Highlight", show=False),
        Binding("w", "wrap", "Wrap", show=False),
        Binding("t", "timestamps", "Times", show=False),
        Binding("p", "pin", "Pin line"),
        Binding("s", "save", "Save"),
        Binding("escape", "close_input", "Close", show=False),
    ]

    class LinePinned(Message):
        """The user pinned a line as evidence: the console records it as `log_pinned`."""

        def __init__(
            self, pod: str, container: str | None, namespace: str, source_time: str, text: str
        ) -> None:
            super().__init__()
            self.pod = pod
            self.container = container
            self.namespace = namespace
            self.source_time = source_time
            self.text = text

    def __init__(
        self,
        gateway: Gateway,
        max_lines: int = 20_000,
        save_dir: Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.gateway = gateway
        self.max_lines = max_lines
        self.save_dir = save_dir or Path.cwd()
        self.session: LogSession | None = None
        self._asking = ""

    def compose(self) -> ComposeResult:
        yield Static("", classes="logs-status")
        yield LogView(self.max_lines)
        yield Input(classes="logs-input")

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def on_mount(self) -> None:
        self.query_one(Input).display = False
        self.set_interval(DRAIN, self.drain)
        self._status()

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.stop()

    # -- following -------------------------------------------------------------------------

    def follow(self, targets: list[LogTarget], options: LogOptions | None = None) -> None:
        """Replace what is followed; each target gets a follower thread."""
        if self.session is not None:
            self.session.stop()
        self.session = LogSession(self.gateway, targets, options, maxlen=self.max_lines * 2)
        labels = [t.label for t in targets]
        self.view.clear()
        self.view.set_sources(labels, [t.pod for t in targets])
        self.session.start()
        self._status()

    def follow_pod(
        self, pod: dict[str, Any], options: LogOptions | None = None, container: str | None = None
    ) -> None:
        """A pod (wire form) from the pods pane: one container, or all of them."""
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        names = [container] if container else [c["name"] for c in spec.get("containers") or []]
        self.follow([LogTarget(meta["namespace"], meta["name"], name) for name in names], options)

    def drain(self) -> None:
        """Move whatever the followers buffered into the view, in one batch."""
        if self.session is None:
            return
        lines, dropped = self.session.buffer.drain()
        if lines or dropped:
            self.view.add(lines, dropped)
        self._status()

    def _status(self) -> None:
        view = self.view
        text = Text()
        if self.session is None:
            text.append("select a pod (Enter in the pods pane) to follow its logs", style="#8a8a8a")
        else:
            text.append(f"{len(view.shown)} lines", style="#8a8a8a")
            text.append(f" · {self.session.state}", style="#8a8a8a")
        if view.paused:
            text.append(f"  ⏸ paused — {view.pending} new lines", style="bold #ffaf00")
        if view.dropped:
            text.append(f"  {view.dropped} dropped", style="#ff5f5f")
        for name in ("include", "exclude", "highlight"):
            pattern = getattr(view.filters, name)
            if pattern is not None:
                text.append(f"  {name}:", style="#8a8a8a")
                text.append(pattern.pattern)
        flags = [name for name, on in (("wrap", view.wrap), ("times", view.timestamps)) if on]
        if flags:
            text.append("  [" + " ".join(flags) + "]", style="#8a8a8a")
        self.query_one(".logs-status", Static).update(text)

    # -- keys -------------------------------------------------------------------------------

    def action_pause(self) -> None:
        self.view.set_paused(not self.view.paused)
        self._status()

    def action_wrap(self) -> None:
        self.view.set_wrap(not self.view.wrap)
        self._status()

    def action_timestamps(self) -> None:
        self.view.set_timestamps(not self.view.timestamps)
        self._status()

    def action_ask(self, which: str) -> None:
        self._asking = which
        box = self.query_one(Input)
        current = getattr(self.view.filters, which)
        box.value = current.pattern if current is not None else ""
        box.placeholder = f"{which} regex (empty clears, Esc cancels)"
        box.display = True
        box.focus()

    def action_close_input(self) -> None:
        box = self.query_one(Input)
        if box.display:
            box.display = False
            self.view.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.set_filter(self._asking, event.value)

    def set_filter(self, which: str, pattern: str) -> bool:
        """Set the include / exclude / highlight regex; an invalid one changes nothing."""
        try:
            compiled = re.compile(pattern) if pattern else None
        except re.error as error:
            self.notify(f"invalid regex {pattern!r}: {error}", title="Logs", severity="error")
            return False
        setattr(self.view.filters, which, compiled)
        if which == "highlight":
            self.view.refresh()
        else:
            self.view.refilter()
        self.action_close_input()
        self._status()
        return True

    def action_pin(self) -> None:
        line = self.view.chosen
        if line is None or self.session is None:
            return
        target = self.session.sources[line[0]]
        self.post_message(
            self.LinePinned(target.pod, target.container, target.namespace, line[1], line[2])
        )
        self.notify("line pinned to the timeline", title="Logs")

    def action_save(self) -> None:
        view = self.view
        text = "".join(view.plain(line) + "\n" for line in view.shown)
        path = self.save_dir / f"warroom-logs-{datetime.now():%Y%m%d-%H%M%S}.log"
        self._write(path, text)

    @work(thread=True, group="logs-save", exit_on_error=False)
    def _write(self, path: Path, text: str) -> None:
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            self.app.call_from_thread(self.notify, f"not saved: {error}", severity="error")
            return
        lines = text.count("\n")
        self.app.call_from_thread(self.notify, f"{lines} lines saved to {path}", title="Logs")
