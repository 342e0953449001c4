"""The logs pane: followed lines from one or many pods, coloured per pod, filterable, pausable.

Followers fill a bounded `LogBuffer` from threads of their own; a timer drains it every DRAIN
seconds in one batch. The view is a line-API widget over bounded deques (only visible rows are
drawn), so a flood costs an append per line, not a render. Text is drawn as plain segments:
the follower made it safe (no escapes, tabs expanded, invisible characters shown) and Rich
markup in a line is shown as typed.
"""

from __future__ import annotations

import bisect
import re
import zlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.cells import cell_len, chop_cells, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, Static

from warroom.core.text import one_line, slug
from warroom.keymap import specs
from warroom.kube.gateway import Gateway
from warroom.kube.loglines import Line, Lines
from warroom.kube.logs import LogOptions, LogSession, LogTarget, PodSetSession
from warroom.kube.watch import WatchSettings
from warroom.tui.steps import Notice, Picked

DRAIN = 0.05
PALETTE = ("#5fafff", "#ffaf5f", "#87d787", "#d787ff", "#5fd7d7", "#ff87af", "#d7d75f", "#afafff")
HIGHLIGHT = Style(color="#000000", bgcolor="#ffd700", bold=True)
CURSOR = Style(bgcolor="#264f78")
GREY = Style(color="#8a8a8a")
STAMP_CELLS = 13
"""HH:MM:SS.mmm and a space."""


