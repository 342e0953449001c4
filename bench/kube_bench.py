"""The cluster panes under load: log throughput simulator -> client -> logs pane next to raw
`Log.write_lines`, key latency while logs flood (from one pod, and from ten at once), memory
after 1M lines, and key latency with 500 pods changing 50 times a second.

The console's GIL switch interval is not touched: the App here runs at Python's default, so
the figures hold for any process the panes run in."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
from textual import events
from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Log

from bench.report import Figure, percentile, section
from warroom.kube.gateway import Gateway, Target
from warroom.kube.logs import LogOptions, LogTarget
from warroom.kube.sim.state import ClusterState
from warroom.tui.widgets.logs import LogScope, LogsPane, LogView
from warroom.tui.widgets.pods import PodsPane

FLOOD_SERVER = """
import sys
from warroom.kube.sim import Flood, ManualClock, Simulator
path, total, width, pods = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
scenario = Flood(rate=1_000_000, total=total // pods, width=width, pods=pods)
with Simulator(scenario, clock=ManualClock()) as sim:
    sim.advance(total / pods / 1_000_000 + 5)  # start-up, then every line
    sim.write_kubeconfig(path)
    names = [p["metadata"]["name"] for p in sim.state.store.list("pods", "bench")]
    print(" ".join(names), flush=True)
    sys.stdin.read()
"""
"""The flood's API server runs in its own process, as a real one would: not in our GIL."""
PODS_SERVER = """
import random, sys, threading
from bench.kube_bench import CHANGES_PER_SECOND, ManyPods
from warroom.kube.sim import Simulator, SystemClock
path = sys.argv[1]
with Simulator(ManyPods(), clock=SystemClock()) as sim:
    sim.write_kubeconfig(path, namespace="bench")
    print("ready", flush=True)
    sys.stdin.readline()  # "churn"
    stop, rng = threading.Event(), random.Random(1)
    def churn():
        while not stop.wait(1 / CHANGES_PER_SECOND):
            pods = sim.state.store.list("pods", "bench")
            sim.state.delete_pod("bench", rng.choice(pods)["metadata"]["name"], grace=0)
    changer = threading.Thread(target=churn, daemon=True)
    changer.start()
    sys.stdin.read()
    stop.set()
    changer.join()
"""
"""The churning cluster too runs in its own process: a real cluster is another machine, and
a simulator sharing our GIL (and our CPU time, which `Pilot.press` waits to go idle) would
measure the simulator, not the pane."""
N_LINES = 1_000_000
WIDTH = 100
N_FOLLOWED = 10
"""Pods followed at once in the second flood (N_LINES in all, split between them)."""
N_PODS = 500
CHANGES_PER_SECOND = 50


@dataclass(frozen=True)
class ManyPods:
    """`N_PODS` replicas of one deployment in namespace `bench`."""

    namespace: str = "bench"

    def build(self, now: int) -> ClusterState:
        state = ClusterState(now - 3_600 * 10**9, nodes=20)
        state.add_namespace(self.namespace)
        state.add_deployment(self.namespace, "many", [{"name": "app", "image": "x"}], N_PODS)
        state.advance_to(now)
        return state


class Bench(App[None]):
    def __init__(self, widget_factory: Callable[[], Widget]) -> None:
        super().__init__()
        self._factory = widget_factory

    def compose(self) -> ComposeResult:
        yield self._factory()


async def _flood(
    kubeconfig: Path, pods: list[str], deployment: bool = False
) -> tuple[float, list[float], float]:
    """Lines/s delivered into the pane (buffer drops excluded), key latencies during the
    flood, RSS growth (MiB). `deployment`: the pods are followed as the console's `L` does
    (every pod of deployment/flood, found through its selector and a pod watch), not named."""
    gateway = Gateway(Target(kubeconfig=str(kubeconfig)))
    app = Bench(lambda: LogsPane(gateway))
    process = psutil.Process()
    async with app.run_test(size=(120, 35)) as pilot:
        pane = app.query_one(LogsPane)
        view = app.query_one(LogView)
        view.focus()
        handled = [0]
        cursor = view.action_cursor

        def counted(delta: int) -> None:
            handled[0] += 1
            cursor(delta)

        view.action_cursor = counted  # type: ignore[method-assign]
        rss_before = process.memory_info().rss
        start = time.perf_counter()
        if deployment:
            scope = LogScope("bench", pod=pods[0], deployment="flood", selector="app=flood")
            pane.follow_scope(scope, LogOptions(tail_lines=None))
        else:
            pane.follow([LogTarget("bench", pod) for pod in pods], LogOptions(tail_lines=None))
        latencies: list[float] = []
        while view.received + view.dropped < N_LINES:
            if len(latencies) < 200 and view.received > 10_000:
                latencies += await _handled_latencies(app, lambda: handled[0], 1)
            else:
                await pilot.pause(0.05)
        elapsed = time.perf_counter() - start
        rss_after = process.memory_info().rss
    gateway.close()
    of = " of a deployment" if deployment else ""
    print(
        f"  ({len(pods)} pod(s){of}: {view.dropped:,} lines dropped by the bounded buffer, not"
        f" counted as delivered; {len(latencies)} key presses timed)"
    )
    return view.received / elapsed, latencies, (rss_after - rss_before) / 2**20


async def _raw_log(lines: list[str]) -> float:
    """The baseline: the same lines into Textual's Log in the same batch size, lines/s."""
    app = Bench(lambda: Log(max_lines=20_000))
    async with app.run_test(size=(120, 35)) as pilot:
        log = app.query_one(Log)
        start = time.perf_counter()
        for at in range(0, len(lines), 10_000):
            log.write_lines(lines[at : at + 10_000])
            await pilot.pause(0)
        elapsed = time.perf_counter() - start
    return len(lines) / elapsed


async def _handled_latencies(app: App[None], moved: Callable[[], object], n: int) -> list[float]:
    """Key press -> handled, n times: the key goes in through the driver, as a terminal's would,
    and the time is taken when its effect (`moved()`) shows. `Pilot.press` is not used here:
    it then waits for the whole process to go idle, which a watch thread never lets it do."""
    out = []
    assert app._driver is not None
    for _ in range(n):
        before = moved()
        start = time.perf_counter()
        app._driver.send_message(events.Key("down", None))
        while moved() == before:
            await asyncio.sleep(0.001)
        out.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.02)
    return out


