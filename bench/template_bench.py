"""Template rendering in the sandbox worker process against jinja2 in a thread (the old way).

The worker costs a pipe round trip per render and a Python start-up when cold; the figures
put both beside an in-process render of the same template, measured in the same run.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import Figure, percentile, section
from warroom import sandbox
from warroom.core.templates import DEFAULT_TEMPLATES

RUNS = 7
INCIDENT = "01JZDEM0000000000000000000"
IDS = [f"01JZ{n:022d}" for n in range(1, 100)]
N_WARM = 300
SOURCE = next(t.source for t in DEFAULT_TEMPLATES if t.key == "status-update")
FIELDS = {
    "now": "14:30 UTC",
    "severity": "SEV2",
    "status_title": "Identified",
    "impact": "checkout errors for EU customers",
    "actions": "working on a fix for the identified cause",
    "next_update": "15:00 UTC",
}
IN_PROCESS_FIRST = f"""
import time
start = time.perf_counter()
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
env.from_string({SOURCE!r}).render({FIELDS!r})
print(time.perf_counter() - start)
"""


def in_process_env() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


def samples(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def cold_first_render() -> float:
    """Spawn to rendered text with a new worker (what the first `u` of a session waits)."""
    with sandbox.Renderer() as renderer:
        start = time.perf_counter()
        text, error = renderer.render(SOURCE, FIELDS)
        took = time.perf_counter() - start
    assert error is None and "SEV2" in text
    return took


def in_process_first_render() -> float:
    """The old path's first render: jinja2 imported and the template compiled, in a fresh
    process so the import is really paid."""
    out = subprocess.run(
        [sys.executable, "-c", IN_PROCESS_FIRST], capture_output=True, text=True, check=True
    )
    return float(out.stdout)


class InThread:
    """The old composer's render (jinja2 in the waiting thread), behind the Renderer API."""

    def __init__(self) -> None:
        self.env = in_process_env()

    def start(self) -> None:
        pass

    def job(self, source: str, fields: dict[str, str]) -> InThread.Job:
        return InThread.Job(self.env, source, fields)

    class Job:
        cancelled = False

        def __init__(self, env: Any, source: str, fields: dict[str, str]) -> None:
            self.env, self.source, self.fields = env, source, fields

        def result(self) -> sandbox.Rendered:
            return sandbox.Rendered(self.env.from_string(self.source).render(self.fields))

        def cancel(self) -> None:
            pass


async def key_to_text(renderers: list[object]) -> list[tuple[float, float]]:
    """From `u` reaching the console to the composer holding the rendered update, and from
    the composer's mount (its render starts) to that text: the part the renderer decides.

    One open per renderer, in one app; the first open (which loads the composer's widgets)
    is not counted."""
    from warroom.config import load_settings
    from warroom.demo import build
    from warroom.store import EventLog
    from warroom.tui.app import WarroomApp
    from warroom.tui.screens.composer import Composer

    db = Path(tempfile.mkdtemp(prefix="warroom-bench-tpl-")) / "demo.db"
    with EventLog(db) as seeding:
        seeding.insert(build(datetime.now(UTC), INCIDENT, iter(IDS)), outbox=True)
    shared = sandbox.shared
    current: list[object] = []
    sandbox.shared = lambda: current[-1]  # type: ignore[assignment,return-value]
    log = EventLog(db)
    times = []
    try:
        app = WarroomApp(log, load_settings(), INCIDENT, actor="bench")
        async with app.run_test(size=(120, 35)):
            await until(lambda: app.state is not None)
            for renderer in renderers:
                current.append(renderer)
                start = time.perf_counter()
                app.simulate_key("u")
                await until(lambda: isinstance(app.screen, Composer) and app.screen.is_mounted)
                mounted = time.perf_counter()
                await until(lambda: shows_update(app.screen))
                done = time.perf_counter()
                times.append((done - start, done - mounted))
                app.simulate_key("escape")
                await until(lambda: not isinstance(app.screen, Composer))
    finally:
        sandbox.shared = shared
        log.close()
    return times[1:]


def shows_update(screen: object) -> bool:
    from warroom.tui.screens.composer import Composer

    return isinstance(screen, Composer) and screen.is_mounted and "STATUS UPDATE" in screen.body


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the composer did not show the text within 30 s")
        await asyncio.sleep(0.0005)


def run() -> list[Figure]:
    figures = []

    def show(figure: Figure) -> None:
        figures.append(figure)
        print(figure.line())

    section(f"Template render: sandbox worker vs jinja2 in-process ({N_WARM} renders)")
    env = in_process_env()
    base = samples(lambda: env.from_string(SOURCE).render(FIELDS), N_WARM)
    with sandbox.Renderer() as renderer:
        renderer.warm()
        warm = samples(lambda: renderer.render(SOURCE, FIELDS), N_WARM)
    for p in (50, 99):
        value, baseline = percentile(warm, p) * 1000, percentile(base, p) * 1000
        show(Figure(f"render, warm worker p{p}", value, "ms", "in-process", baseline))

    section(f"First render (median of {RUNS}, fresh each time)")
    cold = statistics.median(cold_first_render() for _ in range(RUNS)) * 1000
    first = statistics.median(in_process_first_render() for _ in range(RUNS)) * 1000
    show(Figure("first render, cold worker (spawn included)", cold, "ms", "in-process", first))

    section(f"Composer: `u` to the rendered update on screen (median of {RUNS})")
    in_thread = InThread()
    fresh = [sandbox.Renderer() for _ in range(RUNS)]
    with sandbox.Renderer() as renderer:
        opened = {
            "in-thread": asyncio.run(key_to_text([in_thread] * (RUNS + 1))),
            "warm worker": asyncio.run(key_to_text([renderer] * (RUNS + 1))),
            "cold worker": asyncio.run(key_to_text([in_thread, *fresh])),
        }
    for each in fresh:
        each.close()
    for part, label in ((0, "u -> text"), (1, "mounted -> text")):
        baseline = statistics.median(t[part] for t in opened["in-thread"]) * 1000
        for name in ("warm worker", "cold worker"):
            value = statistics.median(t[part] for t in opened[name]) * 1000
            show(Figure(f"{label}, {name}", value, "ms", "in-thread", baseline))
    return figures
