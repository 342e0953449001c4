"""The console with its cluster panes on the simulator (a manual clock: nothing moves unless a
test says so): why checkout crashes (previous logs, events, describe), what changed (rollout
history, changes seen while the incident is open), rolling back to a chosen revision, scaling
from the current count; every pin and action ends up in the event log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tui.conftest import INCIDENT, kinds, last, wait_for
from warroom.config import load_settings
from warroom.kube.gateway import Target
from warroom.kube.sim import ManualClock, Simulator
from warroom.store import EventLog
from warroom.tui.app import WarroomApp
from warroom.tui.screens.playbook import PlaybookScreen
from warroom.tui.widgets.cluster import ClusterRow
from warroom.tui.widgets.inspect import DescribePane, EventsPane, RolloutsPane
from warroom.tui.widgets.logs import LogsPane
from warroom.tui.widgets.pods import PodsPane


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator("bad-deploy", clock=ManualClock()) as simulator:
        yield simulator


@pytest.fixture
def console(sim: Simulator, demo_db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A console on the demo incident, looking at the simulator; the caller runs it."""
    monkeypatch.chdir(tmp_path)
    kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    logs: list[EventLog] = []

    def make() -> WarroomApp:
        log = EventLog(demo_db)
        logs.append(log)
        return WarroomApp(
            log,
            load_settings(),
            INCIDENT,
            actor="you",
            kube=Target(kubeconfig=str(kubeconfig)),
            now=_sim_now(sim),
        )

    yield make
    for log in logs:
        log.close()


def _sim_now(sim: Simulator) -> Any:
    from datetime import UTC, datetime

    return lambda: datetime.fromtimestamp(sim.clock.now() / 1e9, UTC)


def step(app: WarroomApp) -> str:
    return type(getattr(app.screen, "step", None)).__name__


async def on_checkout(pilot: Any) -> PodsPane:
    """The pods pane, live, with the cursor on the first checkout pod."""
    app = pilot.app
    pods = app.main.query_one(PodsPane)
    await wait_for(pilot, lambda: pods.table.row_count == 8, timeout=15)
    await wait_for(pilot, lambda: app.cluster_label == "warroom-sim/shop")
    pods.table.focus()
    await wait_for(pilot, lambda: pods.selected is not None)
    assert pods.selected.name.startswith("checkout-")
    return pods