def count(n: int, noun: str) -> str:
    """`1 line`, `2 lines`, `20,000 lines`."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


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
    """A bounded, filtered list of lines drawn with the line API; follows the tail.

    Lines live in columns of deques bounded at `max_lines`, so a batch costs its own length,
    never a copy of what is kept. Every row is measured in terminal cells (`rich.cells`): the
    follower has already expanded tabs and made invisible characters visible, so what Rich
    measures is what the terminal draws, and each row is exactly the pane's width."""

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
        self.kept = Lines.bounded(max_lines)
        """Everything kept (the ring), filtered or not."""
        self.shown = Lines.bounded(max_lines)
        """What is shown: `kept` through the filters, frozen while paused."""
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
        """Index into `shown` of the chosen line; None follows the tail."""
        self._starts: deque[int] = deque(maxlen=max_lines)
        """With wrap: the first screen row of each shown line (rows counted since the clear)."""
        self._end = 0
        """With wrap: the row after the last shown line."""
        self._body = 0
        """With wrap: the cells of text per row that `_starts` was computed for."""
        self._strips: LRUCache[tuple[Any, ...], Strip] = LRUCache(256)

    # -- data -----------------------------------------------------------------------------

    def set_sources(self, labels: list[str], pods: list[str]) -> None:
        self.sources = [
            (one_line(label, 60), Style(color=pod_colour(pod), bold=True))
            for label, pod in zip(labels, pods, strict=True)
        ]
        self._strips.clear()

    def add_sources(self, labels: list[str], pods: list[str]) -> None:
        """Sources that joined (pods of a deployment): their lines get a label and colour; the
        label column may widen, so rows are laid out again."""
        width = self._label_width()
        self.sources += [
            (one_line(label, 60), Style(color=pod_colour(pod), bold=True))
            for label, pod in zip(labels, pods, strict=True)
        ]
        self._strips.clear()
        if self._label_width() != width:
            self._relayout(rewrap=True)

    def clear(self) -> None:
        self.kept.clear()
        self.shown.clear()
        self.pending = self.dropped = self.received = 0
        self.cursor = None
        self._relayout(rewrap=True)

    def add(self, lines: Lines, dropped: int = 0) -> None:
        """One drained batch (oldest first)."""
        self.dropped += dropped
        self.received += len(lines)
        if len(lines) > self.max_lines:  # the older ones would be pushed out at once
            lines = lines.tail(self.max_lines)
        self.kept.extend(lines)
        if self.paused:
            self.pending += self._count_passing(lines)
            return
        filters = self.filters
        if filters.include is not None or filters.exclude is not None:
            lines = lines.where(filters.passes)
        overflow = len(self.shown) + len(lines) - self.max_lines
        self.shown.extend(lines)
        if overflow > 0 and self.cursor is not None:
            self.cursor = max(self.cursor - overflow, 0)
        if self.wrap:
            self._wrap_rows(lines.texts)
        self._relayout()

    def _count_passing(self, lines: Lines) -> int:
        return sum(map(self.filters.passes, lines.texts))

    def refilter(self) -> None:
        """Filters changed or pause ended: rebuild what is shown from everything kept."""
        self.shown = Lines.bounded(self.max_lines)
        self.shown.extend(self.kept.where(self.filters.passes))
        self.pending = 0
        self.cursor = None
        self._relayout(rewrap=True)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused:
            self.refilter()

    def set_wrap(self, wrap: bool) -> None:
        self.wrap = wrap
        self._relayout(rewrap=True)

    def set_timestamps(self, on: bool) -> None:
        self.timestamps = on
        self._relayout(rewrap=True)

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

    def _label_width(self) -> int:
        if len(self.sources) < 2:
            return 0
        return max(cell_len(label) for label, _ in self.sources) + 1

    def _prefix_width(self) -> int:
        return self._label_width() + (STAMP_CELLS if self.timestamps else 0)

    def _body_width(self) -> int:
        return max(self.scrollable_content_region.width - self._prefix_width(), 1)

    def _wrap_rows(self, texts: Iterable[str]) -> None:
        """Append the screen rows of newly shown lines (the deque drops the oldest)."""
        body, end, starts = self._body, self._end, self._starts
        for text in texts:
            starts.append(end)
            end += _rows(text, body)
        self._end = end

    def _relayout(self, rewrap: bool = False) -> None:
        width = max(self.scrollable_content_region.width, 1)
        if self.wrap:
            if rewrap or self._body != self._body_width():
                self._body, self._end = self._body_width(), 0
                self._starts.clear()
                self._wrap_rows(self.shown.texts)
            height = self._end - self._starts[0] if self._starts else 0
        else:
            height = len(self.shown)
        if rewrap:
            self._strips.clear()
        self.virtual_size = Size(width, height)
        if self.cursor is None and not self.paused:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def on_resize(self) -> None:
        self._relayout(rewrap=True)
        # the pane opening beside the pods resizes it more than once in a frame: following
        # the tail, be at the end once the layout has settled too
        self.call_after_refresh(self._keep_tail)

    def _keep_tail(self) -> None:
        if self.cursor is None and not self.paused:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _locate(self, row: int) -> tuple[int, int]:
        """The shown line at screen row `row` and which of its wrapped rows it is."""
        if not self.wrap:
            return row, 0
        if not self._starts:
            return -1, 0
        at = row + self._starts[0]
        index = bisect.bisect_right(self._starts, at) - 1
        return index, at - self._starts[index]

    def _first_row(self, index: int) -> int:
        return self._starts[index] - self._starts[0] if self.wrap else index

    # -- drawing ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        index, part = self._locate(self.scroll_offset.y + y)
        if not 0 <= index < len(self.shown):
            return Strip.blank(width)
        return self._strip(index, part, width)

    def _strip(self, index: int, part: int, width: int) -> Strip:
        """Row `part` of shown line `index`, exactly `width` cells wide."""
        line = self.shown[index]
        chosen = index == self.cursor
        pattern = self.filters.highlight
        key = (line, part, width, chosen, pattern, self.timestamps, self.wrap)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._draw(line, part, width, chosen)
        return strip

    def _draw(self, line: Line, part: int, width: int, chosen: bool) -> Strip:
        source, stamp, text = line
        base = CURSOR if chosen else Style()
        segments: list[Segment] = []
        label_width = self._label_width()
        if part == 0:
            if label_width:
                label, style = self.sources[source] if source < len(self.sources) else ("?", base)
                segments.append(Segment(set_cell_size(label, label_width), base + style))
            if self.timestamps:
                segments.append(Segment(set_cell_size(stamp[11:23], STAMP_CELLS), base + GREY))
        elif self._prefix_width():
            segments.append(Segment(" " * self._prefix_width(), base))
        body = max(width - self._prefix_width(), 0)
        if self.wrap:
            text = _row(text, max(self._body, 1), part)
        segments.extend(self._highlighted(text, body, base))
        return Strip(Segment.adjust_line_length(segments, width, base), width)

    def _highlighted(self, text: str, width: int, base: Style) -> list[Segment]:
        """`text` in `width` cells, highlight matches marked."""
        pattern = self.filters.highlight
        if pattern is None:
            return [Segment(set_cell_size(text, width), base)]
        out, at = [], 0
        for match in pattern.finditer(text):
            if match.end() == match.start():
                continue
            out.append(Segment(text[at : match.start()], base))
            out.append(Segment(match.group(), base + HIGHLIGHT))
            at = match.end()
        out.append(Segment(text[at:], base))
        return Segment.adjust_line_length(out, width, base)

    # -- movement ---------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        if not self.shown:
            return
        before = self.cursor
        start = before if before is not None else len(self.shown) - 1
        self.cursor = min(max(start + delta, 0), len(self.shown) - 1)
        self._show_cursor(before)

    def action_tail(self) -> None:
        self.cursor = None
        self._relayout()

    def _show_cursor(self, before: int | None = None) -> None:
        """Scroll the cursor into view; when that is not needed, redraw only the rows of the
        line it left and the line it reached (a key press during a flood draws two rows)."""
        if self.cursor is None:
            return
        row = self._first_row(self.cursor)
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)
        elif before is not None and 0 <= before < len(self.shown):
            for index in (before, self.cursor):
                self.refresh_lines(self._first_row(index), self._height_of(index))
            return
        self.refresh()

    def _height_of(self, index: int) -> int:
        """Screen rows of shown line `index`."""
        if not self.wrap:
            return 1
        after = self._starts[index + 1] if index + 1 < len(self._starts) else self._end
        return after - self._starts[index]

    def on_click(self, event: Click) -> None:
        index, _ = self._locate(self.scroll_offset.y + event.y)
        if 0 <= index < len(self.shown):
            self.cursor = index
            self.refresh()


