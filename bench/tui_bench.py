"""Console start-up against a bare Textual app, and key press to persisted event."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import term_bench
from bench.report import Figure, percentile, section
from bench.store_bench import seed_big

RUNS = 7


def headless(args: list[str], **env: str) -> float:
    """Seconds from spawning a headless app to its first full frame (it prints the time)."""
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "bench.startup_apps", *args],
        capture_output=True,
        text=True,
        env=term_bench.base_env(**env),
        timeout=120,
        check=True,
    )
    return float(out.stdout.split()[-1]) - start


def headless_medians(cases: dict[str, tuple[list[str], dict[str, str]]]) -> dict[str, float]:
    """Median seconds per case, the cases interleaved so they share the machine's noise."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for args, env in cases.values():  # one unmeasured round: page cache, the config cache
        headless(args, **env)
    for _ in range(RUNS):
        for name, (args, env) in cases.items():
            samples[name].append(headless(args, **env))
    return {name: statistics.median(values) for name, values in samples.items()}


async def key_to_disk(db: Path, presses: int = 60) -> list[float]:
    """From the Enter key event reaching the app to the row being on disk.

    A separate thread with its own connection watches the file, so the figure does not
    include the test pilot's own bookkeeping after the key press.
    """
    from warroom.config import load_settings
    from warroom.store import EventLog
    from warroom.tui.app import WarroomApp

    log = EventLog(db)
    app = WarroomApp(log, load_settings(), log.latest_open(), actor="bench")
    seen: list[float] = []
    stop = threading.Event()

    def watch() -> None:
        probe = sqlite3.connect(db)
        last = probe.execute("SELECT max(seq) FROM events").fetchone()[0]
        while not stop.is_set():
            head = probe.execute("SELECT max(seq) FROM events").fetchone()[0]
            if head != last:
                seen.append(time.perf_counter())
                last = head
            time.sleep(0.0002)
        probe.close()

    watcher = threading.Thread(target=watch, daemon=True)
    latencies = []
    async with app.run_test() as pilot:
        while app.state is None:
            await pilot.pause(0.01)
        watcher.start()
        # Keys go in with `simulate_key`, not the pilot: `Pilot.press` waits for the whole
        # process to go idle, which the watcher thread never lets it.
        for _ in range(presses):
            app.simulate_key("n")
            await until(lambda: type(app.focused).__name__ == "Input")  # the dialog listens
            app.simulate_key("x")
            await until(lambda: getattr(app.focused, "value", "") == "x")
            before = len(seen)
            start = time.perf_counter()
            app.simulate_key("enter")
            await until(lambda n=before: len(seen) > n)
            latencies.append(seen[before] - start)
    stop.set()
    watcher.join()
    log.close()
    return latencies


async def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the console did not react within 10 s")
        await asyncio.sleep(0.0005)


GOAL = 1.3  # console start-up over the bare Textual app's, configured or not


def terminal_figures(tmp: Path) -> list[Figure]:
    """What the user sees: tmux 120x35, spawn to the newest timeline row / the bare footer."""
    if shutil.which("tmux") is None:
        print("  (skipped: tmux is not installed; `apt-get install tmux`)")
        return []
    from tests.sync.servers import ServerProcess, Store

    dbs = []
    for name in ("unconfigured", "no-server", "served"):
        seed_big(tmp / f"term-{name}.db", 1_000)
        term_bench.mark_newest(tmp / f"term-{name}.db")
        dbs.append(tmp / f"term-{name}.db")
    store = Store("sqlite", str(tmp / "server.db"))
    server = ServerProcess(store, tmp).start()
    try:
        chosen = term_bench.cases(dbs, tmp, (server.url, store.token("bench")))
        medians = term_bench.measure(chosen, term_bench.RUNS)
    finally:
        server.stop()
    bare_name = chosen[0].name
    bare = medians.pop(bare_name)
    figures = []
    held = {case.name for case in chosen if case.goal}
    for name, found in medians.items():
        value, base = found.wall * 1000, bare.wall * 1000
        goal = (f"ratio <= {GOAL}", value / base <= GOAL) if name in held else ("", None)
        figures.append(Figure(name, value, "ms", bare_name, base, *goal))
        print(figures[-1].line())
    if bare.cpu:
        print("  CPU time of the program up to the same frame (steadier on a shared machine):")
        for name, found in medians.items():
            if found.cpu is not None:
                figures.append(
                    Figure(f"{name}, CPU", found.cpu * 1000, "ms", bare_name, bare.cpu * 1000)
                )
                print(figures[-1].line())
    fastest = ", ".join(f"{name} {m.fastest * 1000:.0f}" for name, m in medians.items())
    print(f"  fastest runs (ms): {bare_name} {bare.fastest * 1000:.0f}, {fastest}")
    return figures


def run() -> list[Figure]:
    tmp = Path(tempfile.mkdtemp(prefix="warroom-bench-tui-"))
    term_bench.compile_sources()
    figures = []
    section(
        "Console start-up in a real terminal (tmux 120x35, 1k events): spawn to the newest "
        f"timeline row on screen (median of {term_bench.RUNS}, interleaved)"
    )
    figures += terminal_figures(tmp)

    small, big = tmp / "1k.db", tmp / "100k.db"
    seed_big(small, 1_000)
    seed_big(big, 100_000)
    from warroom.store import EventLog

    with EventLog(big) as log:  # the snapshot a user's earlier session would have left
        log.state(log.timeline.incident_ids()[0])

    cache = str(tmp / "cache")
    plain = {"WARROOM_CONFIG": str(tmp / "absent.toml"), "XDG_CACHE_HOME": cache}
    config = term_bench.write_config(tmp / "config.toml", "http://127.0.0.1:9", "t0k3n")
    configured = {"WARROOM_CONFIG": str(config), "WARROOM_DB": str(small), "XDG_CACHE_HOME": cache}
    section(f"Console start-up, headless: spawn to first full frame (median of {RUNS})")
    medians = headless_medians(
        {
            "bare": (["bare"], plain),
            "1k events": (["console", str(small)], plain),
            "100k events": (["console", str(big)], plain),
            "1k, configured": (["console", str(small)], configured),
        }
    )
    bare = medians.pop("bare") * 1000
    for name, seconds in medians.items():
        goal = 1.5 if name.startswith("100k") else GOAL
        value = seconds * 1000
        figures.append(
            Figure(
                f"headless console, {name}",
                value,
                "ms",
                "bare Textual app",
                bare,
                f"ratio <= {goal}",
                value / bare <= goal,
            )
        )
        print(figures[-1].line())

    section("Key press to event on disk (n, x, Enter; time from Enter)")
    lat = asyncio.run(key_to_disk(small))
    p99 = percentile(lat, 99) * 1000
    figures.append(Figure("key press -> persisted p50", percentile(lat, 50) * 1000, "ms"))
    print(figures[-1].line())
    figures.append(Figure("key press -> persisted p99", p99, "ms", goal="<= 50 ms", met=p99 <= 50))
    print(figures[-1].line())
    return figures
