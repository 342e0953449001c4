"""The pods and logs panes in a tiny app against the simulator: select a pod, follow its logs,
filter, pause / resume, pin, save, actions confirmed with the IC shown, and a dead cluster."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Footer

from warroom.core.backoff import Backoff
from warroom.kube.gateway import Gateway, Target
from warroom.kube.logs import LogOptions, LogTarget
from warroom.kube.pods import WatchSettings
from warroom.kube.sim import NASTY_LOG_LINES, Simulator
from warroom.resources import styles_dir
from warroom.tui.screens.playbook import PlaybookScreen
from warroom.tui.widgets.logs import CURSOR, LogsPane, LogView
from warroom.tui.widgets.pods import PodsPane

FAST = WatchSettings(timeout_seconds=5, read_timeout=2.0, backoff=Backoff(0.05, 0.2))


class Harness(App[None]):
    """What the console does with the panes, minus the incident."""

    CSS_PATH = str(styles_dir() / "cluster.tcss")

    def __init__(self, gateway: Gateway, save_dir: Path) -> None:
        super().__init__()
        self.gateway = gateway
        self.save_dir = save_dir
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield PodsPane(self.gateway, lambda: "alice", settings=FAST, id="pods")
            yield LogsPane(self.gateway, max_lines=5_000, save_dir=self.save_dir, id="logs")
        yield Footer()

    def on_pods_pane_pod_selected(self, message: PodsPane.PodSelected) -> None:
        self.messages.append(message)
        if message.pod is not None:
            self.query_one(LogsPane).follow_pod(message.pod, LogOptions(tail_lines=20))

    def on_logs_pane_line_pinned(self, message: LogsPane.LinePinned) -> None:
        self.messages.append(message)

    def on_pods_pane_action_done(self, message: PodsPane.ActionDone) -> None:
        self.messages.append(message)


async def until(pilot: Any, condition: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await pilot.pause(0.05)


@pytest.fixture
def harness(kubeconfig: Path, tmp_path: Path) -> Harness:
    return Harness(Gateway(Target(kubeconfig=str(kubeconfig))), tmp_path)


async def select(pilot: Any, prefix: str) -> None:
    pods = pilot.app.query_one(PodsPane)
    await until(pilot, lambda: pods.table.row_count == 8)
    pods.table.focus()
    for _ in range(pods.table.row_count):
        if pods.selected and pods.selected.name.startswith(prefix):
            break
        await pilot.press("down")
    await pilot.press("enter")


async def test_select_follow_filter_pause_pin_save(sim: Simulator, harness: Harness) -> None:
    async with harness.run_test(size=(120, 30)) as pilot:
        pods = harness.query_one(PodsPane)

        def status() -> str:
            return str(pods.query_one(".pods-status").render())

        # the rows come with the list; "live" once the watch that follows it is connected
        await until(pilot, lambda: pods.table.row_count == 8 and status().endswith("live"))
        assert "warroom-sim · shop · 8 pods · live" in status()
        statuses = {str(pods.table.get_cell(k, "status")) for k in pods.table.rows}
        assert statuses == {"Running", "CrashLoopBackOff"}
        await select(pilot, "frontend")
        selected = harness.messages[-1]
        assert isinstance(selected, PodsPane.PodSelected) and selected.row.name.startswith(
            "frontend"
        )
        view = harness.query_one(LogView)
        await until(pilot, lambda: len(view.shown) == 20)
        logs = harness.query_one(LogsPane)
        sim.state.inject_log_lines("shop", selected.row.name, NASTY_LOG_LINES)
        await until(pilot, lambda: any("boom" in line[2] for line in view.shown))
        index = next(i for i, line in enumerate(view.shown) if "boom" in line[2])
        drawn = view._strip(index, 0, 200).text
        assert drawn.startswith("rich markup: [red]boom[/red] [link=https://evil.example]click")
        view.focus()
        await pilot.press("w")  # wrapped: the 16 KiB line takes many rows, the view follows
        assert view.virtual_size.height > len(view.shown) + 100
        await pilot.press("w")

        view.focus()
        await pilot.press("slash", *"GET /healthz", "enter")
        assert view.filters.include is not None
        assert view.shown and all("GET /healthz" in line[2] for line in view.shown)
        await pilot.press("backslash", *"([", "enter")  # invalid: nothing changes
        assert view.filters.exclude is None and view.filters.include is not None
        await pilot.press("escape")
        await pilot.press("slash", "ctrl+u", "enter")  # empty clears
        assert view.filters.include is None

        await pilot.press("space")
        shown = len(view.shown)
        sim.state.inject_log_lines("shop", selected.row.name, [b"just one"])
        await until(pilot, lambda: view.pending == 1)
        await pilot.pause()
        assert "paused — 1 new line " in str(logs.query_one(".logs-status").render()) + " "
        sim.advance(2)
        await until(pilot, lambda: view.pending > 1)
        await pilot.pause()
        assert len(view.shown) == shown
        assert f"paused — {view.pending} new lines" in str(logs.query_one(".logs-status").render())
        await pilot.press("space")
        assert not view.paused and len(view.shown) > shown and view.pending == 0

        view.focus()
        await pilot.press("up", "p")
        pinned = harness.messages[-1]
        assert isinstance(pinned, LogsPane.LinePinned)
        assert (pinned.pod, pinned.pod_namespace, pinned.container) == (
            selected.row.name,
            "shop",
            "frontend",
        )
        assert pinned.text == view.shown[-2][2] and pinned.source_time.endswith("Z")
        await pilot.press("s")  # the dialog starts in the pane's directory, named for what
        await until(pilot, lambda: type(getattr(harness.screen, "step", None)).__name__ == "Fill")
        name = harness.screen.query_one("#f-name").value
        assert name.startswith(f"pod-{selected.row.name}-frontend-last-20-") and name.endswith(
            ".log"
        )
        await pilot.press("enter", "enter")
        saved_at = harness.save_dir / name
        await until(pilot, saved_at.exists)
        header, *body = saved_at.read_text().splitlines()
        assert header.startswith("# warroom logs saved ")
        assert f"namespace shop · pod/{selected.row.name} · container frontend · last 20" in header
        assert "include" not in header and " lines" in header
        assert len(body) >= 20 and body == [view.plain(line) for line in view.shown][-len(body) :]


async def test_restart_count_rise_and_deleted_pods(sim: Simulator, harness: Harness) -> None:
    async with harness.run_test(size=(100, 24)) as pilot:
        pods = harness.query_one(PodsPane)
        await until(pilot, lambda: pods.table.row_count == 8)
        victim = next(
            r for r in pods.watcher.snapshot().rows.values() if r.name.startswith("frontend")
        )
        sim.state.delete_pod("shop", victim.name, grace=0)
        sim.advance(60)
        await until(pilot, lambda: victim.uid not in pods.table.rows and pods.table.row_count == 8)
        await until(pilot, lambda: pods._hot)
        hot = next(iter(pods._hot))
        assert pods.watcher.snapshot().rows[hot].name.startswith("checkout")
        assert "reverse" in str(pods.table.get_cell(hot, "restarts").style)


async def test_undo_is_confirmed_with_the_ic_and_reported(sim: Simulator, harness: Harness) -> None:
    async with harness.run_test(size=(120, 30)) as pilot:
        await select(pilot, "checkout")
        await pilot.press("U")  # which revision: the history, newest first, the previous chosen
        await until(pilot, lambda: type(getattr(harness.screen, "step", None)).__name__ == "Choose")
        step = harness.screen.step
        assert step.title == "Roll back deployment/checkout to"
        assert [value for value, _ in step.options] == ["4", "3", "2", "1"] and step.current == "3"
        assert step.options[0][1].startswith("  4  checkout:2.5.0  ")
        assert step.options[0][1].endswith("2.5.0 (tax rate per region)  ← now")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(harness.screen, PlaybookScreen))
        dialog = harness.screen
        assert isinstance(dialog, PlaybookScreen)
        text = str(dialog.query_one("#change").render())
        assert "rollout undo shop/checkout" in text and "checkout:2.5.0 →" in text
        assert "revision 4 → 3" in text and "--to-revision=3" in text
        assert "Incident Commander: alice" in text
        await pilot.press("y")
        await until(pilot, lambda: isinstance(harness.messages[-1], PodsPane.ActionDone))
        result = harness.messages[-1].result
        assert result.ok and result.change.action == "rollout undo"
        assert result.change.to_revision == 3
        await pilot.press("R")
        await until(pilot, lambda: isinstance(harness.screen, PlaybookScreen))
        sim.state.forbid_writes = True
        await pilot.press("y")
        await until(pilot, lambda: not harness.messages[-1].result.ok)
        assert harness.messages[-1].result.status == 403


async def test_panes_without_a_cluster(tmp_path: Path) -> None:
    app = Harness(Gateway(Target(kubeconfig=str(tmp_path / "none"))), tmp_path)
    async with app.run_test(size=(60, 12)) as pilot:
        pods = app.query_one(PodsPane)
        await until(pilot, lambda: "unreachable" in str(pods.query_one(".pods-status").render()))
        status = str(pods.query_one(".pods-status").render())
        assert "no kubeconfig" in status and "warroom sim" in status
        assert "select a pod" in str(app.query_one(LogsPane).query_one(".logs-status").render())


async def test_the_cursor_stays_on_its_pod_when_pods_are_added_above(
    sim: Simulator, harness: Harness
) -> None:
    async with harness.run_test(size=(120, 30)) as pilot:
        pods = harness.query_one(PodsPane)
        await until(pilot, lambda: pods.table.row_count == 8)
        pods.table.focus()
        await pilot.press("down", "down", "down", "down")  # checkout x3 sort first
        chosen = pods.selected
        assert chosen is not None and chosen.name.startswith("frontend")
        sim.state.set_replicas("shop", "checkout", 6)  # new rows sort above the cursor
        await until(pilot, lambda: pods.table.row_count == 11)
        assert pods.selected is not None and pods.selected.name == chosen.name
        assert pods.table.cursor_row == 7


async def test_many_followed_containers_do_not_starve_the_apps_other_workers(
    sim: Simulator, harness: Harness
) -> None:
    """Followers and the pod watcher live as long as the pane: on Textual's shared worker
    executor (min(32, CPUs + 4) threads) the sixth would wait forever, and so would every
    short worker after it (saving, the console's poller)."""
    async with harness.run_test(size=(120, 30)) as pilot:
        pods = harness.query_one(PodsPane)
        await until(pilot, lambda: pods.table.row_count == 8)
        targets = [
            LogTarget("shop", pod["metadata"]["name"], container["name"])
            for pod in sim.state.store.list("pods", "shop")
            for container in pod["spec"]["containers"]
        ]
        assert len(targets) == 10
        logs = harness.query_one(LogsPane)
        logs.follow(targets, LogOptions(tail_lines=1))
        session = logs.session
        assert session is not None
        await until(pilot, lambda: all(f.state != "starting" for f in session.followers))
        logs.view.focus()
        await pilot.press("s")
        await until(pilot, lambda: type(getattr(harness.screen, "step", None)).__name__ == "Fill")
        await pilot.press("enter", "enter")
        await until(pilot, lambda: list(harness.save_dir.glob("*.log")))


HOSTILE = (
    "a\ttab, CJK 中文字 wide, e\u0301 combined, \u202eevil\u202c bidi, \u200bzero width, "
    "\x1b[31mred\x1b[0m \x1b]0;title\x07 escapes, tab\tagain "
).encode()


def pane_rows(app: Harness, pane: LogsPane) -> list[Any]:
    """The screen rows the pane covers, as the compositor sends them to the terminal."""
    screen = app.screen._compositor.render_strips()
    return [screen[y] for y in range(pane.region.y, pane.region.bottom)]


def assert_drawn_safely(app: Harness, pane: LogsPane) -> None:
    width = app.screen.size.width
    for y, row in enumerate(pane_rows(app, pane)):
        text = row.text
        assert row.cell_length == width, (y, text)
        assert text.isprintable(), (y, ascii(text))  # no tab, escape, bidi or zero-width
        if 0 < y < pane.region.height - 1:
            left = row.crop(pane.region.x, pane.region.x + 1).text
            right = row.crop(pane.region.right - 1, pane.region.right).text
            assert (left, right) == ("│", "│"), (y, text)


async def test_hostile_log_lines_draw_each_row_at_exactly_the_pane_width(
    sim: Simulator, harness: Harness
) -> None:
    async with harness.run_test(size=(100, 24)) as pilot:
        await select(pilot, "frontend")
        pod = harness.messages[-1].row.name
        view = harness.query_one(LogView)
        pane = harness.query_one(LogsPane)
        await until(pilot, lambda: len(view.shown) == 20)
        sim.state.inject_log_lines("shop", pod, [HOSTILE, HOSTILE * 3])
        await until(pilot, lambda: sum("evil" in line[2] for line in view.shown) == 2)
        drawn = next(line[2] for line in view.shown if "evil" in line[2])
        assert drawn.startswith("a       tab, CJK 中文字 wide, e\u0301 combined, ⟨U+202E⟩evil")
        assert "⟨U+200B⟩zero width, red  escapes, tab " in drawn
        assert cell_len(drawn[: drawn.index("again")]) % 8 == 0  # the tab stop, in cells
        view.focus()
        for keys in ((), ("w",), ("w", "t"), ("w",)):  # as is, wrapped, times, wrapped with times
            await pilot.press(*keys)
            await pilot.pause()
            assert_drawn_safely(harness, pane)
        assert view.wrap and view.timestamps
        last = view.shown[-1][2]  # the longest, followed at the bottom: wrapped, all there
        wrapped = view._end - view._starts[-1]
        assert wrapped > 3
        rows = [view.render_line(y).text for y in range(view.size.height)][-wrapped:]
        assert "".join(row[13:] for row in rows).replace(" ", "") == last.replace(" ", "")


async def test_the_cursor_row_is_drawn_where_the_cursor_is(
    sim: Simulator, harness: Harness
) -> None:
    """Moving the cursor redraws only two rows: the screen must still show exactly one."""
    async with harness.run_test(size=(100, 30)) as pilot:
        await select(pilot, "frontend")
        view = harness.query_one(LogView)
        await until(pilot, lambda: len(view.shown) == 20)
        view.focus()

        def highlighted() -> list[str]:
            screen = harness.screen._compositor.render_strips()
            rows = [screen[y] for y in range(view.region.y, view.region.bottom)]
            return [
                row.crop(view.region.x, view.region.right - 1).text.rstrip()
                for row in rows
                if any(s.style and s.style.bgcolor == CURSOR.bgcolor for s in row)
            ]

        for keys in (("up", "up", "up"), ("down",), ("up",) * 5, ("down",) * 2):
            await pilot.press(*keys)
            await pilot.pause()
            assert view.cursor is not None
            assert highlighted() == [view.shown[view.cursor][2][: view.region.width - 1].rstrip()]