async def test_logs_pin_and_rollback_are_recorded(console, demo_db):
    app = console()
    async with app.run_test(size=(120, 35)) as pilot:
        pods = await on_checkout(pilot)
        await pilot.press("enter")
        logs = app.main.query_one(LogsPane)
        await wait_for(pilot, lambda: len(logs.view.shown) > 0, timeout=15)
        assert logs.border_title.startswith(f"Logs · pod/{pods.selected.name} · checkout")
        await pilot.press("p")
        await wait_for(pilot, lambda: kinds(demo_db)[-1] == "log_pinned")
        pinned = last(demo_db).payload
        assert pinned["pod"].startswith("checkout-") and pinned["namespace"] == "shop"
        assert pinned["text"]

        pods.table.focus()
        await pilot.press("U")
        await wait_for(pilot, lambda: step(app) == "Choose")
        await pilot.press("enter")  # the previous revision: 3, checkout 2.4.1
        await wait_for(pilot, lambda: isinstance(app.screen, PlaybookScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: kinds(demo_db)[-1] == "action_taken", timeout=15)
        action = last(demo_db).payload
        assert action == {
            "description": "Rollout undo of deployment/checkout in shop to revision 3",
            "command": "kubectl -n shop rollout undo deployment/checkout --to-revision=3",
            "result": "done",
            "ok": True,
        }
        assert last(demo_db).actor == "you"


async def test_why_it_crashes_previous_logs_events_and_describe(console, demo_db, sim):
    app = console()
    async with app.run_test(size=(120, 35)) as pilot:
        pods = await on_checkout(pilot)
        pod = pods.selected.name
        await pilot.press("P")  # the crashed run's last words
        logs = app.main.query_one(LogsPane)
        await wait_for(pilot, lambda: logs.view.shown and "KeyError" in logs.view.shown[-1][2])
        assert logs.border_title == f"Logs · pod/{pod} · checkout · previous run · everything"
        assert logs.has_focus_within
        await pilot.press("p")
        await wait_for(pilot, lambda: kinds(demo_db)[-1] == "log_pinned")
        assert last(demo_db).payload["text"] == "KeyError: 'eu-west-3'"

        pods.table.focus()
        await pilot.press("e")
        events = app.main.query_one(EventsPane)
        await wait_for(pilot, lambda: len(events.items) > 3)
        assert events.border_title == f"Events · pod/{pod} + deployment/checkout"
        assert [i.evidence.text.split(" ")[1] for i in events.items[:2]] == ["BackOff", "Unhealthy"]
        assert events.has_focus_within and events.chosen is events.items[0]  # Warning first
        await pilot.press("p")
        await wait_for(pilot, lambda: kinds(demo_db)[-1] == "cluster_fact")
        fact = last(demo_db).payload
        assert (fact["source"], fact["object"], fact["namespace"], fact["context"]) == (
            "event",
            f"pod/{pod}",
            "shop",
            "warroom-sim",
        )
        assert fact["text"].startswith("Warning BackOff ×") and fact["observed_at"]

        pods.table.focus()
        await pilot.press("d")
        describe = app.main.query_one(DescribePane)
        await wait_for(pilot, lambda: any("Exit Code" in i.prompt.plain for i in describe.items))
        target = next(n for n, i in enumerate(describe.items) if "Exit Code" in i.prompt.plain)
        while describe.list.highlighted != target:
            await pilot.press("down")
        await pilot.press("p")
        await wait_for(
            pilot,
            lambda: (
                kinds(demo_db)[-1] == "cluster_fact"
                and last(demo_db).payload["source"] == "describe"
            ),
        )
        fact = last(demo_db).payload
        assert fact["object"] == f"pod/{pod}"
        assert fact["text"].startswith(
            "container checkout last state: Terminated, reason Error, exit code 1, started "
        )


async def test_what_changed_history_undo_to_a_revision_and_changes_kept(console, demo_db, sim):
    app = console()
    async with app.run_test(size=(120, 35)) as pilot:
        pods = await on_checkout(pilot)
        await pilot.press("H")
        history = app.main.query_one(RolloutsPane)
        await wait_for(pilot, lambda: len(history.items) == 4)
        assert [i.key for i in history.items] == ["4", "3", "2", "1"]
        assert history.chosen.key == "3"  # the previous revision, ready to roll back to
        assert (
            "CI pipeline 4790: checkout 2.5.0 (tax rate per region)"
            in history.items[0].prompt.plain
        )
        await pilot.press("down")  # revision 2, checkout 2.4.0
        await pilot.press("U")
        await wait_for(pilot, lambda: isinstance(app.screen, PlaybookScreen))
        text = str(app.screen.query_one("#change").render())
        assert "revision 4 → 2" in text and "checkout:2.4.0" in text
        await pilot.press("y")
        await wait_for(pilot, lambda: kinds(demo_db)[-1] == "action_taken", timeout=15)
        assert last(demo_db).payload["command"].endswith("--to-revision=2")
        for _ in range(4):
            sim.advance(5)
        await wait_for(
            pilot,
            lambda: (
                {
                    r.status
                    for r in pods.watcher.snapshot().rows.values()
                    if r.workload == "checkout"
                }
                == {"Running"}
            ),
            timeout=15,
        )
        await wait_for(
            pilot, lambda: pods.selected is not None and pods.selected.workload == "checkout"
        )
        await wait_for(pilot, lambda: history.items and history.items[0].key == "5", timeout=15)
        now = history.items[0].prompt.plain
        assert "checkout:2.4.0" in now and "3d ago as revision 2" in now and "← now" in now

        row = app.main.query_one(ClusterRow)
        assert row.offers == []  # the console's own rollback is recorded already, not offered
        sim.state.set_replicas("shop", "frontend", 4)  # someone else, meanwhile
        await wait_for(pilot, lambda: len(row.offers) == 1, timeout=10)
        status = pods.query_one(".pods-status")
        await wait_for(pilot, lambda: "cluster change seen" in str(status.render()))
        await pilot.press("C")
        await wait_for(pilot, lambda: kinds(demo_db)[-1] == "cluster_fact")
        change = last(demo_db).payload
        assert (change["source"], change["object"], change["text"]) == (
            "change",
            "deployment/frontend",
            "scaled 3 → 4 replicas",
        )
        assert change["observed_at"] and row.offers == []
        await wait_for(pilot, lambda: "cluster change seen" not in str(status.render()))


async def test_scale_starts_from_the_current_count(console, demo_db):
    app = console()
    async with app.run_test(size=(120, 35)) as pilot:
        await on_checkout(pilot)
        await pilot.press("S")
        await wait_for(pilot, lambda: step(app) == "Fill")
        assert app.screen.step.title == "Scale deployment/checkout"
        assert app.screen.step.fields[0].label == "Replicas (now 3, 0 available)"
        assert app.screen.query_one("#f-replicas").value == "3"
        await pilot.press("5", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PlaybookScreen))
        assert "replicas 3 → 5" in str(app.screen.query_one("#change").render())
        await pilot.press("y")
        await wait_for(pilot, lambda: kinds(demo_db)[-1] == "action_taken", timeout=15)
        assert last(demo_db).payload["command"] == (
            "kubectl -n shop scale deployment/checkout --replicas=5"
        )


