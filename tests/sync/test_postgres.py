"""Several server instances on one PostgreSQL database serve one log and wake each other."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.sync.factory import auth, body, notes
from tests.sync.servers import ServerProcess, Store
from warroom.core.ids import new_id

pytestmark = pytest.mark.postgres


@pytest.fixture
def pair(pg, tmp_path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    store = Store("postgres", pg.new_database())
    servers = [ServerProcess(store, tmp_path) for _ in range(2)]
    for server in servers:
        server.start()
    yield servers[0], servers[1]
    for server in servers:
        server.stop()


async def test_a_push_to_one_instance_wakes_long_polls_on_another(pair):
    a, b = pair
    writer, reader = [await asyncio.to_thread(a.store.token, name) for name in ("w", "r")]
    device = f"d{new_id()}"
    async with httpx.AsyncClient(timeout=60) as http:
        poll = asyncio.create_task(
            http.get(f"{b.url}/v1/events", params={"wait": 30}, headers=auth(reader))
        )
        started = time.monotonic()
        pushed = await http.post(
            f"{a.url}/v1/events", json=body(device, notes(1, device=device)), headers=auth(writer)
        )
        assert pushed.status_code == 200
        page = (await poll).json()
    assert time.monotonic() - started < 5  # woken by NOTIFY, not by the 30 s timeout
    assert [item["event"]["device_id"] for item in page["events"]] == [device]


async def test_concurrent_pushes_through_two_instances_get_one_gap_free_sequence(pair):
    a, b = pair
    writers, batches, size = 4, 5, 40
    tokens = [await asyncio.to_thread(a.store.token, f"w{i}") for i in range(writers)]
    reader = await asyncio.to_thread(a.store.token, "reader")
    total, seen, cursor = writers * batches * size, [], 0

    async def write(http: httpx.AsyncClient, url: str, token: str) -> None:
        device = f"d{new_id()}"
        for _ in range(batches):
            response = await http.post(
                f"{url}/v1/events",
                json=body(device, notes(size, device=device)),
                headers=auth(token),
            )
            assert response.status_code == 200

    async def read(http: httpx.AsyncClient) -> None:
        nonlocal cursor
        deadline = time.monotonic() + 30
        while len(seen) < total and time.monotonic() < deadline:
            params = {"after": cursor, "limit": 30, "wait": 5}
            page = (
                await http.get(f"{b.url}/v1/events", params=params, headers=auth(reader))
            ).json()
            seen.extend(item["seq"] for item in page["events"])
            cursor = page["next"]

    async with httpx.AsyncClient(timeout=60) as http:
        pushes = [write(http, (a, b)[i % 2].url, token) for i, token in enumerate(tokens)]
        await asyncio.gather(read(http), *pushes)
    assert seen == list(range(1, total + 1))
