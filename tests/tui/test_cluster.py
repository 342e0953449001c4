"""The console with its cluster panes on the simulator: pods, logs, pins and playbook actions
become timeline events."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.conftest import INCIDENT, kinds, last, wait_for
from warroom.config import load_settings
from warroom.kube.gateway import Target
from warroom.kube.sim import Simulator
from warroom.store import EventLog
from warroom.tui.app import WarroomApp
from warroom.tui.widgets.logs import LogsPane
from warroom.tui.widgets.pods import PodsPane


@pytest.fixture
def kubeconfig(tmp_path: Path):
    with Simulator("bad-deploy") as sim:
        yield sim.write_kubeconfig(tmp_path / "kubeconfig")


async def test_logs_pin_and_rollback_are_recorded(kubeconfig, demo_db, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    with EventLog(demo_db) as log:
        app = WarroomApp(
            log, load_settings(), INCIDENT, actor="you", kube=Target(kubeconfig=str(kubeconfig))
        )
        async with app.run_test(size=(120, 35)) as pilot:
            pods = app.main.query_one(PodsPane)
            await wait_for(pilot, lambda: pods.table.row_count == 8, timeout=15)
            await wait_for(pilot, lambda: app.cluster_label == "warroom-sim/shop")
            pods.table.focus()
            await wait_for(pilot, lambda: pods.selected is not None)
            assert pods.selected.name.startswith("checkout-")
            await pilot.press("enter")
            logs = app.main.query_one(LogsPane)
            await wait_for(pilot, lambda: len(logs.view.shown) > 0, timeout=15)
            logs.view.focus()
            await wait_for(pilot, lambda: logs.view.chosen is not None)
            await pilot.press("p")
            await wait_for(pilot, lambda: kinds(demo_db)[-1] == "log_pinned")
            pinned = last(demo_db).payload
            assert pinned["pod"].startswith("checkout-") and pinned["namespace"] == "shop"
            assert pinned["text"]

            pods.table.focus()
            await pilot.press("U")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "PlaybookScreen")
            await pilot.press("y")
            await wait_for(pilot, lambda: kinds(demo_db)[-1] == "action_taken", timeout=15)
            action = last(demo_db).payload
            assert action == {
                "description": "Rollout undo of deployment/checkout in shop",
                "command": "kubectl -n shop rollout undo deployment/checkout",
                "result": "done",
                "ok": True,
            }
            assert last(demo_db).actor == "you"


async def test_switching_namespace_from_the_console(kubeconfig, demo_db, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with EventLog(demo_db) as log:
        app = WarroomApp(
            log, load_settings(), INCIDENT, actor="you", kube=Target(kubeconfig=str(kubeconfig))
        )
        async with app.run_test(size=(120, 35)) as pilot:
            pods = app.main.query_one(PodsPane)
            await wait_for(pilot, lambda: pods.table.row_count == 8, timeout=15)
            await pilot.press("K")
            await wait_for(
                pilot, lambda: type(getattr(app.screen, "step", None)).__name__ == "Choose"
            )
            await pilot.press("enter")  # the one context
            await wait_for(
                pilot,
                lambda: "Namespace" in getattr(getattr(app.screen, "step", None), "title", ""),
            )
            options = [value for value, _ in app.screen.step.options]
            await pilot.press("home", *["down"] * options.index("kube-system"), "enter")
            await wait_for(pilot, lambda: app.cluster_label == "warroom-sim/kube-system")
            await wait_for(
                pilot,
                lambda: (
                    pods.table.row_count > 0
                    and all(
                        not r.name.startswith("checkout")
                        for r in pods.watcher.snapshot().rows.values()
                    )
                ),
                timeout=15,
            )