async def test_every_pod_of_a_deployment_in_one_stream(console, sim):
    app = console()
    async with app.run_test(size=(120, 35)) as pilot:
        pods = await on_checkout(pilot)
        while not pods.selected.name.startswith("frontend"):
            await pilot.press("down")
        await pilot.press("L")
        logs = app.main.query_one(LogsPane)
        await wait_for(pilot, lambda: len(logs.view.sources) == 3, timeout=10)
        await wait_for(pilot, lambda: "· 3 pods ·" in logs.border_title)
        assert logs.border_title == "Logs · deployment/frontend · 3 pods · frontend · last 200"
        labels = {label for label, _ in logs.view.sources}
        names = {r.name for r in pods.watcher.snapshot().rows.values() if r.workload == "frontend"}
        assert labels == {name.rsplit("-", 1)[1] for name in names}
        colours = {str(style.color) for _, style in logs.view.sources}
        assert len(colours) >= 2
        gone = sorted(names)[0]
        sim.state.delete_pod("shop", gone, grace=0)
        sim.advance(3)
        await wait_for(pilot, lambda: len(logs.view.sources) == 4, timeout=10)  # one joined
        assert gone not in logs.session.pods and len(logs.session.pods) == 3


async def test_at_80x24_tab_reaches_the_cluster_panes(console):
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        pods = app.main.query_one(PodsPane)
        await wait_for(pilot, lambda: pods.table.row_count == 8, timeout=15)
        assert pods.region.height >= 5  # a strip under the timeline, not gone
        await pilot.press("tab")
        await wait_for(pilot, lambda: pods.table.has_focus)
        await pilot.pause()
        assert app.main.has_class("-cluster") and pods.region.height >= 14
        await pilot.press("e")
        events = app.main.query_one(EventsPane)
        await wait_for(pilot, lambda: len(events.items) > 3)
        await pilot.pause()
        assert events.region.width > pods.region.width  # the focused pane gets the width
        await pilot.press("shift+tab", "shift+tab")
        await wait_for(pilot, lambda: not app.main.has_class("-cluster"))


