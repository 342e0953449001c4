"""A console on a real database with the demo incident, a frozen clock and fixed ids."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from warroom.config import load_settings
from warroom.core.events import Event
from warroom.core.hlc import Stamp
from warroom.core.state import project
from warroom.demo import build
from warroom.store import EventLog
from warroom.tui.app import WarroomApp

NOW = datetime(2026, 11, 22, 14, 30, 0, tzinfo=UTC)
INCIDENT = "01JZDEM0000000000000000000"
DEMO_EVENTS = 16
"""How many events the seeded demo incident has."""


def fixed_ids():
    n = 0
    while True:
        n += 1
        yield f"01JZ{n:022d}"


def seed_demo(path: Path) -> None:
    with EventLog(path) as log:
        log.insert(build(NOW, INCIDENT, fixed_ids()), outbox=True)


@pytest.fixture
def demo_db(db_path: Path) -> Path:
    seed_demo(db_path)
    return db_path


HOSTILE_NOTE = "01JZH0STI1E0000000000000N1"

# (seconds before NOW, actor, kind, payload): outside text that has broken panes before.
HOSTILE: list[tuple[int, str, str, dict[str, Any]]] = [
    (
        270,
        "alice",
        "title_changed",
        {"title": "Checkout\t503s \u202eputuo\u202c after deploy\u200b [bold red]x[/] 中文 🔥"},
    ),
    (
        240,
        "李雷🔥",
        "note",
        {"text": "tab\there\u200bzero \u202eRLO\u202c \x1b[31mred\x1b[0m [bold red]x[/] end"},
    ),
    (
        210,
        "e\u0301\u0301ve",
        "note",
        {"text": "café combining, emoji 🔥👩\u200d💻❤\ufe0f wide 中文字符 [link=x]y[/link]"},
    ),
    (180, "alice", "role_assigned", {"role": "scribe", "person": "王小明\u202e"}),
    (150, "alice", "pin", {"target": HOSTILE_NOTE, "pinned": True}),
    (
        120,
        "[bold red]x[/]",
        "log_pinned",
        {"pod": "api\t1", "text": "ts\tINFO\t\x1b]0;pwn\x07 done\r\nnext"},
    ),
    (
        90,
        "peer\u200b",
        "alert_received",
        {"name": "Disk\u2066full\u2069", "source": "\x1b[2J", "summary": "中文" * 40},
    ),
    (60, "bob", "note", {"text": "last\tnote\u202e [b]markup[/b] with\ttabs\n\tand 🔥"}),
]


def seed_hostile(path: Path) -> int:
    """Append the hostile events to the demo incident; returns the new event count."""
    with EventLog(path) as log:
        state = project(log.timeline.events(INCIDENT))
        events = []
        for n, (seconds, actor, kind, payload) in enumerate(HOSTILE):
            wall = int((NOW - timedelta(seconds=seconds)).timestamp() * 1000)
            event_id = HOSTILE_NOTE if n == 1 else f"01JZH0STI1E{n:015d}"
            event = Event(
                event_id,
                INCIDENT,
                "peer",
                Stamp(wall, 0).encode(),
                actor,
                kind,
                state.with_replaces(kind, payload),
            )
            state.apply(event)
            events.append(event)
        log.insert(events)
        return state.event_count


@pytest.fixture
def hostile_db(demo_db: Path) -> Path:
    seed_hostile(demo_db)
    return demo_db


@pytest.fixture
def make_app(demo_db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Build the console; the caller runs it with `app.run_test()`."""
    monkeypatch.chdir(tmp_path)
    logs: list[EventLog] = []

    def make(incident: str | None = INCIDENT, now: Callable[[], datetime] = lambda: NOW):
        log = EventLog(demo_db)
        logs.append(log)
        return WarroomApp(log, load_settings(), incident, now=now, actor="you")

    yield make
    for log in logs:
        log.close()


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until `condition` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await pilot.pause(0.02)


def kinds(path: Path) -> list[str]:
    with EventLog(path) as log:
        return [e.kind for e in log.timeline.events(INCIDENT)]


def last(path: Path):
    with EventLog(path) as log:
        return log.timeline.events(INCIDENT)[-1]


@pytest.fixture
def snap_compare(snap_compare: Callable[..., bool]) -> Callable[..., bool]:
    """pytest-textual-snapshot's, with text cursors steady: a blinking cursor is drawn or not
    depending on when the frame is taken (the composer's snapshot failed 1 full run in 4)."""

    def compare(app: Any, *args: Any, run_before: Any = None, **kwargs: Any) -> bool:
        async def steady(pilot: Any) -> None:
            if run_before is not None:
                done = run_before(pilot)
                if inspect.isawaitable(done):
                    await done
            for field in pilot.app.screen.query("Input, TextArea"):
                field.cursor_blink = False  # drawn where it has the focus, never blinking
            await pilot.pause()

        return snap_compare(app, *args, run_before=steady, **kwargs)

    return compare
