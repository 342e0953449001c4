"""The war-room console: one screen with the incident, its timeline, roles and cadence.

Threads (harlequin's rule: workers post messages, handlers own state): the UI thread only
draws and handles messages. A poller worker asks the store every POLL_SECONDS whether
anything changed, from this process or any other, and posts `Refreshed`; the writer thread
(`tui.writer`) carries out commands in the order keys were pressed and posts `Written` or
`WriteFailed`; the timeline loads pages in workers; sync runs in its own thread; the cluster
panes fill bounded buffers drained on timers. Every worker is `exit_on_error=False`: a failed
read or write is shown and survived.

Each key starts a flow (`tui.flows`): a generator of steps shown by `FlowScreen`, whose
outcome comes back here to be carried out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from warroom import gcpause
from warroom.config import Settings
from warroom.core import clock
from warroom.core.alerts import AlertBoard
from warroom.core.events import Event
from warroom.core.policy import Policy
from warroom.core.state import IncidentState
from warroom.core.text import clean, one_line
from warroom.resources import styles_dir
from warroom.store import EventLog, StoreError, TimelineFilter
from warroom.tui import keys
from warroom.tui.delivery_text import Routing, Watch, details, failure_notice, posted_message
from warroom.tui.messages import (
    CONSOLE_FILTER,
    AlertsRead,
    ComposerReady,
    DeliveryStarted,
    DeliveryUnavailable,
    Exported,
    FlowReady,
    IncidentsListed,
    Jumped,
    Pulled,
    ReadFailed,
    Refreshed,
    RoutingRead,
    SyncStarted,
    SyncUnavailable,
    WriteFailed,
    Written,
    read_view,
)
from warroom.tui.palette import ConsoleCommands
from warroom.tui.widgets.cluster import ClusterRow
from warroom.tui.widgets.footer import KeysFooter
from warroom.tui.widgets.panels import Context, Panel, cadence_text, header_text, roles_text
from warroom.tui.widgets.timeline import Timeline
from warroom.tui.writer import Write, Writer

if TYPE_CHECKING:
    from warroom.core.commands import Command
    from warroom.core.deliveries import Result
    from warroom.delivery.local import Deliverer
    from warroom.kube.gateway import Target
    from warroom.sync.engine import Syncer
    from warroom.tui.delivery_text import DryRun
    from warroom.tui.steps import Flow, Outcome

POLL_SECONDS = 0.5
PANES = frozenset({"pods", "logs", "events", "describe", "rollouts"})
"""The cluster panes: keys they bind themselves win over the console's there."""
WARM_UP_AFTER = 0.3  # seconds after the first frame
FIRST_PULL_WAIT = 5.0  # seconds an empty log waits for the server's incidents


