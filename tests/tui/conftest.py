"""A console on a real database with the demo incident, a frozen clock and fixed ids."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from warroom.config import load_settings
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
