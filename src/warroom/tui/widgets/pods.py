"""The pods pane: kubectl's pod table, live, plus the playbook actions on a pod's deployment.

A `PodWatcher` runs on a thread of its own; every REFRESH seconds the pane copies its snapshot
(a cheap in-memory dict) on the UI thread and applies only the cells that changed, keyed by
pod uid, so hundreds of pods and frequent events cost little. Actions: resolve the pod's
deployment and describe the change in a worker, confirm in `PlaybookScreen`, apply in a
worker, and post `ActionDone` for the console to record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static

from warroom.kube import actions
from warroom.kube.actions import ActionResult, Change
from warroom.kube.columns import PodRow
from warroom.kube.gateway import Gateway
from warroom.kube.pods import PodWatcher, WatchSettings
from warroom.tui.screens.playbook import PlaybookScreen, ReplicasScreen

REFRESH = 0.3
HOT_SECONDS = 30.0
"""How long a rising restart count stays highlighted."""
COLUMNS = ("NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE")
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
        Binding("enter", "select", "Logs", show=True),
        Binding("R", "restart", "Restart"),
        Binding("U", "undo", "Undo"),
        Binding("S", "scale", "Scale"),
    ]

    class PodSelected(Message):
        """The user chose a pod (Enter): the logs pane can follow it."""

        def __init__(self, row: PodRow, pod: dict[str, Any] | None) -> None:
            super().__init__()
            self.row = row
            self.pod = pod

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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.gateway = gateway
        self.incident_commander = incident_commander
        self.settings = settings
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

    def compose(self) -> ComposeResult:
        yield Static("", classes="pods-status")
        table: DataTable[Any] = DataTable(cursor_type="row", zebra_stripes=False)
        for column in COLUMNS:
            table.add_column(column, key=column.lower())
        yield table

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
        self.table.clear()
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
        now = time.time_ns()
        second = now // 1_000_000_000
        clock = time.monotonic()
        expired = self._hot_until <= clock
        if snap.version == self._version and second == self._second and not expired:
            return
        table = self.table
        under_cursor = self._cursor_key()
        if (snap.state, snap.hint, len(snap.rows), self._where) != self._status:
            self._status = (snap.state, snap.hint, len(snap.rows), self._where)
            self._status_line(snap.state, snap.hint, len(snap.rows))
        ticked = second != self._second or expired
        self._version, self._second = snap.version, second
        if expired:
            self._hot = {uid: until for uid, until in self._hot.items() if until > clock}
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
            cells = (*row.cells(now), "hot" if hot else "")
            old = self._shown.get(uid)
            if old == cells:
                continue
            styled = self._styled(row, cells, hot)
            if old is None:
                table.add_row(*styled, key=uid)
                added = True
            else:
                for index, column in enumerate(COLUMNS):
                    if old[index] != cells[index] or (index == 3 and old[6] != cells[6]):
                        table.update_cell(uid, column.lower(), styled[index])
            self._shown[uid] = cells
        self._hot_until = min(self._hot.values(), default=float("inf"))
        if added:
            table.sort("name", key=lambda name: name.plain)
        if under_cursor in self._shown:  # rows added or removed above it: stay on that pod
            index = table.get_row_index(under_cursor)
            if index != table.cursor_row:
                table.move_cursor(row=index, animate=False)

    def _cursor_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value

    def _styled(self, row: PodRow, cells: tuple[str, ...], hot: bool) -> list[Text]:
        name, ready, status, restarts, age, node = cells[:6]
        return [
            Text(name),
            Text(ready),
            Text(status, style=_status_style(status)),
            Text(restarts, style="bold reverse #ff5f5f" if hot else ""),
            Text(age),
            Text(node),
        ]

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
        self.query_one(".pods-status", Static).update(text)

    # -- keys ---------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_select()

    def action_select(self) -> None:
        row = self.selected
        if row is not None:
            self.post_message(self.PodSelected(row, self.watcher.pod(row.uid)))

    def action_restart(self) -> None:
        self._prepare("rollout restart")

    def action_undo(self) -> None:
        self._prepare("rollout undo")

    def action_scale(self) -> None:
        row = self.selected
        if row is None:
            return
        self.app.push_screen(
            ReplicasScreen(row.name),
            lambda replicas: replicas is not None and self._prepare("scale", replicas),
        )

    # -- the playbook flow ----------------------------------------------------------------------

    def _prepare(self, action: str, replicas: int = 0) -> None:
        row = self.selected
        if row is not None:
            self._describe(action, row, self.watcher.pod(row.uid) or {}, replicas)

    @work(thread=True, group="pods-action", exit_on_error=False)
    def _describe(self, action: str, row: PodRow, pod: dict[str, Any], replicas: int) -> None:
        try:
            name = actions.owning_deployment(self.gateway, pod)
        except Exception as error:
            self._report(ActionResult(False, f"{action}: {error}", None))
            return
        if name is None:
            self._report(ActionResult(False, f"{action}: {row.name} has no deployment", None))
            return
        describe = {
            "rollout restart": lambda: actions.describe_restart(self.gateway, row.namespace, name),
            "rollout undo": lambda: actions.describe_undo(self.gateway, row.namespace, name),
            "scale": lambda: actions.describe_scale(self.gateway, row.namespace, name, replicas),
        }[action]
        change = describe()
        if isinstance(change, ActionResult):
            self._report(change)
        else:
            self.app.call_from_thread(self._confirm, change)

    def _confirm(self, change: Change) -> None:
        def decided(confirmed: bool | None) -> None:
            if confirmed:
                self._apply(change)

        self.app.push_screen(PlaybookScreen(change, self.incident_commander()), decided)

    @work(thread=True, group="pods-action", exit_on_error=False)
    def _apply(self, change: Change) -> None:
        result = actions.apply(self.gateway, change)
        self.post_message(self.ActionDone(result))

    def _report(self, result: ActionResult) -> None:
        """A failure before confirmation: shown, not recorded (nothing was attempted)."""
        self.app.call_from_thread(
            self.app.notify, result.message, title="Playbook", severity="error"
        )
