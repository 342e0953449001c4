"""The war-room console: one screen with the incident, its timeline, roles and cadence.

Threads: the UI thread only draws. A poller (every 0.5 s) asks the store whether anything
changed, from this process or any other, and posts one `Refreshed` message with the new
state; a single writer thread appends events in the order the user made them; the
timeline loads its pages in workers. Nothing on the UI thread touches the database.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from warroom.config import Settings
from warroom.core import clock
from warroom.core.events import Event, PayloadError
from warroom.core.policy import Policy
from warroom.core.state import IncidentState
from warroom.resources import styles_dir
from warroom.store import EventLog, StoreError, TimelineFilter
from warroom.tui.actions import Actions
from warroom.tui.widgets.footer import KeysFooter
from warroom.tui.widgets.panels import (
    Context,
    Panel,
    cadence_text,
    header_text,
    roles_text,
)
from warroom.tui.widgets.timeline import PAGE, Timeline

if TYPE_CHECKING:  # the cluster panes load only when there is a cluster to show
    from warroom.kube.gateway import Gateway, Target
    from warroom.tui.widgets.logs import LogsPane
    from warroom.tui.widgets.pods import PodsPane

POLL_SECONDS = 0.5
SWITCH_INTERVAL = 0.0005
WARM_UP_AFTER = 0.3  # seconds after the first frame

KEYS: list[Binding] = [
    Binding("n", "note", "Note", id="note"),
    Binding("u", "update", "Update", id="update"),
    Binding("s", "status", "Status", id="status"),
    Binding("v", "severity", "Severity", id="severity"),
    Binding("a", "assign", "Assign", id="assign"),
    Binding("i", "take_command", "Command", id="take_command"),
    Binding("p", "pin", "Pin", id="pin"),
    Binding("m", "milestone", "Milestone", id="milestone", show=False),
    Binding("c", "checklist", "Checklist", id="checklist"),
    Binding("A", "action_item", "Action item", id="action_item", show=False),
    Binding("z", "snooze", "Snooze", id="snooze", show=False),
    Binding("f", "filter", "Filter", id="filter", show=False),
    Binding("t", "jump", "Jump to time", id="jump", show=False),
    Binding("T", "toggle_tz", "UTC/local", id="toggle_tz", show=False),
    Binding("h", "history", "History", id="history", show=False),
    Binding("o", "switch", "Switch incident", id="switch", show=False),
    Binding("D", "declare", "Declare", id="declare", show=False),
    Binding("e", "export", "Export", id="export"),
    Binding("r", "toggle_side", "Panels", id="toggle_side", show=False),
    Binding("K", "cluster", "Cluster", id="cluster", show=False),
    Binding("question_mark", "help", "Keys", id="help"),
    Binding("q", "quit", "Quit", id="quit"),
]


class Refreshed(Message):
    """The log changed (or a refresh was asked for): fresh state and timeline size."""

    def __init__(
        self,
        incident_id: str,
        head: int,
        state: IncidentState,
        total: int,
        page: tuple[int, list[Event]],
    ) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.head = head
        self.state = state
        self.total = total
        self.page = page  # the timeline page the cursor will sit on, fetched ahead


@dataclass(frozen=True)
class Write:
    incident_id: str
    items: list[tuple[str, dict[str, Any]]]
    done: Callable[[list[Event]], None] | None = None


class WarroomApp(Actions, App[None]):
    TITLE = "warroom"
    CSS_PATH = [str(styles_dir() / "app.tcss"), str(styles_dir() / "cluster.tcss")]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = KEYS
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        log: EventLog,
        settings: Settings,
        incident_id: str | None = None,
        now: Callable[[], datetime] | None = None,
        actor: str | None = None,
        kube: Target | None = None,
    ) -> None:
        super().__init__()
        self.kube = kube
        self.store = log
        self.settings = settings
        self.policy: Policy = settings.policy
        self.actor = actor or settings.actor
        self.now = now or (lambda: datetime.now(UTC))
        self.incident_id = incident_id
        self.state: IncidentState | None = None
        self.filter = TimelineFilter()
        self.tz: tzinfo = settings.tz
        self.sync_status = "local only"
        self.cluster_status = "not connected"
        self._head = -1
        self._rang_for: datetime | None = None
        self._ic_warned = False
        self._warmed = False
        self._writes: queue.Queue[Write | None] = queue.Queue()
        self._syncer = None
        self._writer = threading.Thread(target=self._write_loop, name="warroom-writer", daemon=True)

    # -- layout ---------------------------------------------------------------------------

    @property
    def main(self) -> Screen:
        """The console screen, wherever the user is (dialogs stack on top of it)."""
        return self.screen_stack[0]

    def compose(self) -> ComposeResult:
        yield Static("", id="header")
        with Horizontal(id="body"):
            yield Timeline(self._fetch_page, self.tz, id="timeline")
            with Vertical(id="side"):
                yield Panel("Update cadence", id="cadence")
                yield Panel("Roles", id="roles")
                yield Panel("Selected", id="details")
        with Horizontal(id="cluster"):
            if self.kube is None:
                yield Panel("Pods", id="pods")
                yield Panel("Logs", id="logs")
            else:
                from warroom.kube.gateway import Gateway
                from warroom.tui.widgets.logs import LogsPane
                from warroom.tui.widgets.pods import PodsPane

                gateway = Gateway(self.kube)
                yield PodsPane(gateway, incident_commander=self._ic_name, id="pods")
                yield LogsPane(gateway, id="logs")
        yield KeysFooter()

    def on_mount(self) -> None:
        # The writer thread makes several short sqlite calls per append and needs the GIL
        # back after each; at the default 5 ms switch interval a repainting UI thread makes
        # every keystroke's write wait tens of milliseconds.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        if self.settings.keys:
            self.set_keymap(self.settings.keys)
        self.main.query_one("#timeline", Timeline).border_title = "Timeline"
        if self.kube is None:
            self._cluster_placeholder()
        else:
            self.main.query_one("#pods").border_title = "Pods"
            self.main.query_one("#logs").border_title = "Logs"
            self._describe_cluster(self.main.query_one("#pods").gateway)
        self._writer.start()
        if self.settings.server and self.settings.token:
            self.sync_status = "connecting"
            self._start_sync()
        self.set_interval(POLL_SECONDS, self.poll)
        self.set_interval(1.0, self.tick)
        self.main.query_one(Timeline).focus()
        if self.incident_id is None:
            self.choose_incident()
        else:
            self.poll(force=True)

    def on_unmount(self) -> None:
        self._writes.put(None)
        if self._syncer is not None:
            self._syncer.stop()
        sys.setswitchinterval(self._switch_interval)

    def _cluster_placeholder(self) -> None:
        from rich.text import Text

        hint = Text()
        hint.append("No cluster connected.\n", style="bold")
        hint.append("Start one with `warroom sim`, or run with a kubeconfig\n", style="#8a8a8a")
        hint.append("(--kubeconfig / KUBECONFIG, --context, --namespace).", style="#8a8a8a")
        self.main.query_one("#pods", Panel).show(hint)
        self.main.query_one("#logs", Panel).show(
            Text("Select a pod to follow its logs.", "#8a8a8a")
        )

    # -- cluster ----------------------------------------------------------------------------

    @work(thread=True, group="cluster")
    def _describe_cluster(self, gateway: Gateway) -> None:
        """Context and namespace for the header; reading the kubeconfig is IO, so here."""
        from warroom.kube.gateway import GatewayError

        try:
            _, current = gateway.contexts()
            label = f"{current or 'no context'}/{gateway.namespace()}"
        except GatewayError as exc:
            label = f"unavailable: {exc}"
        self.cluster_status = label

    def _ic_name(self) -> str | None:
        holder = self.state.holder("incident_commander") if self.state else None
        return holder.value if holder else None

    def on_pods_pane_pod_selected(self, message: PodsPane.PodSelected) -> None:
        from warroom.kube.logs import LogOptions

        if message.pod:
            self.main.query_one("#logs").follow_pod(message.pod, LogOptions(tail_lines=200))

    def on_logs_pane_line_pinned(self, message: LogsPane.LinePinned) -> None:
        payload = {
            "pod": message.pod,
            "container": message.container or "",
            "namespace": message.namespace,
            "source_time": _aware(message.source_time),
            "text": message.text,
        }
        self.record("log_pinned", payload, self._saved("Log line pinned to the timeline"))

    def on_pods_pane_action_done(self, message: PodsPane.ActionDone) -> None:
        r = message.result
        change = r.change
        payload = {
            "description": " ".join(change.summary) if change else r.message,
            "command": change.command if change else "",
            "result": r.message,
            "ok": r.ok,
        }
        self.record("action_taken", payload)
        self.notify(
            r.message,
            title="Done" if r.ok else "Failed",
            severity="information" if r.ok else "error",
        )

    # -- sync -------------------------------------------------------------------------------

    @work(thread=True, group="sync")
    def _start_sync(self) -> None:
        """Sync runs in its own thread with its own connection; httpx loads here, not at start."""
        from warroom.sync.engine import Syncer

        try:
            syncer = Syncer(EventLog(self.store.path), self.settings.server, self.settings.token)
        except (StoreError, ValueError) as exc:
            self.call_from_thread(self.notify, f"Sync off: {exc}", severity="error")
            return
        syncer.start()
        self._syncer = syncer

    def _sync_label(self) -> str:
        if self._syncer is None:
            return self.sync_status
        return self._syncer.status().label(self.tz)

    # -- reading ----------------------------------------------------------------------------

    def _fetch_page(self, offset: int, limit: int) -> list[Event]:
        if self.incident_id is None:
            return []
        return self.store.page(self.incident_id, offset, limit, self.filter)

    def poll(self, force: bool = False) -> None:
        if self.incident_id is None or not self.screen_stack:
            return
        timeline = self.main.query_one(Timeline)
        self._poll(self.incident_id, force, None if timeline.follow else timeline.cursor)

    @work(thread=True, exclusive=True, group="poll")
    def _poll(self, incident_id: str, force: bool, cursor: int | None) -> None:
        head = self.store.head()
        if head == self._head and not force:
            return
        state = self.store.state(incident_id)
        flt = self.filter
        total = state.event_count if flt.is_empty else self.store.count(incident_id, flt)
        number = (max(total - 1, 0) if cursor is None else min(cursor, total)) // PAGE
        events = self.store.page(incident_id, number * PAGE, PAGE, flt, total)
        self.post_message(Refreshed(incident_id, head, state, total, (number, events)))

    def on_refreshed(self, message: Refreshed) -> None:
        if message.incident_id != self.incident_id or not self.screen_stack:
            return
        self._head = message.head
        self.state = message.state
        timeline = self.main.query_one(Timeline)
        timeline.reset(message.total, set(message.state.pinned_ids()), message.page)
        title = "Timeline" + (f" · filter: {self._filter_text()}" if self._filtered() else "")
        timeline.border_title = title
        timeline.border_subtitle = f"{message.total:,} events"
        self.tick(alarms=False)
        if not self._warmed:
            self._warmed = True
            self.set_timer(WARM_UP_AFTER, self._warm_up)

    @work(thread=True, group="warm-up")
    def _warm_up(self) -> None:
        """Load, once the first frame is up, what the first keystrokes need: the dialogs'
        widgets (~20 ms) and pydantic with the payload validators (~150 ms, needed by the
        writer for the first append). Nothing waits for this; it only takes the cost
        away from the first key press."""
        import warroom.tui.screens.dialogs  # noqa: F401
        from warroom.core.payloads import warm_up

        warm_up()

    def context(self) -> Context | None:
        if self.state is None:
            return None
        return Context(
            self.state, self.policy, self.now(), self.tz, self._sync_label(), self.cluster_status
        )

    def tick(self, alarms: bool = True) -> None:
        """Redraw what depends on the time: recomputed from deadlines, never counted down.

        The bell and notifications wait for the once-a-second tick (`alarms`), so that a
        refresh (the first frame among them) is not held up by mounting toasts.
        """
        ctx = self.context()
        if ctx is None or not self.screen_stack:
            return
        self.main.query_one("#header", Static).update(header_text(ctx))
        cad = clock.cadence(ctx.state, ctx.policy, ctx.now)
        cadence_panel = self.main.query_one("#cadence", Panel)
        cadence_panel.show(cadence_text(ctx))
        cadence_panel.set_class(cad.level == "amber", "-amber")
        cadence_panel.set_class(cad.level == "overdue", "-overdue")
        self.main.query_one("#roles", Panel).show(roles_text(ctx))
        if alarms:
            self._alarms(ctx, cad)

    def _alarms(self, ctx: Context, cad: clock.Cadence) -> None:
        if cad.level == "overdue" and cad.due_at != self._rang_for:
            self._rang_for = cad.due_at
            self.bell()
            self.notify(
                "The stakeholder update is overdue: press u to post one, z to snooze.",
                title="Update overdue",
                severity="error",
                timeout=10,
            )
        missing = clock.ic_missing_for(ctx.state, ctx.now)
        warn = (
            missing is not None
            and missing >= ctx.policy.ic_missing_warning
            and ctx.state.current_severity in ("SEV1", "SEV2")
        )
        if warn and not self._ic_warned:
            self.notify("No Incident Commander: press i to take command.", severity="warning")
        self._ic_warned = warn

    # -- writing ----------------------------------------------------------------------------

    def record(
        self,
        kind: str,
        payload: dict[str, Any],
        done: Callable[[list[Event]], None] | None = None,
    ) -> None:
        """Append one event to the current incident, in order, off the UI thread."""
        if self.incident_id is None:
            self.notify("No incident open: press D to declare one", severity="error")
            return
        self._writes.put(Write(self.incident_id, [(kind, payload)], done))

    def record_many(
        self,
        incident_id: str,
        items: list[tuple[str, dict[str, Any]]],
        done: Callable[[list[Event]], None] | None = None,
    ) -> None:
        self._writes.put(Write(incident_id, items, done))

    def _write_loop(self) -> None:
        """The only writer: its own connection, so reads never queue a keystroke's write."""
        try:
            log = EventLog(self.store.path)
        except StoreError as exc:
            self.call_from_thread(self.notify, str(exc), title="Cannot write", severity="error")
            return
        with log:
            while (write := self._writes.get()) is not None:
                try:
                    state = log.state(write.incident_id)
                    items = [(k, state.with_replaces(k, p)) for k, p in write.items]
                    events = log.append_many(write.incident_id, items, self.actor)
                except (PayloadError, StoreError, ValueError) as exc:
                    self.call_from_thread(
                        self.notify, str(exc), title="Not saved", severity="error"
                    )
                    continue
                self.call_from_thread(self._written, events, write.done)

    def _written(self, events: list[Event], done: Callable[[list[Event]], None] | None) -> None:
        if done is not None:
            done(events)
        if self._syncer is not None:
            self._syncer.poke()
        self.poll(force=True)

    # -- helpers for actions ------------------------------------------------------------------

    def _filtered(self) -> bool:
        return self.filter != TimelineFilter()

    def _filter_text(self) -> str:
        parts = [f"kind:{k}" for k in self.filter.kinds]
        if self.filter.actor:
            parts.append(f"actor:{self.filter.actor}")
        if self.filter.text:
            parts.append(self.filter.text)
        return " ".join(parts)

    def switch_to(self, incident_id: str) -> None:
        self.incident_id = incident_id
        self.state = None
        self._head = -1
        self._rang_for = None
        self.poll(force=True)

    def local_tz(self) -> tzinfo:
        return datetime.now().astimezone().tzinfo or ZoneInfo("UTC")


def _aware(text: str) -> str | None:
    """A kubelet timestamp (RFC 3339, nanoseconds) as ISO 8601 with microseconds, or None."""
    if not text:
        return None
    head, _, rest = text.partition(".")
    frac = "".join(ch for ch in rest if ch.isdigit())[:6]
    try:
        moment = datetime.fromisoformat(f"{head}.{frac or '0'}+00:00")
    except ValueError:
        return None
    return moment.isoformat()
