"""The console against a real `warroom serve`: what a teammate sees when they open it.

A console with a server starts sync after its first frame. It used to arm that only once an
incident was on screen, so a teammate's first start (an empty log) showed the declare dialog
and never pulled the incident the team was working on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.widgets import Input

from tests.sync.servers import ServerProcess, Store
from tests.tui.conftest import DEMO_EVENTS, INCIDENT, seed_demo, wait_for
from tests.waiting import wait_until
from warroom.config import Settings
from warroom.core.commands import AddNote
from warroom.store import EventLog
from warroom.sync.engine import Syncer
from warroom.tui import app as console
from warroom.tui.app import WarroomApp


@dataclass
class Team:
    url: str
    alice: str
    erin: str


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Team]:
    store = Store("sqlite", str(tmp_path / "server.db"))
    running = ServerProcess(store, tmp_path).start()
    yield Team(running.url, store.token("alice"), store.token("erin"))
    running.stop()


def push(db: Path, server: Team) -> None:
    """Alice's log, synced until the server holds all of it."""
    with EventLog(db) as log:
        syncer = Syncer(log, server.url, server.alice, wait=0.5)
        syncer.start()
        try:
            wait_until(lambda: syncer.status().caught_up and not syncer.status().pending, "push")
        finally:
            assert syncer.stop()


def opened(db: Path, server: Team) -> WarroomApp:
    settings = Settings(user="erin", server=server.url, token=server.erin)
    return WarroomApp(EventLog(db), settings, None, actor="erin")


def declaring(app: WarroomApp) -> bool:
    """The declare dialog is up, its title field mounted."""
    return app.screen is not app.main and bool(app.screen.query(Input))


async def test_a_teammates_first_start_opens_the_teams_incident(tmp_path, server):
    seed_demo(tmp_path / "alice.db")
    push(tmp_path / "alice.db", server)
    app = opened(tmp_path / "erin.db", server)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: app.incident_id == INCIDENT, timeout=20)
        await wait_for(pilot, lambda: app.state is not None, timeout=20)
        assert app.screen is app.main  # no declare dialog hid it
        assert app.state is not None and app.state.title.value
        assert app.syncer is not None


async def test_a_teammates_note_arrives_in_an_open_console(tmp_path, server):
    seed_demo(tmp_path / "alice.db")
    push(tmp_path / "alice.db", server)
    app = opened(tmp_path / "erin.db", server)
    async with app.run_test(size=(120, 35)) as pilot:
        shown = lambda: str(app.timeline.border_subtitle)  # noqa: E731
        await wait_for(pilot, lambda: shown() == f"{DEMO_EVENTS} events", timeout=20)
        with EventLog(tmp_path / "alice.db") as log:
            log.execute(INCIDENT, [AddNote(text="from alice, later")], "alice")
        await asyncio.to_thread(push, tmp_path / "alice.db", server)
        await wait_for(pilot, lambda: shown() == f"{DEMO_EVENTS + 1} events", timeout=20)


async def test_with_nothing_on_the_server_declare_is_offered_once_sync_has_looked(tmp_path, server):
    app = opened(tmp_path / "erin.db", server)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: declaring(app), timeout=20)
        assert app.syncer is not None and app.syncer.status().caught_up


async def test_an_unreachable_server_still_offers_declare(tmp_path, monkeypatch):
    monkeypatch.setattr(console, "FIRST_PULL_WAIT", 0.5)
    from tests.sync.pgcluster import free_port

    settings = Settings(user="erin", server=f"http://127.0.0.1:{free_port()}", token="t0k3n")
    app = WarroomApp(EventLog(tmp_path / "erin.db"), settings, None, actor="erin")
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: declaring(app), timeout=20)
        assert app.incident_id is None


async def test_an_incident_arriving_behind_the_declare_dialog_is_announced(tmp_path, server):
    app = opened(tmp_path / "erin.db", server)
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_for(pilot, lambda: declaring(app), timeout=20)
        seed_demo(tmp_path / "alice.db")
        await asyncio.to_thread(push, tmp_path / "alice.db", server)

        def told() -> int:
            return sum("Incidents arrived" in str(n.message) for n in app._notifications)

        await wait_for(pilot, lambda: told() > 0, timeout=20)
        assert declaring(app) and app.incident_id is None  # what erin was typing stays
