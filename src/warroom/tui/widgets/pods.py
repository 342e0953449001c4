"""The pods pane: kubectl's pod table, live, plus the playbook actions on a pod's deployment.

A `PodWatcher` runs on a thread of its own; every REFRESH seconds the pane copies its snapshot
(a cheap in-memory dict) on the UI thread and applies only the cells that changed, keyed by
pod uid, so hundreds of pods and frequent events cost little. The columns are kubectl's
defaults (NAME, READY, STATUS, RESTARTS, AGE; NAMESPACE first with -A), never cut: the pane
is as wide as they are. When a rollout replaces the pod under the cursor, the cursor moves to
a pod of the same deployment, so the next action is about the deployment it was about.

Actions: a flow asks what it needs (the revision to go back to, how many replicas, each
starting from what the cluster says now), a worker describes the exact change, the
`PlaybookScreen` confirms it, a worker applies it, and `ActionDone` goes to the console to
record. The other keys ask the cluster row to show something about the pod (`Inspect`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static

from warroom.keymap import specs
from warroom.kube import actions
from warroom.kube.actions import ActionResult, Change
from warroom.kube.columns import PodRow
from warroom.kube.gateway import Gateway
from warroom.kube.pods import PodWatcher, WatchSettings
from warroom.tui.screens.playbook import PlaybookScreen
from warroom.tui.steps import Notice, Picked

REFRESH = 0.3
HOT_SECONDS = 30.0
"""How long a rising restart count stays highlighted."""
COLUMNS = ("NAME", "READY", "STATUS", "RESTARTS", "AGE")
"""kubectl's default columns (NODE is in describe and in `-o wide`)."""
STATUS_STYLES = {
    "Running": "#5fd75f",
    "Completed": "#8a8a8a",
    "Terminating": "#d7af00",
    "Pending": "#d7af00",
    "ContainerCreating": "#d7af00",
}


def _status_style(status: str) -> str:
    if status in STATUS_STYLES:
        return STATUS_STYLES[status]
    if status.startswith("Init:") and status[5:6].isdigit():
        return "#d7af00"
    return "bold #ff5f5f"


