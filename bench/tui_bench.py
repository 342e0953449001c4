"""Console start-up against a bare Textual app, and key press to persisted event."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.report import Figure, percentile, section
from bench.store_bench import seed_big

RUNS = 7


def startup(args: list[str], config: Path) -> float:
    """Median seconds from spawning the process to its first full frame."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("WARROOM_")}
    env.update(PYTHONPATH=str(Path(__file__).parents[1]), WARROOM_CONFIG=str(config))
    times = []
    for _ in range(RUNS):
        start = time.time()
        out = subprocess.run(
            [sys.executable, "-m", "bench.startup_apps", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )
        times.append(float(out.stdout.split()[-1]) - start)
    return statistics.median(times)


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


def run() -> list[Figure]:
    tmp = Path(tempfile.mkdtemp(prefix="warroom-bench-tui-"))
    small, big = tmp / "1k.db", tmp / "100k.db"
    seed_big(small, 1_000)
    seed_big(big, 100_000)
    from warroom.store import EventLog

    with EventLog(big) as log:  # the snapshot a user's earlier session would have left
        log.state(log.timeline.incident_ids()[0])

    no_config = tmp / "absent.toml"
    config = tmp / "config.toml"  # what a synced responder's file might hold
    config.write_text(
        'user = "bench"\ntimezone = "Europe/Berlin"\n[severity.SEV2]\nupdate_every = "20m"\n'
    )
    figures = []
    section(f"Console start-up: process spawn to first full frame (median of {RUNS}, headless)")
    bare = startup(["bare"], no_config) * 1000
    for name, db, goal in [("1k events", small, 1.3), ("100k events", big, 1.5)]:
        value = startup(["console", str(db)], no_config) * 1000
        figures.append(
            Figure(
                f"console start-up, {name}",
                value,
                "ms",
                "bare Textual app",
                bare,
                f"ratio <= {goal}",
                value / bare <= goal,
            )
        )
        print(figures[-1].line())
    # No goal: a config file has to be validated, and that loads pydantic-settings.
    value = startup(["console", str(small)], config) * 1000
    figures.append(
        Figure("console start-up, 1k, config file", value, "ms", "bare Textual app", bare)
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
