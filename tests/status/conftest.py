"""A real `warroom serve` with a `[status_page]` config, and a responder who syncs to it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.sync.servers import ServerProcess, Store
from warroom.core.commands import Command, Declare
from warroom.core.events import Event
from warroom.core.ids import new_id
from warroom.store import EventLog
from warroom.sync.engine import Syncer

T = TypeVar("T")
CONFIG = """
[status_page]
title = "Example Shop status"
components = { checkout = "Checkout", api = "Public API", search = "Search" }
"""


@pytest.fixture
def config_file() -> Path:
    path = Path(os.environ["WARROOM_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONFIG)
    return path


@pytest.fixture
def status_server(config_file: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(Store("sqlite", str(tmp_path / "server.db")), tmp_path).start()
    yield server
    server.stop()


def in_thread(work: Callable[[], T]) -> T:
    """Run `work` in a thread of its own: Playwright's sync API keeps an event loop running
    in the test's thread, where `asyncio.run` refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


@dataclass
class Responder:
    """Someone at the console: writes through the command layer, then syncs."""

    log: EventLog
    syncer: Syncer
    server: str
    actor: str = "alice"

    def declare(self, title: str, severity: str = "SEV1", components: tuple[str, ...] = ()) -> str:
        incident = new_id()
        self.run(
            incident,
            Declare(title=title, severity=severity, components=components, commander=self.actor),
        )
        return incident

    def run(self, incident: str, *commands: Command) -> list[Event]:
        events = self.log.execute(incident, list(commands), self.actor)
        status = in_thread(lambda: asyncio.run(self.syncer.sync_once()))
        assert status.in_sync, status.reason
        return events

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.server}{path}", timeout=10)


@pytest.fixture
def responder(status_server: ServerProcess, tmp_path: Path) -> Iterator[Responder]:
    token = in_thread(lambda: status_server.store.token(f"alice-{new_id()}"))
    with EventLog(tmp_path / "alice.db") as log:
        yield Responder(log, Syncer(log, status_server.url, token), status_server.url)
