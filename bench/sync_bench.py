"""Sync: 10k events from one client to another through the server; fan-out latency.

Real `warroom serve` processes on 127.0.0.1 (SQLite, and PostgreSQL when its binaries are
installed: the throwaway cluster of the sync tests, with fsync on). Baselines from the same
run: storing the same events straight into a local log, and a bare HTTP round trip.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from pathlib import Path

import httpx
from tests.sync.factory import notes
from tests.sync.pgcluster import cluster, find_bin
from tests.sync.servers import ServerProcess, Store

from bench.report import Figure, percentile, section
from warroom.core.commands import AddNote, Declare
from warroom.core.ids import new_id
from warroom.store import EventLog
from warroom.sync.client import SyncClient, batches
from warroom.sync.engine import Syncer

N_EVENTS = 10_000
PAGE = 1000
N_LISTENERS = 10
N_WRITES = 60


def seed(path: Path, n: int) -> list:
    with EventLog(path) as log:
        incident = new_id()
        events = log.execute(incident, [Declare(title="bench", severity="SEV3")], "bench")
        for start in range(1, n, PAGE):
            notes = [
                AddNote(text=f"note {i} " + "x" * 80) for i in range(start, min(start + PAGE, n))
            ]
            events += log.execute(incident, notes, "bench")
        return events


def local_insert_seconds(path: Path, events: list) -> float:
    """The floor: the same events stored into a fresh log, a page per transaction as pulls do."""
    with EventLog(path) as log:
        start = time.perf_counter()
        for at in range(0, len(events), PAGE):
            log.insert(events[at : at + PAGE])
        return time.perf_counter() - start


def end_to_end_seconds(server: ServerProcess, tmp: Path, label: str) -> float:
    """From the writer's first push until the reader, long-polling all along, holds all."""
    writer_db, reader_db = tmp / f"{label}-writer.db", tmp / f"{label}-reader.db"
    seed(writer_db, N_EVENTS)
    reader_log, writer_log = EventLog(reader_db), EventLog(writer_db)
    reader = Syncer(reader_log, server.url, server.store.token(f"{label}-reader"))
    writer = Syncer(writer_log, server.url, server.store.token(f"{label}-writer"))
    reader.start()
    pushing = threading.Thread(target=asyncio.run, args=(writer.sync_once(),))
    start = time.perf_counter()
    pushing.start()
    while reader_log.timeline.head() < N_EVENTS:
        time.sleep(0.001)
    elapsed = time.perf_counter() - start
    pushing.join()
    reader.stop()
    reader_log.close()
    writer_log.close()
    return elapsed


def throughput(store: Store, tmp: Path, label: str, goal_ms: float | None) -> list[Figure]:
    server = ServerProcess(store, tmp).start()
    try:
        base = local_insert_seconds(
            tmp / f"{label}-raw.db", seed(tmp / f"{label}-src.db", N_EVENTS)
        )
        took = end_to_end_seconds(server, tmp, label)
    finally:
        server.stop()
    figures = [
        Figure(
            f"{N_EVENTS // 1000}k events push -> pull ({label})",
            took * 1000,
            "ms",
            "local insert",
            base * 1000,
            f"<= {goal_ms:g} ms" if goal_ms else "",
            took * 1000 <= goal_ms if goal_ms else None,
        ),
        Figure(
            f"end-to-end rate ({label})", N_EVENTS / took, "ev/s", "local insert", N_EVENTS / base
        ),
    ]
    for figure in figures:
        print(figure.line())
    return figures


async def fanout_latencies(
    server: ServerProcess, writer_token: str, tokens: list[str]
) -> tuple[list[float], list[float]]:
    """One writer pushes an event at a time; ten long-polling readers note when each arrives."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    arrived: dict[str, int] = {}
    all_arrived = asyncio.Event()

    async def listen(client: SyncClient, cursor: int) -> None:
        while True:
            page, events = await client.pull(cursor, wait=20)
            now = time.perf_counter()
            for event in events:
                if event.id in sent:
                    latencies.append(now - sent[event.id])
                    arrived[event.id] = arrived.get(event.id, 0) + 1
                    if arrived[event.id] == N_LISTENERS:
                        all_arrived.set()
            cursor = page.next

    async with SyncClient(server.url, writer_token) as writer:
        head = (await writer.pull(0, limit=1))[0].head
        clients = [SyncClient(server.url, token) for token in tokens]
        listeners = [asyncio.create_task(listen(c, head)) for c in clients]
        device = f"bench-{new_id().lower()}"
        for event in notes(N_WRITES, device=device):
            all_arrived.clear()
            sent[event.id] = time.perf_counter()
            await writer.push(device, next(batches([event])))
            await asyncio.wait_for(all_arrived.wait(), 10)
        for task in listeners:
            task.cancel()
        for client in clients:
            await client.__aexit__()

        round_trips = []
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                start = time.perf_counter()
                await http.get(f"{server.url}/v1/health")
                round_trips.append(time.perf_counter() - start)
    return latencies, round_trips


def fanout(store: Store, tmp: Path, label: str) -> list[Figure]:
    server = ServerProcess(store, tmp).start()
    try:
        tokens = [server.store.token(f"listener-{i}") for i in range(N_LISTENERS)]
        writer = server.store.token("fanout-writer")
        latencies, round_trips = asyncio.run(fanout_latencies(server, writer, tokens))
    finally:
        server.stop()
    base = percentile(round_trips, 50) * 1000
    figures = []
    for p, goal_ms in ((50, 250), (99, 1000)):
        value = percentile(latencies, p) * 1000
        figures.append(
            Figure(
                f"fan-out to {N_LISTENERS} long-polls p{p} ({label})",
                value,
                "ms",
                "health round trip p50",
                base,
                f"<= {goal_ms} ms",
                value <= goal_ms,
            )
        )
        print(figures[-1].line())
    return figures


def run() -> list[Figure]:
    tmp = Path(tempfile.mkdtemp(prefix="warroom-sync-bench-"))
    section(
        f"Sync: {N_EVENTS:,} events pushed by one client and pulled by another;"
        f" one write fanned out to {N_LISTENERS} long-polling clients"
    )
    figures = throughput(Store("sqlite", str(tmp / "server.db")), tmp, "SQLite", 2000)
    figures += fanout(Store("sqlite", str(tmp / "fanout.db")), tmp, "SQLite")
    bindir = find_bin()
    if bindir is None:
        print("  PostgreSQL: skipped, no initdb found (install it with .ci/postgres.sh)")
        return figures
    with cluster(bindir, durable=True) as pg:
        figures += throughput(Store("postgres", pg.new_database()), tmp, "PostgreSQL", None)
        figures += fanout(Store("postgres", pg.new_database()), tmp, "PostgreSQL")
    return figures