class WarroomApp(App[None]):
    TITLE = "warroom"
    CSS_PATH = [str(styles_dir() / "app.tcss"), str(styles_dir() / "cluster.tcss")]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = list[Binding | tuple[str, str] | tuple[str, str, str]](keys.KEYS)
    COMMANDS = App.COMMANDS | {ConsoleCommands}

    def __init__(
        self,
        log: EventLog,
        settings: Settings,
        incident_id: str | None = None,
        now: Callable[[], datetime] | None = None,
        actor: str | None = None,
        kube: Target | None = None,
        first: Refreshed | None = None,
    ) -> None:
        """`first` is the incident read before the app runs (`read_view`), so the first
        frame draws it instead of an empty timeline waiting for the poller."""
        super().__init__()
        self._first = first
        self.kube = kube
        self.store = log
        self.settings = settings
        self.policy: Policy = settings.policy
        self.actor = actor or settings.actor
        self.now = now or (lambda: datetime.now(UTC))
        self.incident_id = incident_id
        self.state: IncidentState | None = None
        self.board: AlertBoard | None = None
        self.filter = CONSOLE_FILTER
        self.tz: tzinfo = settings.tz
        self.sync_label = "local only"
        self.cluster_label = "not connected"
        self.syncer: Syncer | None = None
        self.deliverer: Deliverer | None = None
        self.deliveries = Watch(self.now())
        """Which channels carry what, and what became of each delivery."""
        if not settings.server and not settings.channels:  # nobody delivers: nothing to ask
            self.deliveries.routing = Routing((), "none")
        self._sync_offline = False
        self._shown_deliveries: tuple[str, list[Result]] | None = None
        """The selected event's delivery lines as the details show them."""
        self._head = -1
        self._rang_for: datetime | None = None
        self._ic_warned = False
        self._escalation_seen: set[tuple[str, int]] = set()
        self._warmed = False
        self._start_decided = False
        self._must_read = False
        self._waited_for_pull = False
        self._told_arrivals = False
        self.writer = Writer(log.path, self.policy, self.tz, self.actor, self.post_message)

    # -- layout ---------------------------------------------------------------------------

    @property
    def main(self) -> Screen[Any]:
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
        yield ClusterRow(
            self.kube,
            self._ic_name,
            incident_open=self._incident_open,
            now=lambda: int(self.now().timestamp() * 1_000_000_000),
            tz=self.tz,
            save_dir=self.settings.logs_dir,
            id="cluster",
        )
        yield KeysFooter()

    def on_mount(self) -> None:
        # The widgets the console updates, found once: timers and messages that arrive while
        # the app shuts down then touch detached widgets instead of failing a query.
        main = self.main
        self.timeline = main.query_one(Timeline)
        self.header = main.query_one("#header", Static)
        self.cadence_panel = main.query_one("#cadence", Panel)
        self.roles_panel = main.query_one("#roles", Panel)
        self.details = main.query_one("#details", Static)
        self.cluster = main.query_one(ClusterRow)
        if self.settings.keys:
            self.set_keymap(dict(self.settings.keys))
        self.timeline.border_title = "Timeline"
        self.writer.start()
        if self.settings.server and self.settings.token:
            self.sync_label = "connecting"
        self.set_interval(POLL_SECONDS, self.poll)
        self.set_interval(1.0, self.tick)
        self.timeline.focus()
        if self._first is not None and self._first.incident_id == self.incident_id:
            self.on_refreshed(self._first)
        elif self.incident_id is None:
            self._list_incidents(at_start=True)
        else:
            self.poll(force=True)
        self._first = None

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification is plain text: they carry outside text (a server's reason, a
        pod's name, a path, what someone typed), and markup in it would be drawn or, if
        unbalanced, raise. Widgets' `notify` (which passes markup=True) lands here too."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def action_leave(self) -> None:
        self.exit()

    def on_unmount(self) -> None:
        self.writer.stop()
        if self.syncer is not None:
            self.syncer.stop()
        if self.deliverer is not None:
            self.deliverer.stop()

    def _incident_open(self) -> bool:
        return self.state is not None and not self.state.is_resolved

    def _ic_name(self) -> str | None:
        holder = self.state.holder("incident_commander") if self.state else None
        return holder.value if holder else None

    # -- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Console keys step aside for dialogs, text fields and panes' own keys."""
        if action not in keys.ACTIONS:
            return True
        if not self.screen_stack or self.screen is not self.main:
            return False
        focused = self.main.focused
        if _takes_text(focused):
            return False
        pane = _pane_of(focused)
        return pane is None or not self._keys_of(action) & _keys_bound(pane)

    def _keys_of(self, action: str) -> set[str]:
        found: set[str] = set()
        for binding in keys.KEYS:
            if binding.action == action:
                override = self.settings.keys.get(binding.id or "")
                found.update(k.strip() for k in (override or binding.key).split(","))
        return found

    def key_table(self) -> list[tuple[str, str, str]]:
        """(action, key as shown, description) of every console action, keymap applied."""
        return [
            (
                b.action,
                ", ".join(sorted(keys.shown(k) for k in self._keys_of(b.action))),
                b.description,
            )
            for b in keys.KEYS
        ]

    # -- sync -------------------------------------------------------------------------------

    @work(thread=True, group="sync", exit_on_error=False)
    def _start_sync(self) -> None:
        """Sync runs in its own thread with its own connection; httpx loads here, not at start."""
        from warroom.sync.engine import Syncer

        assert self.settings.server and self.settings.token
        try:
            syncer = Syncer(EventLog(self.store.path), self.settings.server, self.settings.token)
        except (StoreError, ValueError) as exc:
            self.post_message(SyncUnavailable(str(exc)))
            return
        syncer.on_pulled = lambda count: self.post_message(Pulled(count))
        syncer.start()
        self.post_message(SyncStarted(syncer))

    def on_sync_started(self, message: SyncStarted) -> None:
        if self.is_running:
            self.syncer = message.syncer
        else:
            message.syncer.stop()

    def on_pulled(self, message: Pulled) -> None:
        """Teammates' events and alerts show as soon as sync stores them. A console that has
        no incident yet (a teammate's first start) opens the one the team has open, or says
        incidents arrived when a dialog is in the way."""
        self.poll()
        if self.incident_id is None:
            self._list_incidents(at_start=True)

    def on_sync_unavailable(self, message: SyncUnavailable) -> None:
        self.sync_label = "off"
        self.notify(f"Sync off: {message.reason}", severity="error")

    # -- delivery -----------------------------------------------------------------------------

    @property
    def delivers_here(self) -> bool:
        """Whoever holds the channels delivers: a server in a team, else this console."""
        return bool(self.settings.channels) and not self.settings.server

    @work(thread=True, group="delivery", exit_on_error=False)
    def _start_delivery(self) -> None:
        """Channels are validated and the engine runs in threads of their own; results come
        back as events in the log, which the poller shows."""
        from warroom.config import ConfigError
        from warroom.delivery.local import start_local

        try:
            deliverer = start_local(self.store.path, self.policy)
        except (ConfigError, StoreError) as exc:
            self.post_message(DeliveryUnavailable(str(exc)))
            return
        if deliverer is not None:
            self.post_message(DeliveryStarted(deliverer))

    def on_delivery_started(self, message: DeliveryStarted) -> None:
        if self.is_running:
            self.deliverer = message.deliverer
        else:
            message.deliverer.stop()

    def on_delivery_unavailable(self, message: DeliveryUnavailable) -> None:
        self.notify(f"Not delivering: {message.reason}", severity="error", timeout=10)

    @work(thread=True, exclusive=True, group="routing", exit_on_error=False)
    def _read_routing(self) -> None:
        """Which channels carry what: from this machine's config, or asked of the server
        (after the first frame, and again when sync reconnects)."""
        from warroom.tui.channels import routing

        self.post_message(RoutingRead(routing(self.settings)))

    def on_routing_read(self, message: RoutingRead) -> None:
        from warroom.tui.screens.composer import Composer

        routing = message.routing
        if not routing.known and self.deliveries.routing.known:
            return  # the server could not be asked: the last known routes stand
        self.deliveries.routing = routing
        self.timeline.set_delivery(self.deliveries.view())
        self._details_changed()
        for screen in self.screen_stack:
            if isinstance(screen, Composer):  # open meanwhile
                screen.set_routing(routing)

    def _sync_text(self) -> str:
        if self.syncer is None:
            return self.sync_label
        return self.syncer.status().label(self.tz)

    # -- reading ----------------------------------------------------------------------------

    def _fetch_page(self, offset: int, limit: int) -> list[Event]:
        if self.incident_id is None:
            return []
        return self.store.timeline.page(self.incident_id, offset, limit, self.filter)

    def poll(self, force: bool = False) -> None:
        """Read the view if the log moved, or if `force` (a new filter or incident) asked for
        it since the last view was shown. The request is kept until then: each poll cancels
        the one before it, and a worker cancelled before it ran would have dropped it (a
        filter or a switch then waited for the next write)."""
        if not self.screen_stack:
            return
        self._must_read = self._must_read or force
        if self.incident_id is None:
            self._poll_alerts(self._must_read)
            return
        timeline = self.timeline
        cursor = None if timeline.follow else timeline.cursor
        self._poll(self.incident_id, self.filter, self._must_read, cursor)

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _poll(self, incident_id: str, flt: TimelineFilter, force: bool, cursor: int | None) -> None:
        try:
            if self.store.timeline.head() == self._head and not force:
                return
            view = read_view(self.store, incident_id, flt, cursor)
        except StoreError as exc:
            self.post_message(ReadFailed(str(exc)))
            return
        self.post_message(view)

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _poll_alerts(self, force: bool) -> None:
        """With no incident open, the alert inbox is still read (`!` shows it)."""
        try:
            head = self.store.timeline.head()
            if head == self._head and not force:
                return
            board = self.store.alerts()
        except StoreError as exc:
            self.post_message(ReadFailed(str(exc)))
            return
        self.post_message(AlertsRead(head, board))

    def on_alerts_read(self, message: AlertsRead) -> None:
        if self.incident_id is None and message.head >= self._head:
            self._head = message.head
            self.board = message.board
            self._must_read = False

    def on_read_failed(self, message: ReadFailed) -> None:
        self.notify(message.reason, title="Cannot read the log", severity="error", timeout=5)

    def on_refreshed(self, message: Refreshed) -> None:
        """Show what a poll read, unless a later read (or another filter) superseded it:
        poll workers can finish out of order."""
        stale = message.head < self._head or message.filter != self.filter
        if message.incident_id != self.incident_id or stale or not self.screen_stack:
            return
        self._head = message.head
        self._must_read = False
        self.state = message.state
        self.board = message.board
        timeline = self.timeline
        fresh = self.deliveries.read(message.deliveries)
        timeline.delivery = self.deliveries.view()
        timeline.reset(message.total, set(message.state.pinned_ids()), message.pages)
        query = self.filter.query()
        from rich.text import Text

        shown = f" · filter: {one_line(query, 60)}" if query else ""
        timeline.border_title = Text("Timeline" + shown)  # typed text, never markup
        timeline.border_subtitle = f"{message.total:,} events"
        self.tick(alarms=False)
        self.refresh_bindings()
        self._details_changed()
        self._failures(fresh)
        self._after_first_frame_soon()

    def _after_first_frame_soon(self) -> None:
        """Arm `_after_first_frame` once, whatever the first frame showed: an incident, or
        the picker or declare dialog of a log with none (which sync must still fill)."""
        if not self._warmed:
            self._warmed = True
            self.set_timer(WARM_UP_AFTER, self._after_first_frame)

    def _failures(self, fresh: list[Result]) -> None:
        """One notification (and the bell) per delivery that newly failed for good."""
        from warroom.core.describe import summarize

        for result in fresh:
            event = self.timeline.find(result.event_id)
            what = summarize(event, 60) if event is not None else "an update"
            self.bell()
            self.notify(
                failure_notice(result, what),
                title="Delivery FAILED",
                severity="error",
                timeout=30,
                markup=False,  # the reason is the remote's words
            )

    def _after_first_frame(self) -> None:
        """What the first frame does not need waits for it: sync (httpx, TLS: ~100 ms of CPU
        that competed with the first paints) and the warm-up of the first keys' imports."""
        gcpause.release()
        if self.settings.server and self.settings.token:
            self._start_sync()
        if self.delivers_here:
            self._start_delivery()
        self._read_routing()
        self._warm_up()

    @work(thread=True, group="warm-up", exit_on_error=False)
    def _warm_up(self) -> None:
        """Load, once the first frame is up, what the first keystrokes need: the flows and
        their screen (~20 ms) and pydantic with the validators (~150 ms, needed by the first
        command). Nothing waits for this; it only takes the cost away from the first key."""
        import warroom.tui.flows
        import warroom.tui.screens.flow  # noqa: F401
        from warroom.core.payloads import warm_up

        warm_up()

    def context(self) -> Context | None:
        if self.state is None:
            return None
        return Context(
            self.state,
            self.policy,
            self.now(),
            self.tz,
            self._sync_text(),
            self.cluster_label,
            self.board,
            len(self.deliveries.failed),
        )

    def tick(self, alarms: bool = True) -> None:
        """Redraw what depends on the time: recomputed from deadlines, never counted down.

        The bell and notifications wait for the once-a-second tick (`alarms`), so that a
        refresh (the first frame among them) is not held up by mounting toasts.
        """
        self._sync_reconnected()
        ctx = self.context()
        if ctx is None or not self.screen_stack:
            return
        self.header.update(header_text(ctx))
        cad = clock.cadence(ctx.state, ctx.policy, ctx.now)
        self.cadence_panel.show(cadence_text(ctx))
        self.cadence_panel.set_class(cad.level == "amber", "-amber")
        self.cadence_panel.set_class(cad.level == "overdue", "-overdue")
        self.roles_panel.show(roles_text(ctx))
        if alarms:
            self._alarms(ctx, cad)

    def _sync_reconnected(self) -> None:
        """The server is back after sync lost it: ask again which channels it delivers to."""
        if self.syncer is None:
            return
        offline = self.syncer.status().state == "offline"
        if self._sync_offline and not offline:
            self._read_routing()
        self._sync_offline = offline

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
        self._escalation_alarm(ctx)

    # -- escalation ---------------------------------------------------------------------------

    def _escalation_alarm(self, ctx: Context) -> None:
        """Page a level that elapsed time reached, where the config says `auto`, once per
        console (a write in flight is not repeated; another console paging too sends the
        same dedup key, which is harmless). Other levels are asked for by the cadence
        panel ("⚠ L2 not paged: E pages"), not by a toast that would come and go."""
        step = clock.escalation_due(ctx.state, ctx.policy, ctx.now)
        if step is None or not (step.auto and step.channels):
            return
        if (ctx.state.incident_id, step.level) in self._escalation_seen:
            return
        self._escalation_seen.add((ctx.state.incident_id, step.level))
        from warroom.core.commands import Escalate

        who = one_line(", ".join(step.people(ctx.state.current_severity)), 60)
        reason = clock.escalation_reason(ctx.state, ctx.policy, ctx.now, step.level)
        command = Escalate(level=step.level, reason=reason, auto=True)
        self.submit((command,), f"L{step.level} paged automatically: {who}")

    async def action_escalate(self) -> None:
        await self._flow("escalate")

    # -- writing ----------------------------------------------------------------------------

    def submit(
        self,
        commands: tuple[Command, ...],
        message: str,
        *,
        declare: bool = False,
        incident_id: str | None = None,
    ) -> None:
        """Queue commands for the writer, in the order keys were pressed: on the open
        incident, a new one (`declare`) or the one named (the alert inbox)."""
        incident = None if declare else incident_id or self.incident_id
        if not declare and incident is None:
            self.notify("No incident open: press D to declare one", severity="error")
            return
        self.writer.submit(Write(incident, commands, message, self.now()))

    def on_written(self, message: Written) -> None:
        write = message.write
        if write.incident_id is None and message.events:
            self.switch_to(message.events[0].incident_id)
        if write.message:
            self.notify(write.message, title="Saved", timeout=3)
        if self.syncer is not None:
            self.syncer.poke()
        if self.deliverer is not None:
            self.deliverer.poke()
        self.poll(force=True)

    def on_write_failed(self, message: WriteFailed) -> None:
        self.bell()
        self.notify(message.reason, title="Not saved", severity="error", timeout=10)

    def on_cluster_row_record(self, message: ClusterRow.Record) -> None:
        self.submit((message.command,), message.saved)

    def on_cluster_row_described(self, message: ClusterRow.Described) -> None:
        self.cluster_label = message.label
        self.tick(alarms=False)

    # -- flows ----------------------------------------------------------------------------------

    def ask(self) -> Any:
        from warroom.tui.flows import Ask

        routes = self.deliveries.routing.routes
        return Ask(self.state, self.policy, self.now(), self.tz, self.actor, self.board, routes)

    async def run_flow(self, flow: Flow) -> None:
        """Show a flow's first step now (its field focused before the next key is handled)."""
        from warroom.tui.screens.flow import FlowScreen

        await keys.settle(self.main.focused)
        try:
            first = next(flow)
        except StopIteration as done:
            self.carry_out(done.value)
            return
        await self.push_screen(FlowScreen(flow, first), self.carry_out)

    def carry_out(self, outcome: Outcome) -> None:
        from warroom.tui import steps

        if isinstance(outcome, steps.Submit):
            self.submit(
                outcome.commands,
                outcome.message,
                declare=outcome.declare,
                incident_id=outcome.incident_id,
            )
        elif isinstance(outcome, steps.ApplyFilter):
            self.filter = outcome.filter
            self.timeline.follow = True
            self.poll(force=True)
        elif isinstance(outcome, steps.JumpTo):
            self._jump(outcome.moment)
        elif isinstance(outcome, steps.OpenIncident):
            self.switch_to(outcome.incident_id)
        elif isinstance(outcome, steps.SwitchCluster):
            self.cluster.switch(outcome.context, outcome.namespace, outcome.all_namespaces)
        elif isinstance(outcome, steps.Notice):
            self.notify(outcome.message, severity="error" if outcome.error else "information")

    async def _flow(self, name: str) -> None:
        from warroom.tui.flows import FLOWS

        if name not in ("declare", "alerts") and self.state is None:
            self.notify("No incident open: press D to declare one, o to open one", severity="error")
            return
        await self.run_flow(FLOWS[name](self.ask()))

    async def action_note(self) -> None:
        await self._flow("note")

    async def action_status(self) -> None:
        await self._flow("status")

    async def action_severity(self) -> None:
        await self._flow("severity")

    async def action_assign(self) -> None:
        await self._flow("assign")

    async def action_take_command(self) -> None:
        await self._flow("take_command")

    async def action_milestone(self) -> None:
        await self._flow("milestone")

    async def action_checklist(self) -> None:
        await self._flow("checklist")

    async def action_action_item(self) -> None:
        await self._flow("action_item")

    async def action_snooze(self) -> None:
        await self._flow("snooze")

    async def action_jump(self) -> None:
        await self._flow("jump")

    async def action_declare(self) -> None:
        await self._flow("declare")

    async def action_alerts(self) -> None:
        await self._flow("alerts")

    async def action_filter(self) -> None:
        from warroom.tui.flows import timeline_filter

        await self.run_flow(timeline_filter(self.filter))

    async def action_history(self) -> None:
        from warroom.tui.screens.history import history_text
        from warroom.tui.steps import Read

        if self.state is not None:
            await self.run_flow(
                _read(Read("History", history_text(self.state, self.policy, self.tz)))
            )

    async def action_help(self) -> None:
        from warroom.tui.screens.history import keys_text
        from warroom.tui.steps import Read

        await self.run_flow(_read(Read("Keys", keys_text(self.help_sections()))))

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Every key the console knows, by where it works."""
        from warroom.tui.widgets.inspect import InspectPane
        from warroom.tui.widgets.logs import LogsPane, LogView
        from warroom.tui.widgets.pods import PodsPane

        def pane(bindings: list[Any]) -> list[tuple[str, str]]:
            return [(keys.shown(b.key), b.description) for b in bindings]

        console = [(key, description) for _, key, description in self.key_table()]
        sections = [
            ("Console", console),
            ("Everywhere", keys.OTHER_KEYS),
            ("Pods pane (Tab to it)", pane(PodsPane.BINDINGS)),
            ("Logs pane", pane([*LogsPane.BINDINGS, *LogView.BINDINGS])),
            ("Events, describe and history panes", pane(InspectPane.BINDINGS)),
            ("Update composer (u)", keys.COMPOSER_KEYS),
        ]
        url = self.settings.status_page.url
        if url:  # where status-page posts (the composer's "Status page:" templates) appear
            sections.insert(0, ("Public status page", [("open", one_line(url, 200))]))
        receiver = os.environ.get("WARROOM_DEMO_RECEIVER", "")
        if receiver:  # `make demo`: where its Slack-compatible receiver shows what arrived
            received = [("open", one_line(receiver, 200))]
            sections.insert(0, ("Demo: what the channels received", received))
        return sections

    async def action_pin(self) -> None:
        from warroom.core.commands import PinEvent
        from warroom.core.describe import summarize

        await keys.settle(self.main.focused)  # the cursor keys pressed before `p` land first
        event = self.timeline.selected
        if event is None or self.state is None:
            return
        pinned = not self.state.is_pinned(event.id)
        command = PinEvent(target=event.id, pinned=pinned, summary=summarize(event, 200))
        self.submit((command,), "Pinned" if pinned else "Unpinned")

    def action_update(self) -> None:
        if self.state is not None:
            self._open_composer(self.state)

    @work(thread=True, exclusive=True, group="composer", exit_on_error=False)
    def _open_composer(self, state: IncidentState) -> None:
        """Template files are read off the UI thread; the render worker starts meanwhile."""
        from warroom import sandbox
        from warroom.core.templates import context
        from warroom.templates import load_templates

        sandbox.shared().start()  # spawns only: its start-up overlaps the composer's
        templates, problems = load_templates()
        fields = context(state, self.policy, self.now(), self.tz)
        self.post_message(ComposerReady(state, templates, problems, fields))

    def on_composer_ready(self, message: ComposerReady) -> None:
        from warroom.core.commands import CommandError, PostUpdate, make
        from warroom.core.templates import suggested
        from warroom.tui.screens.composer import Composer, Draft

        state, templates, problems, fields = (
            message.state,
            message.templates,
            message.problems,
            message.fields,
        )
        for problem in problems:
            self.notify(problem, title="Template ignored", severity="warning")

        def post(draft: Draft | None) -> None:
            if draft is None or self.state is None:
                return
            try:
                command = make(
                    PostUpdate, audience=draft.audience, template=draft.template, body=draft.body
                )
            except CommandError as exc:
                self.notify(str(exc), title="Not posted", severity="error")
                return
            self.copy_to_clipboard(draft.body)
            self.submit((command,), posted_message(self.deliveries.routing, draft.audience))

        def dry_run(text: str, audience: str, template: str) -> list[DryRun]:
            from warroom.tui.channels import dry_run

            return dry_run(
                self.settings,
                self.store,
                state,
                text,
                audience=audience,
                template=template,
                actor=self.actor,
                now=self.now(),
            )

        composer = Composer(
            templates,
            suggested(state),
            fields,
            routing=self.deliveries.routing,
            dry_run=dry_run,
            dry_run_where=self._dry_run_where(),
        )
        self.push_screen(composer, post)

    def _dry_run_where(self) -> str:
        if self.settings.server and self.settings.token:
            return f"Built by the server ({one_line(self.settings.server, 100)}) with its channels"
        if self.settings.channels:
            return "Built here with this machine's channels"
        return "No channel is configured here and no server delivers"

    def action_toggle_tz(self) -> None:
        """Cycle the times shown: configured zone, UTC, this machine's local time."""
        zones: dict[str, tzinfo] = {}
        for zone in (self.settings.tz, ZoneInfo("UTC"), _local_tz()):
            zones.setdefault(str(zone), zone)
        names = list(zones)
        at = names.index(str(self.tz)) if str(self.tz) in names else -1
        self.tz = zones[names[(at + 1) % len(names)]]
        self.timeline.set_timezone(self.tz)
        self.notify(f"Times in {self.tz}")
        self.tick()

    def action_toggle_side(self) -> None:
        """Show or hide the roles/cadence column (collapsed by default on narrow screens)."""
        self.main.toggle_class("-side")

    def action_switch(self) -> None:
        self._list_incidents(at_start=False)

    def action_keep_changes(self) -> None:
        """Keep the cluster changes on offer (rollouts, scales seen meanwhile) as evidence."""
        if self.state is None or self.cluster.target is None:
            return
        if not self.cluster.keep_changes():
            self.notify("No cluster change is waiting to be kept", severity="information")

    def action_cluster(self) -> None:
        gateway = self.cluster.gateway
        if gateway is None:
            self.notify(
                "No kubeconfig: run with --kubeconfig or KUBECONFIG (or start `warroom sim`)",
                severity="warning",
            )
            return
        self._list_contexts(gateway)

    @work(thread=True, exclusive=True, group="cluster-switch", exit_on_error=False)
    def _list_contexts(self, gateway: Any) -> None:
        from warroom.kube.gateway import GatewayError
        from warroom.tui.flows import cluster

        try:
            names, current = gateway.contexts()
        except GatewayError as exc:
            self.post_message(FlowReady(_notice(str(exc))))
            return

        def namespaces(context: str) -> list[str]:
            return list(gateway.switch(context=context, namespace=None).namespaces())

        self.post_message(FlowReady(cluster(names, current, namespaces)))

    async def on_flow_ready(self, message: FlowReady) -> None:
        await self.run_flow(message.flow)

    @work(thread=True, exclusive=True, group="incidents", exit_on_error=False)
    def _list_incidents(self, at_start: bool) -> None:
        try:
            rows = [(i, self.store.state(i)) for i in self.store.timeline.incident_ids()]
        except StoreError as exc:
            self.post_message(ReadFailed(str(exc)))
            return
        self.post_message(IncidentsListed(rows, at_start))

    async def on_incidents_listed(self, message: IncidentsListed) -> None:
        from warroom.tui.flows import FLOWS, switch

        self._after_first_frame_soon()
        if message.at_start and self.incident_id is not None:
            return  # an earlier start-up listing (or a pull) already chose
        rows = message.rows
        if message.at_start and self.screen is not self.main:  # a pull, a dialog in the way
            if rows and not self._told_arrivals:
                self._told_arrivals = True
                key = ", ".join(k for action, k, _ in self.key_table() if action == "switch")
                self.notify(f"Incidents arrived from the server: {key} picks one", timeout=10)
            return
        open_rows = [(i, s) for i, s in rows if not s.is_resolved]
        if message.at_start and self.incident_id is None and len(open_rows) == 1:
            self.switch_to(open_rows[0][0])
            return
        if not rows and message.at_start and self._wait_for_first_pull():
            return
        if message.at_start:
            if self._start_decided:
                return  # a pull's listing: only a lone open incident opens by itself (above)
            self._start_decided = True
        if not rows:
            await self.run_flow(FLOWS["declare"](self.ask()))
            return
        await self.run_flow(switch(rows, self.incident_id))

    def _wait_for_first_pull(self) -> bool:
        """A teammate's first start (an empty log, a server): offering to declare at once
        would hide the incident the team already has, so sync gets FIRST_PULL_WAIT seconds
        to bring it (a pull opens it, see `on_pulled`); declare is offered after that, or as
        soon as sync has caught up with nothing, or is off. Once per console."""
        if self._waited_for_pull or not (self.settings.server and self.settings.token):
            return False
        self._waited_for_pull = True
        deadline = time.monotonic() + FIRST_PULL_WAIT
        self.timeline.border_title = "Timeline · looking for the team's incidents on the server"

        def check() -> None:
            caught_up = self.syncer is not None and self.syncer.status().caught_up
            done = self.incident_id is not None or caught_up or self.sync_label == "off"
            if done or time.monotonic() > deadline:
                timer.stop()
                if self.incident_id is None:
                    self.timeline.border_title = "Timeline"
                    self._list_incidents(at_start=True)

        timer = self.set_interval(0.1, check)
        return True

    def switch_to(self, incident_id: str) -> None:
        self.incident_id = incident_id
        self.state = None
        self._head = -1
        self._rang_for = None
        self.deliveries.forget()
        self.poll(force=True)

    @work(thread=True, group="jump", exit_on_error=False)
    def _jump(self, at: datetime) -> None:
        if self.incident_id is None:
            return
        try:
            index = self.store.timeline.position_at(self.incident_id, at, self.filter)
        except StoreError as exc:
            self.post_message(ReadFailed(str(exc)))
            return
        self.post_message(Jumped(index))

    def on_jumped(self, message: Jumped) -> None:
        self.timeline.go_to(message.index)

    # -- export -----------------------------------------------------------------------------------

    def action_export(self) -> None:
        if self.incident_id is not None:
            self._export(self.incident_id)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def _export(self, incident_id: str) -> None:
        from warroom.core.export.markdown import channel_name, to_markdown
        from warroom.core.text import slug
        from warroom.files import write_atomically

        try:
            state = self.store.state(incident_id)
            events = self.store.timeline.events(incident_id)
        except StoreError as exc:
            self.post_message(Exported("", str(exc)))
            return
        text = to_markdown(state, events, self.policy, self.tz)
        day = channel_name(state, self.tz).removeprefix("#incident-")[:10]
        path = Path.cwd() / f"postmortem-{day}-{slug(state.title.value or '', 30)}.md"
        try:
            write_atomically(path, text)
        except OSError as exc:
            self.post_message(Exported(str(path), str(exc)))
            return
        self.post_message(Exported(str(path)))

    def on_exported(self, message: Exported) -> None:
        if message.error:
            self.notify(f"Export failed: {message.error}", severity="error")
        else:
            self.notify(f"Postmortem written to {message.path}", title="Exported", timeout=10)

    # -- selection --------------------------------------------------------------------------------

    def on_timeline_selected(self, message: Timeline.Selected) -> None:
        if self.screen_stack:
            self._show_details(message.event)

    def _details_changed(self) -> None:
        """Outcomes or routes were read again: the selected event's delivery lines redrawn
        if they changed (a failure shows without moving the cursor)."""
        event = self.timeline.selected
        if event is not None and self._shown_deliveries != (
            event.id,
            self.deliveries.view().of(event),
        ):
            self._show_details(event)

    def _show_details(self, event: Event | None) -> None:
        from rich.text import Text

        from warroom.core.describe import summarize

        text = Text()
        if event is not None:
            text.append(f"{event.time.astimezone(self.tz):%Y-%m-%d %H:%M:%S %Z}\n", "#8a8a8a")
            text.append(f"{one_line(event.actor, 30)} · {event.kind}\n", "#87afd7")
            body = event.payload.get("body") or event.payload.get("text")
            lookup = self.timeline.find
            text.append(clean(body) if isinstance(body, str) else summarize(event, 2000, lookup))
            results = self.deliveries.view().of(event)
            self._shown_deliveries = (event.id, results)
            text.append_text(details(results, self.timeline.fmt))
        self.details.update(text)


def _read(step: Any) -> Flow:
    yield step
    return None


def _notice(text: str) -> Flow:
    from warroom.tui.steps import Notice

    return Notice(text, error=True)
    yield  # a generator that asks nothing


def _takes_text(widget: Widget | None) -> bool:
    """Whether the widget is a text field (Input, TextArea): typed letters are text there.
    By class name, so the console's start-up does not import TextArea (~10 ms)."""
    return widget is not None and any(
        cls.__name__ in ("Input", "TextArea") for cls in type(widget).__mro__
    )


def _pane_of(widget: Widget | None) -> Widget | None:
    """The cluster pane (pods or logs) a widget sits in, if any."""
    node: Any = widget
    while node is not None:
        if isinstance(node, Widget) and node.id in PANES:
            return node
        node = node.parent
    return None


def _keys_bound(pane: Widget) -> set[str]:
    found: set[str] = set()
    for node in [pane, *pane.query("*")]:
        for binding in getattr(node, "BINDINGS", []):
            key = binding.key if hasattr(binding, "key") else binding[0]
            found.update(k.strip() for k in key.split(","))
    return found


def _local_tz() -> tzinfo:
    return datetime.now().astimezone().tzinfo or ZoneInfo("UTC")