def _rows(text: str, body: int) -> int:
    """Screen rows `text` wraps to at `body` cells a row."""
    if text.isascii():
        return max(1, -(-len(text) // body))
    return max(1, len(chop_cells(text, body)))


def _row(text: str, body: int, part: int) -> str:
    """Wrapped row `part` of `text`."""
    if text.isascii():
        return text[part * body : (part + 1) * body]
    rows = chop_cells(text, body)
    return rows[part] if part < len(rows) else ""


@dataclass(frozen=True)
class LogScope:
    """What the pane follows, as kubectl logs says it: a pod (`kubectl logs POD`), or every
    pod of a deployment (`kubectl logs -l <its selector>`, stern's multi-pod follow)."""

    namespace: str
    pod: str = ""
    deployment: str = ""
    selector: str = ""
    """The deployment's label selector (read from the cluster, not guessed from labels)."""
    container: str | None = None
    """None: every main container."""
    containers: tuple[str, ...] = ()
    inits: tuple[str, ...] = ()

    @property
    def what(self) -> str:
        return f"deployment/{self.deployment}" if self.deployment else f"pod/{self.pod}"

    @property
    def which(self) -> str:
        if self.container:
            return self.container
        if len(self.containers) == 1:
            return self.containers[0]
        return "all containers"

    @classmethod
    def of_pod(cls, pod: dict[str, Any], container: str | None = None) -> LogScope:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        return cls(
            namespace=str(meta.get("namespace") or ""),
            pod=str(meta.get("name") or ""),
            container=container,
            containers=tuple(str(c.get("name")) for c in spec.get("containers") or []),
            inits=tuple(str(c.get("name")) for c in spec.get("initContainers") or []),
        )


def range_text(options: LogOptions) -> str:
    """`previous run`, `since 5m`, `last 200`, `everything`, as the title says it."""
    if options.since_seconds is not None:
        amount = options.since_seconds
        window = f"{amount // 3600}h" if amount % 3600 == 0 else f"{amount // 60}m"
        said = f"since {window}" if amount % 60 == 0 else f"since {amount}s"
    elif options.tail_lines is not None:
        said = f"last {options.tail_lines:,}"
    else:
        said = "everything"
    return f"previous run · {said}" if options.previous else said


def short_name(pod: str) -> str:
    """A pod's name without its workload's prefix: `checkout-7d9f8b6c5-q2x8z` -> `q2x8z`
    (the random part tells a deployment's pods apart)."""
    return pod.rsplit("-", 1)[-1] if "-" in pod else pod


def default_save_dir() -> Path:
    """Where logs are saved unless the config says (`logs_dir`): the documents folder."""
    import platformdirs

    return Path(platformdirs.user_documents_dir()) / "warroom"


class LogsPane(Widget):
    """Follows pods' logs into a `LogView`, with filters, pause, pin and save."""

    BINDINGS = [
        Binding(s.key, s.action, s.description, show=s.show, id=s.id) for s in specs("logs")
    ]

    class LinePinned(Message):
        """The user pinned a line as evidence: the console records it as `log_pinned`."""

        def __init__(
            self, pod: str, container: str | None, namespace: str, source_time: str, text: str
        ) -> None:
            super().__init__()
            self.pod = pod
            self.container = container
            self.pod_namespace = namespace
            """(`namespace` is Textual's: it names the handler.)"""
            self.source_time = source_time
            self.text = text

    class Closed(Message):
        """The person is done with the logs: the pods pane takes the room again."""

    def __init__(
        self,
        gateway: Gateway,
        max_lines: int = 20_000,
        save_dir: Path | None = None,
        settings: WatchSettings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.gateway = gateway
        self.max_lines = max_lines
        self.save_dir = save_dir
        self.settings = settings
        self.context = ""
        """The cluster context's name, for the saved file's header (the cluster row sets it)."""
        self.session: LogSession | None = None
        self.scope: LogScope | None = None
        self.options = LogOptions()
        self._asking = ""
        self._said: tuple[Any, ...] = ()
        self._titled: tuple[Any, ...] = ()

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
        """Replace what is followed: these containers, each on a follower thread."""
        pods = list(dict.fromkeys(t.pod for t in targets))
        scope = LogScope(
            namespace=targets[0].namespace if targets else "",
            pod=pods[0] if len(pods) == 1 else f"{len(pods)} pods",
            container=targets[0].container if len({t.container for t in targets}) == 1 else None,
            containers=tuple(dict.fromkeys(t.container for t in targets if t.container)),
        )
        self._start(
            scope,
            options or self.options,
            LogSession(self.gateway, targets, options, maxlen=self.max_lines * 2),
        )

    def follow_pod(
        self, pod: dict[str, Any], options: LogOptions | None = None, container: str | None = None
    ) -> None:
        """A pod (wire form) from the pods pane: one container, or all of them."""
        self.follow_scope(LogScope.of_pod(pod, container), options)

    def follow_scope(self, scope: LogScope, options: LogOptions | None = None) -> None:
        options = options or self.options
        session: LogSession
        if scope.deployment:
            session = PodSetSession(
                self.gateway,
                scope.namespace,
                scope.selector,
                scope.container,
                options,
                maxlen=self.max_lines * 2,
                settings=self.settings,
            )
        else:
            names: list[str | None] = (
                [scope.container] if scope.container else list(scope.containers)
            )
            targets = [LogTarget(scope.namespace, scope.pod, name) for name in names or [None]]
            session = LogSession(self.gateway, targets, options, maxlen=self.max_lines * 2)
        self._start(scope, options, session)

    def _start(self, scope: LogScope, options: LogOptions, session: LogSession) -> None:
        if self.session is not None:
            self.session.stop()
        self.scope, self.options, self.session = scope, options, session
        self.view.clear()
        self.view.set_sources([], [])
        self._sync_sources()
        session.start()
        self._status()

    def _sync_sources(self) -> None:
        """Label the sources that joined since the last drain (a deployment's new pods)."""
        session, scope = self.session, self.scope
        if session is None or scope is None:
            return
        new = session.sources[len(self.view.sources) :]
        if not new:
            return
        several = scope.container is None and len(scope.containers) > 1
        if scope.deployment:
            labels = [
                f"{short_name(t.pod)}/{t.container}" if several else short_name(t.pod) for t in new
            ]
        else:
            labels = [
                t.label if len({x.pod for x in session.sources}) > 1 else (t.container or t.pod)
                for t in new
            ]
        self.view.add_sources(labels, [t.pod for t in new])

    def drain(self) -> None:
        """Move whatever the followers buffered into the view, in one batch."""
        if self.session is None:
            return
        lines, dropped = self.session.buffer.drain()
        if len(self.session.sources) != len(self.view.sources):
            self._sync_sources()
        if lines or dropped:
            self.view.add(lines, dropped)
        self._status()

    def _title(self) -> None:
        scope, session = self.scope, self.session
        pods = len(session.pods) if session is not None and scope and scope.deployment else 0
        said = (scope, self.options, pods)
        if said == self._titled:
            return
        self._titled = said
        if scope is None:
            self.border_title = "Logs"
            return
        parts = [scope.what]
        if scope.deployment:
            parts.append(count(pods, "pod"))
        parts += [scope.which, range_text(self.options)]
        # a Text: a str title is parsed as markup, and pod names come from the cluster
        self.border_title = Text("Logs · " + " · ".join(one_line(p, 80) for p in parts))

    def _status(self) -> None:
        """The status line; only redrawn when what it says changes (it is asked 20 times a
        second, and a Static update costs a layout)."""
        self._title()
        view = self.view
        filters = view.filters
        said = (
            self.session and self.session.state,
            len(view.shown),
            view.paused and view.pending,
            view.paused,
            view.dropped,
            filters.include,
            filters.exclude,
            filters.highlight,
            view.wrap,
            view.timestamps,
        )
        if said == self._said:
            return
        self._said = said
        text = Text()
        if self.session is None:
            text.append("select a pod (Enter in the pods pane) to follow its logs", style="#8a8a8a")
        else:
            text.append(count(len(view.shown), "line"), style="#8a8a8a")
            text.append(f" · {self.session.state}", style="#8a8a8a")
        if view.paused:
            text.append(f"  ⏸ paused — {count(view.pending, 'new line')}", style="bold #ffaf00")
        if view.dropped:
            text.append(f"  {view.dropped:,} dropped", style="#ff5f5f")
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
            self.notify(
                f"invalid regex {pattern!r}: {error}", title="Logs", severity="error", markup=False
            )
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
        self.notify("line pinned to the timeline", title="Logs", markup=False)

    def action_close(self) -> None:
        self.post_message(self.Closed())

    def action_previous(self) -> None:
        """The crashed run's last words (`kubectl logs --previous`), or back to following."""
        if self.scope is not None:
            self.follow_scope(self.scope, replace(self.options, previous=not self.options.previous))

    async def action_range(self) -> None:
        from warroom.tui.cluster_flows import log_range, open_flow

        if self.scope is not None:
            await open_flow(self.app, log_range(self.options), self._ranged)

    def _ranged(self, outcome: Any) -> None:
        if not isinstance(outcome, Picked) or self.scope is None:
            self._notice(outcome)
            return
        kind, amount = outcome.value
        options = replace(
            self.options,
            since_seconds=amount if kind == "since" else None,
            tail_lines=amount if kind == "tail" else None,
        )
        self.follow_scope(self.scope, options)

    async def action_container(self) -> None:
        from warroom.tui.cluster_flows import container, open_flow

        scope = self.scope
        if scope is not None:
            flow = container(list(scope.containers), list(scope.inits), scope.container)
            await open_flow(self.app, flow, self._contained)

    def _contained(self, outcome: Any) -> None:
        if isinstance(outcome, Picked) and self.scope is not None:
            self.follow_scope(replace(self.scope, container=outcome.value), self.options)
        else:
            self._notice(outcome)

    def action_all_pods(self) -> None:
        """Every pod of the followed pod's deployment, or back to the one pod."""
        scope = self.scope
        if scope is None:
            return
        if scope.deployment:
            pods = self.session.pods if self.session is not None else []
            if pods:
                self.follow_scope(replace(scope, deployment="", selector="", pod=pods[0]))
            return
        self.follow_deployment(scope)

    @work(thread=True, group="logs-widen", exit_on_error=False)
    def follow_deployment(self, scope: LogScope) -> None:
        """Every pod of the deployment `scope`'s pod belongs to (its selector is read from
        the cluster, in this worker)."""
        from warroom.kube.actions import pod_deployment

        try:
            found = pod_deployment(self.gateway, scope.namespace, scope.pod)
        except Exception as error:
            self.app.call_from_thread(
                self.notify, one_line(f"{scope.what}: {error}"), severity="error", markup=False
            )
            return
        if found is None:
            self.app.call_from_thread(
                self.notify,
                one_line(f"{scope.what} belongs to no deployment"),
                severity="warning",
                markup=False,
            )
            return
        name, selector = found
        wider = replace(scope, deployment=name, selector=selector)
        self.app.call_from_thread(self.follow_scope, wider, self.options)

    def _notice(self, outcome: Any) -> None:
        if isinstance(outcome, Notice):
            self.notify(
                outcome.message, severity="error" if outcome.error else "information", markup=False
            )

    # -- saving -----------------------------------------------------------------------------

    def file_name(self, at: datetime) -> str:
        """What the file holds: `deployment-checkout-checkout-previous-20250615-143611.log`."""
        scope = self.scope
        parts = [scope.what if scope else "logs", scope.which if scope else ""]
        parts.append(range_text(self.options).replace("previous run · ", "previous-"))
        stem = slug(" ".join(p for p in parts if p), 80)
        return f"{stem}-{at:%Y%m%d-%H%M%S}.log"

    def header(self, at: datetime) -> str:
        """The saved file's first line: where, what, which filters, which time range."""
        view, scope = self.view, self.scope
        parts = [f"warroom logs saved {at:%Y-%m-%dT%H:%M:%S%z}"]
        if self.context:
            parts.append(f"context {self.context}")
        if scope is not None:
            parts += [f"namespace {scope.namespace}", scope.what, f"container {scope.which}"]
        parts.append(range_text(self.options))
        pods = (
            sorted(
                {
                    self.session.sources[s].pod
                    for s in set(view.shown.sources)
                    if s < len(self.session.sources)
                }
            )
            if self.session
            else []
        )
        if pods:
            parts.append("pods " + ", ".join(pods))
        for name in ("include", "exclude"):
            pattern = getattr(view.filters, name)
            if pattern is not None:
                parts.append(f"{name} /{pattern.pattern}/")
        if view.shown:
            parts.append(f"lines from {view.shown.stamps[0]} to {view.shown.stamps[-1]}")
        parts.append(count(len(view.shown), "line"))
        return "# " + " · ".join(one_line(p, 2000) for p in parts)

    async def action_save(self) -> None:
        from warroom.tui.cluster_flows import open_flow, save_logs

        at = datetime.now().astimezone()
        directory = self.save_dir or default_save_dir()
        await open_flow(self.app, save_logs(directory, self.file_name(at)), self._save_to)

    def _save_to(self, outcome: Any) -> None:
        if not isinstance(outcome, Picked):
            return
        view = self.view
        at = datetime.now().astimezone()
        text = self.header(at) + "\n" + "".join(view.plain(line) + "\n" for line in view.shown)
        self._write(outcome.value, text)

    @work(thread=True, group="logs-save", exit_on_error=False)
    def _write(self, path: Path, text: str) -> None:
        from warroom.files import write_atomically

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, text)
        except OSError as error:
            self.app.call_from_thread(
                self.notify, f"not saved: {error}", severity="error", markup=False
            )
            return
        lines = text.count("\n") - 1
        self.app.call_from_thread(
            self.notify, f"{lines} lines saved to {path}", title="Logs", timeout=10, markup=False
        )