async def test_switching_namespace_and_all_namespaces_from_the_console(console):
    app = console()
    async with app.run_test(size=(120, 35)) as pilot:
        pods = await on_checkout(pilot)

        async def switch_to(namespace: str) -> None:
            await pilot.press("K")
            await wait_for(pilot, lambda: step(app) == "Choose")
            await pilot.press("enter")  # the one context
            await wait_for(
                pilot,
                lambda: "Namespace" in getattr(getattr(app.screen, "step", None), "title", ""),
            )
            options = [value for value, _ in app.screen.step.options]
            await pilot.press("home", *["down"] * options.index(namespace), "enter")

        await switch_to("kube-system")
        await wait_for(pilot, lambda: app.cluster_label == "warroom-sim/kube-system")
        await wait_for(
            pilot,
            lambda: (
                pods.table.row_count > 0
                and all(
                    not r.name.startswith("checkout") for r in pods.watcher.snapshot().rows.values()
                )
            ),
            timeout=15,
        )
        assert pods.columns[0] == "NAME"

        await switch_to("*")
        await wait_for(pilot, lambda: app.cluster_label == "warroom-sim/all namespaces")
        await wait_for(pilot, lambda: pods.table.row_count > 8, timeout=15)
        await wait_for(
            pilot,
            lambda: (
                {"shop", "kube-system"}
                <= {r.namespace for r in pods.watcher.snapshot().rows.values()}
            ),
        )
        rows = pods.watcher.snapshot().rows.values()
        assert {"shop", "kube-system"} <= {r.namespace for r in rows}
        assert pods.columns == ("NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE")
        header = [str(c.label) for c in pods.table.columns.values()]
        assert header == list(pods.columns)
        status = pods.table.columns["status"]
        await wait_for(  # once checkout's rows are in: never cut
            pilot, lambda: status.get_render_width(pods.table) >= len("CrashLoopBackOff") + 2
        )


async def test_container_since_window_last_n_and_close(console, sim):
    """A two-container pod: both followed, then one (`c`); a since-window and the last N lines
    (`r`) as kubectl's --since and --tail; `x` gives the pods pane the room back."""
    from warroom.core.rfc3339 import parse_datetime

    app = console()
    async with app.run_test(size=(120, 35)) as pilot:
        pods = await on_checkout(pilot)
        while not pods.selected.name.startswith("payments"):
            await pilot.press("down")
        pod = pods.selected.name
        await pilot.press("enter")
        logs = app.main.query_one(LogsPane)
        await wait_for(pilot, lambda: len(logs.view.sources) == 2)
        assert logs.border_title == f"Logs · pod/{pod} · all containers · last 200"
        assert [label for label, _ in logs.view.sources] == ["payments", "envoy"]

        await pilot.press("c")
        await wait_for(pilot, lambda: step(app) == "Choose")
        options = [value for value, _ in app.screen.step.options]
        assert options == ["*", "payments", "envoy", "migrate"]  # all, main ones, the init one
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: logs.border_title == f"Logs · pod/{pod} · envoy · last 200")
        await wait_for(pilot, lambda: len(logs.view.shown) > 0)
        assert logs.session is not None and {t.container for t in logs.session.sources} == {"envoy"}

        await pilot.press("r")
        await wait_for(pilot, lambda: step(app) == "Choose")
        options = [value for value, _ in app.screen.step.options]
        await pilot.press("home", *["down"] * options.index("since:300"), "enter")
        await wait_for(pilot, lambda: logs.border_title.endswith("· envoy · since 5m"))
        assert logs.options.since_seconds == 300 and logs.options.tail_lines is None
        await wait_for(pilot, lambda: len(logs.view.shown) > 0, timeout=10)
        now = sim.clock.now() / 1e9
        stamps = [logs.view.shown[n][1] for n in range(len(logs.view.shown))]
        assert all(now - parse_datetime(s).timestamp() <= 301 for s in stamps), stamps[:3]

        await pilot.press("r")
        await wait_for(pilot, lambda: step(app) == "Choose")
        options = [value for value, _ in app.screen.step.options]
        await pilot.press("home", *["down"] * options.index("tail:?"), "enter")
        await wait_for(pilot, lambda: step(app) == "Fill")
        await pilot.press("ctrl+a", "ctrl+k", *"7", "enter")
        await wait_for(pilot, lambda: logs.border_title.endswith("· envoy · last 7"))
        await wait_for(pilot, lambda: len(logs.view.shown) == 7, timeout=10)

        await pilot.press("x")
        row = app.main.query_one(ClusterRow)
        await wait_for(pilot, lambda: row.showing is None and pods.table.has_focus)
        await wait_for(pilot, lambda: pods.region.width == row.region.width)  # the row again