async def _many_pods(kubeconfig: Path, server: subprocess.Popen[str]) -> list[float]:
    gateway = Gateway(Target(kubeconfig=str(kubeconfig)))
    app = Bench(lambda: PodsPane(gateway))
    async with app.run_test(size=(120, 35)) as pilot:
        pane = app.query_one(PodsPane)
        deadline = time.monotonic() + 60
        while pane.table.row_count < N_PODS and time.monotonic() < deadline:
            await pilot.pause(0.1)
        print(f"  ({pane.table.row_count} rows; watch {pane.watcher.state})")
        pane.table.focus()
        assert server.stdin is not None
        server.stdin.write("churn\n")
        server.stdin.flush()
        await pilot.pause(1)
        lists = pane.watcher.lists
        try:
            latencies = await asyncio.wait_for(
                _handled_latencies(app, lambda: pane.table.cursor_row, 200), 60
            )
        except TimeoutError:
            print("  (key presses did not complete within 60 s under churn)")
            latencies = [float("inf")]
        print(
            f"  ({pane.table.row_count} rows at the end; re-lists during churn: "
            f"{pane.watcher.lists - lists}; watch {pane.watcher.state})"
        )
    gateway.close()
    return latencies


def flood(pods: int, deployment: bool = False) -> tuple[float, list[float], float]:
    """`N_LINES` from `pods` pods followed at once: lines/s, key latencies (ms), RSS growth."""
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "flood"
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                FLOOD_SERVER,
                str(kubeconfig),
                *map(str, (N_LINES, WIDTH, pods)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            names = server.stdout.readline().split()
            return asyncio.run(_flood(kubeconfig, names, deployment))
        finally:
            server.kill()
            server.wait()


def run() -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        rate, keys, growth = flood(1)
        _, many_keys, _ = flood(N_FOLLOWED)
        _, deployment_keys, _ = flood(N_FOLLOWED, deployment=True)
        filler = "x" * (WIDTH - 11)
        raw = asyncio.run(_raw_log([f"{i:010d} {filler}" for i in range(N_LINES)]))
        section(f"Logs: {N_LINES:,} lines of {WIDTH} bytes, simulator -> client -> logs pane")
        figures.append(
            Figure(
                "end-to-end log throughput",
                rate / 1000,
                "klines/s",
                "raw Log.write_lines",
                raw / 1000,
                ">= 100k/s and >= 0.7x raw",
                rate >= 100_000 and rate >= 0.7 * raw,
            )
        )
        p99 = percentile(keys, 99)
        figures.append(
            Figure("key latency p99 while flooding", p99, "ms", goal="<= 100 ms", met=p99 <= 100)
        )
        figures.append(
            Figure("RSS growth after 1M lines", growth, "MiB", goal="<= 100 MiB", met=growth <= 100)
        )
        p99 = percentile(many_keys, 99)
        figures.append(
            Figure(
                f"key latency p99, {N_FOLLOWED} pods flooding at once",
                p99,
                "ms",
                goal="<= 100 ms",
                met=p99 <= 100,
            )
        )
        p99 = percentile(deployment_keys, 99)
        figures.append(
            Figure(
                f"key latency p99, a deployment's {N_FOLLOWED} pods (L)",
                p99,
                "ms",
                "named pods",
                percentile(many_keys, 99),
                "<= 100 ms",
                p99 <= 100,
            )
        )
        kubeconfig = Path(tmp) / "many"
        server = subprocess.Popen(
            [sys.executable, "-c", PODS_SERVER, str(kubeconfig)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            server.stdout.readline()
            keys = asyncio.run(_many_pods(kubeconfig, server))
        finally:
            server.kill()
            server.wait()
        section(f"Pods: {N_PODS} pods, {CHANGES_PER_SECOND} deletions/s (each a few events)")
        p99 = percentile(keys, 99)
        figures.append(
            Figure(
                "key latency p99, 500 pods churning", p99, "ms", goal="<= 100 ms", met=p99 <= 100
            )
        )
    for figure in figures:
        print(figure.line())
    return figures
