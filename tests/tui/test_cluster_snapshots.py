"""The cluster panes as a responder sees them, at 120x35 and 80x24: the bad-deploy simulator on a
manual clock started at the console's frozen NOW, so names, ages, counts and times are fixed.

Update after an intended change with
`pytest tests/tui/test_cluster_snapshots.py -n 0 --snapshot-update` and look at the diff.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tui.conftest import DEMO_EVENTS, INCIDENT, NOW, wait_for
from warroom.config import load_settings
from warroom.kube.gateway import Target
from warroom.kube.sim import ManualClock, Simulator
from warroom.store import EventLog
from warroom.tui.app import WarroomApp
from warroom.tui.widgets.inspect import DescribePane, EventsPane, RolloutsPane
from warroom.tui.widgets.logs import LogsPane
from warroom.tui.widgets.pods import PodsPane
from warroom.tui.widgets.timeline import Timeline


@pytest.fixture
def cluster_app(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[[], WarroomApp]]:
    monkeypatch.chdir(tmp_path)
    start = int(NOW.timestamp()) * 1_000_000_000
    with Simulator("bad-deploy", clock=ManualClock(start)) as sim:
        kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        logs: list[EventLog] = []

        def make() -> WarroomApp:
            log = EventLog(demo_db)
            logs.append(log)
            target = Target(kubeconfig=str(kubeconfig))
            return WarroomApp(
                log, load_settings(), INCIDENT, actor="you", kube=target, now=lambda: NOW
            )

        yield make
        for log in logs:
            log.close()


async def _live(pilot: Any) -> PodsPane:
    """The timeline loaded (its cursor on the last event) and the pods listed."""
    app = pilot.app
    timeline = app.main.query_one(Timeline)
    await wait_for(pilot, lambda: app.state is not None and timeline.total == DEMO_EVENTS)
    await wait_for(pilot, lambda: timeline.event_at(DEMO_EVENTS - 1) is not None)
    pods: PodsPane = app.main.query_one(PodsPane)
    await wait_for(pilot, lambda: pods.table.row_count == 8, timeout=15)
    await wait_for(pilot, lambda: app.cluster_label == "warroom-sim/shop")
    # listed is not yet watching: the status line says "connecting" until the watch is live
    await wait_for(pilot, lambda: pods._status is not None and pods._status[0] == "live")
    return pods


async def _pods(pilot: Any) -> None:
    pods = await _live(pilot)
    pods.table.focus()
    await wait_for(pilot, lambda: pods.selected is not None)
    narrow = pilot.app.size.width < 110
    await wait_for(pilot, lambda: pilot.app.main.has_class("-cluster") or not narrow)
    await pilot.pause()


async def _events(pilot: Any) -> None:
    await _pods(pilot)
    await pilot.press("e")
    events = pilot.app.main.query_one(EventsPane)
    await wait_for(pilot, lambda: len(events.items) > 3 and events.has_focus_within)
    await pilot.pause()


async def _describe(pilot: Any) -> None:
    await _pods(pilot)
    await pilot.press("d")
    describe = pilot.app.main.query_one(DescribePane)
    await wait_for(pilot, lambda: any("Replicas" in i.prompt.plain for i in describe.items))
    await pilot.pause()


async def _history(pilot: Any) -> None:
    await _pods(pilot)
    await pilot.press("H")
    history = pilot.app.main.query_one(RolloutsPane)
    await wait_for(pilot, lambda: len(history.items) == 4 and history.chosen is not None)
    await pilot.pause()


async def _previous(pilot: Any) -> None:
    await _pods(pilot)
    await pilot.press("P")
    logs = pilot.app.main.query_one(LogsPane)
    await wait_for(pilot, lambda: bool(logs.view.shown) and "KeyError" in logs.view.shown[-1][2])
    await wait_for(pilot, lambda: logs.session is not None and "ended" in logs.session.state)
    await pilot.pause()


SCREENS = {"pods": _pods, "events": _events, "describe": _describe, "history": _history}


@pytest.mark.parametrize("name", list(SCREENS))
@pytest.mark.parametrize("size", [(120, 35), (80, 24)], ids=["120x35", "80x24"])
def test_cluster_pane(snap_compare: Any, cluster_app: Any, name: str, size: tuple[int, int]) -> Any:
    assert snap_compare(cluster_app(), terminal_size=size, run_before=SCREENS[name])


def test_previous_logs(snap_compare: Any, cluster_app: Any) -> None:
    assert snap_compare(cluster_app(), terminal_size=(120, 35), run_before=_previous)


def test_cluster_strip_at_80x24(snap_compare: Any, cluster_app: Any) -> None:
    """Before Tab reaches it, the cluster row is a strip under the timeline, not gone."""

    async def strip(pilot: Any) -> None:
        await _live(pilot)
        await pilot.pause()

    assert snap_compare(cluster_app(), terminal_size=(80, 24), run_before=strip)


def test_pods_focused_beside_events_at_80x24(snap_compare: Any, cluster_app: Any) -> None:
    """Back in the pods pane, its columns up to STATUS; the events pane stays in sight."""

    async def back(pilot: Any) -> None:
        await _events(pilot)
        pods = pilot.app.main.query_one(PodsPane)
        pods.table.focus()
        await wait_for(pilot, lambda: pods.styles.width is not None and pods.fitted == "STATUS")
        await pilot.pause()

    assert snap_compare(cluster_app(), terminal_size=(80, 24), run_before=back)