class PodsPane(Widget, can_focus=False):
    """Pods of a gateway's target, with a status line; Enter selects a pod for its logs."""

    BINDINGS = [
        Binding(s.key, s.action, s.description, show=s.show, id=s.id) for s in specs("pods")
    ]

    class PodSelected(Message):
        """The user chose a pod (Enter): the logs pane can follow it."""

        def __init__(self, row: PodRow, pod: dict[str, Any] | None) -> None:
            super().__init__()
            self.row = row
            self.pod = pod

    class Inspect(Message):
        """Show something about the pod beside the pane: "previous" (its crashed runs' logs),
        "deployment" (every pod of its deployment's logs), "events", "describe", "history"."""

        def __init__(self, what: str, row: PodRow, pod: dict[str, Any] | None) -> None:
            super().__init__()
            self.what = what
            self.row = row
            self.pod = pod

    class ActionConfirmed(Message):
        """A playbook action is about to be applied: the changes it makes are the console's
        own, not someone else's (posted before the request, so a watch cannot see it first)."""

        def __init__(self, change: Change) -> None:
            super().__init__()
            self.change = change

    class ActionDone(Message):
        """A confirmed playbook action finished (ok or not): record it in the timeline."""

        def __init__(self, result: ActionResult) -> None:
            super().__init__()
            self.result = result

    def __init__(
        self,
        gateway: Gateway,
        incident_commander: Callable[[], str | None] = lambda: None,
        settings: WatchSettings | None = None,
        now: Callable[[], int] = time.time_ns,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.gateway = gateway
        self.incident_commander = incident_commander
        self.settings = settings
        self.now = now
        """The time AGE and "(3m ago)" are measured from (ns): tests freeze it."""
        self.watcher = PodWatcher(gateway, settings)
        self._shown: dict[str, tuple[str, ...]] = {}
        self._restarts: dict[str, int] = {}
        self._hot: dict[str, float] = {}
        self._hot_until = float("inf")
        """When the earliest highlight ends (monotonic), so the tick that ends it re-renders."""
        self._seen: dict[str, PodRow] = {}
        """The `PodRow` each shown row was last computed from (the watcher replaces on change)."""
        self._version = -1
        self._second = -1
        self._status: tuple[Any, ...] = ()
        self._where = ""
        self.note = Text()
        """A line the cluster row adds to the status (changes waiting to be kept)."""
        self.columns: tuple[str, ...] = COLUMNS
        self.fitted: str | None = None
        """Beside a detail pane: as wide as the columns (see `fit`)."""

    def compose(self) -> ComposeResult:
        yield Static("", classes="pods-status")
        table: DataTable[Any] = DataTable(cursor_type="row", zebra_stripes=False)
        self._add_columns(table)
        yield table

    def _add_columns(self, table: DataTable[Any]) -> None:
        """NAMESPACE first when every namespace is shown, as `kubectl get pods -A`."""
        self.columns = (("NAMESPACE",) if self.gateway.target.all_namespaces else ()) + COLUMNS
        for column in self.columns:
            table.add_column(column, key=column.lower())

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one(DataTable)

    def on_mount(self) -> None:
        self._start()
        self.set_interval(REFRESH, self.refresh_rows)

    def on_unmount(self) -> None:
        self.watcher.stop()

    def _start(self) -> None:
        self.watcher.start()
        self._describe_target()

    @work(thread=True, group="pods-target", exit_on_error=False)
    def _describe_target(self) -> None:
        target = self.gateway.target
        try:
            _, context = self.gateway.contexts()
            where = "all namespaces" if target.all_namespaces else self.gateway.namespace()
            text = f"{context} · {where}" + (f" · {target.selector}" if target.selector else "")
        except Exception:
            text = "no cluster"
        self.app.call_from_thread(self._set_where, text)

    def _set_where(self, text: str) -> None:
        self._where = text
        self._version = -1

    def switch(self, **changes: Any) -> None:
        """Look elsewhere: context=, namespace=, selector=, all_namespaces= (kubectl's flags)."""
        self.watcher.stop()
        self.gateway = self.gateway.switch(**changes)
        self.watcher = PodWatcher(self.gateway, self.settings)
        self.table.clear(columns=True)
        self._add_columns(self.table)
        self._shown.clear()
        self._seen.clear()
        self._status = ()
        self._version = -1
        self._start()

    # -- rows ---------------------------------------------------------------------------------

    @property
    def selected(self) -> PodRow | None:
        """The pod under the cursor."""
        return self.watcher.snapshot().rows.get(self._cursor_key() or "")

    def refresh_rows(self) -> None:
        """Apply the watcher's latest snapshot: only changed cells, added and removed rows.

        Nothing is done when neither the snapshot, nor the second shown in AGE, nor a highlight
        has changed; a row whose `PodRow` is the one already shown is re-rendered only when its
        time-dependent text changes. Every table mutation invalidates the DataTable's render
        caches, so all of a tick's changes go in together and the table is sorted only when a
        row was added (never on a tick that merely updates cells).
        """
        snap = self.watcher.snapshot()
        now = self.now()
        second = now // 1_000_000_000
        clock = time.monotonic()
        expired = self._hot_until <= clock
        if snap.version == self._version and second == self._second and not expired:
            return
        table = self.table
        under_cursor = self._cursor_key()
        said = (snap.state, snap.hint, len(snap.rows), self._where, self.note)
        if said != self._status:
            self._status = said
            self._status_line(snap.state, snap.hint, len(snap.rows))
        ticked = second != self._second or expired
        self._version, self._second = snap.version, second
        if expired:
            self._hot = {uid: until for uid, until in self._hot.items() if until > clock}
        gone = under_cursor is not None and under_cursor not in snap.rows
        was = self._seen.get(under_cursor or "")
        workload = was.workload if was is not None else ""
        for uid in [uid for uid in self._shown if uid not in snap.rows]:
            table.remove_row(uid)
            del self._shown[uid]
            self._seen.pop(uid, None)
            self._restarts.pop(uid, None)
            self._hot.pop(uid, None)
        added = False
        for uid, row in snap.rows.items():
            if not ticked and self._seen.get(uid) is row:
                continue
            self._seen[uid] = row
            before = self._restarts.get(uid)
            if before is not None and row.restarts > before:
                self._hot[uid] = clock + HOT_SECONDS
            self._restarts[uid] = row.restarts
            hot = self._hot.get(uid, 0) > clock
            cells = self._cells(row, now, hot)
            old = self._shown.get(uid)
            if old == cells:
                continue
            styled = self._styled(cells, hot)
            if old is None:
                table.add_row(*styled, key=uid)
                added = True
            else:
                restarts = self.columns.index("RESTARTS")
                for index, column in enumerate(self.columns):
                    if old[index] != cells[index] or (index == restarts and old[-1] != cells[-1]):
                        table.update_cell(uid, column.lower(), styled[index])
            self._shown[uid] = cells
        self._hot_until = min(self._hot.values(), default=float("inf"))
        if added:
            table.sort("name", key=lambda name: name.plain)
        if gone and workload:  # replaced (a rollout): stay with its deployment
            under_cursor = next(
                (
                    uid
                    for uid in self._ordered()
                    if (other := snap.rows.get(uid)) is not None and other.workload == workload
                ),
                None,
            )
        if self.fitted:
            self._fit()
        if under_cursor in self._shown:  # rows added or removed above it: stay on that pod
            index = table.get_row_index(under_cursor)
            if index != table.cursor_row:
                table.move_cursor(row=index, animate=False)

    def fit(self, last: str | None) -> None:
        """Be as wide as the columns up to `last` ("AGE": all of them; a detail pane beside
        gets the rest), or take the row (None)."""
        self.fitted = last
        # the columns after `last` are meant to be out of sight, not a scroll away
        self.table.styles.overflow_x = "hidden" if last and last != self.columns[-1] else "auto"
        if last:
            self._fit()
        else:
            self.styles.width = None

    def _fit(self) -> None:
        table = self.table
        shown = list(table.columns.values())
        if self.fitted in self.columns:
            shown = shown[: self.columns.index(self.fitted) + 1]
        columns = sum(column.get_render_width(table) for column in shown)
        width = columns + 3  # the border and the scrollbar
        if self.styles.width is None or self.styles.width.value != width:
            self.styles.width = width

    def _ordered(self) -> list[str]:
        """Row keys in the table's order."""
        table = self.table
        return [
            table.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value or ""
            for index in range(table.row_count)
        ]

    def _cursor_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value

    def _cells(self, row: PodRow, now: int, hot: bool) -> tuple[str, ...]:
        """The row's cells (NAMESPACE first with -A), and whether RESTARTS is highlighted."""
        name, ready, status, restarts, age, _ = row.cells(now)
        cells = (name, ready, status, restarts, age, "hot" if hot else "")
        return (row.namespace, *cells) if self.columns[0] == "NAMESPACE" else cells

    def _styled(self, cells: tuple[str, ...], hot: bool) -> list[Text]:
        *shown, _ = cells
        styles = {self.columns.index("STATUS"): _status_style(shown[self.columns.index("STATUS")])}
        if hot:
            styles[self.columns.index("RESTARTS")] = "bold reverse #ff5f5f"
        return [Text(cell, style=styles.get(index, "")) for index, cell in enumerate(shown)]

    def set_note(self, note: Text) -> None:
        """Something the cluster row wants said under the table's status (kept changes)."""
        if note != self.note:
            self.note = note
            self._version = -1

    def _status_line(self, state: str, hint: str, count: int) -> None:
        text = Text()
        text.append("☸ ", style="#8a8a8a")
        text.append(self._where or "…")
        text.append(f" · {count} pods · ", style="#8a8a8a")
        colour = "#5fd75f" if state == "live" else "#ffaf00"
        if state.startswith("unreachable"):
            colour = "bold #ff5f5f"
        text.append(state, style=colour)
        if hint:
            text.append(f"\n{hint}", style="#ffaf00")
        if self.note:
            text.append("\n")
            text.append_text(self.note)
        self.query_one(".pods-status", Static).update(text)

    # -- keys ---------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_select()

    def action_select(self) -> None:
        row = self.selected
        if row is not None:
            self.post_message(self.PodSelected(row, self.watcher.pod(row.uid)))

    def action_inspect(self, what: str) -> None:
        row = self.selected
        if row is not None:
            self.post_message(self.Inspect(what, row, self.watcher.pod(row.uid)))

    def action_restart(self) -> None:
        row = self.selected
        if row is not None:
            self._describe("rollout restart", row, self.watcher.pod(row.uid) or {})

    async def action_undo(self) -> None:
        """Roll the pod's deployment back: pick the revision (the previous one first)."""
        from warroom.kube import rollouts
        from warroom.tui.cluster_flows import open_flow, undo

        row = self.selected
        if row is None:
            return
        pod = self.watcher.pod(row.uid) or {}

        def load() -> tuple[str, list[rollouts.Revision]]:
            name = self._deployment_of(row, pod)
            return name, rollouts.history(self.gateway, row.namespace, name)[1]

        await open_flow(self.app, undo(load, self.now()), partial(self._picked_undo, row))

    def _picked_undo(self, row: PodRow, outcome: Any) -> None:
        if isinstance(outcome, Picked):
            deployment, revision = outcome.value
            self.undo_to(row.namespace, deployment, revision)
        else:
            self._notice(outcome)

    def undo_to(self, namespace: str, deployment: str, revision: int) -> None:
        """Describe the rollback to `revision` and ask for confirmation (the history pane's
        Enter comes here too)."""
        self._describe_change(
            "rollout undo",
            partial(actions.describe_undo, self.gateway, namespace, deployment, revision),
        )

    async def action_scale(self) -> None:
        """Scale the pod's deployment, starting from its current replica count."""
        from warroom.tui.cluster_flows import open_flow, scale

        row = self.selected
        if row is None:
            return
        pod = self.watcher.pod(row.uid) or {}

        def load() -> tuple[str, int, int]:
            name = self._deployment_of(row, pod)
            return (name, *actions.replicas(self.gateway, row.namespace, name))

        await open_flow(self.app, scale(load), partial(self._picked_scale, row))

    def _picked_scale(self, row: PodRow, outcome: Any) -> None:
        if isinstance(outcome, Picked):
            deployment, replicas = outcome.value
            self._describe_change(
                "scale",
                partial(actions.describe_scale, self.gateway, row.namespace, deployment, replicas),
            )
        else:
            self._notice(outcome)

    def _notice(self, outcome: Any) -> None:
        if isinstance(outcome, Notice):
            self.app.notify(
                outcome.message,
                title="Playbook",
                severity="error" if outcome.error else "warning",
                markup=False,
            )

    def _deployment_of(self, row: PodRow, pod: dict[str, Any]) -> str:
        """The pod's deployment, read through its ReplicaSet (IO: a worker's job)."""
        name = actions.owning_deployment(self.gateway, pod)
        if name is None:
            raise ValueError(f"{row.name} belongs to no deployment")
        return name

    # -- the playbook flow ----------------------------------------------------------------------

    @work(thread=True, group="pods-action", exit_on_error=False)
    def _describe(self, action: str, row: PodRow, pod: dict[str, Any]) -> None:
        try:
            name = actions.owning_deployment(self.gateway, pod)
        except Exception as error:
            self._report(ActionResult(False, f"{action}: {error}", None))
            return
        if name is None:
            self._report(ActionResult(False, f"{action}: {row.name} has no deployment", None))
            return
        self._ask(actions.describe_restart(self.gateway, row.namespace, name))

    @work(thread=True, group="pods-action", exit_on_error=False)
    def _describe_change(self, action: str, describe: Callable[[], Change | ActionResult]) -> None:
        try:
            change = describe()
        except Exception as error:
            change = ActionResult(False, f"{action}: {error}", None)
        self._ask(change)

    def _ask(self, change: Change | ActionResult) -> None:
        """(A worker's) confirm the described change, or say why there is nothing to confirm."""
        if isinstance(change, ActionResult):
            self._report(change)
        else:
            self.app.call_from_thread(self._confirm, change)

    def _confirm(self, change: Change) -> None:
        def decided(confirmed: bool | None) -> None:
            if confirmed:
                self.post_message(self.ActionConfirmed(change))
                self._apply(change)

        self.app.push_screen(PlaybookScreen(change, self.incident_commander()), decided)

    @work(thread=True, group="pods-action", exit_on_error=False)
    def _apply(self, change: Change) -> None:
        result = actions.apply(self.gateway, change)
        self.post_message(self.ActionDone(result))

    def _report(self, result: ActionResult) -> None:
        """A failure before confirmation: shown, not recorded (nothing was attempted)."""
        self.app.call_from_thread(
            self.app.notify, result.message, title="Playbook", severity="error", markup=False
        )
