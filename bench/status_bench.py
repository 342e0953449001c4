"""The public status page under load: 200 concurrent readers on 127.0.0.1 while updates are
posted, `/status` beside `/v1/health` (the same server, the same run: the baseline).

A real `warroom serve` (SQLite) with a `[status_page]` config, 30 incidents of which 20
public (3 active), and a responder who posts a status-page update through sync every
`POST_EVERY` seconds during each read phase, so readers keep hitting fresh renderings.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path

import httpx
from tests.sync.servers import ServerProcess, Store

from bench.report import Figure, percentile, section
from warroom.core.commands import ChangeStatus, Declare, PostUpdate
from warroom.core.ids import new_id
from warroom.store import EventLog
from warroom.sync.engine import Syncer

READERS = 200
PER_READER = 15
POST_EVERY = 0.25
CONFIG = """
[status_page]
title = "Bench status"
components = { checkout = "Checkout", api = "Public API", search = "Search", auth = "Login" }
"""


def _post(incident: str, n: int) -> PostUpdate:
    phase = ("investigating", "identified", "monitoring")[n % 3]
    body = f"{phase.title()}: update {n} on the checkout errors. " + "More words. " * 20
    return PostUpdate(body=body, audience="status-page", template=f"statuspage-{phase}")


def _seed(log: EventLog, syncer: Syncer) -> list[str]:
    incidents = []
    for n in range(30):
        incident = new_id()
        commands = [
            Declare(title=f"Incident {n}", severity=f"SEV{1 + n % 4}", components=("checkout",))
        ]
        if n < 20:
            commands += [_post(incident, k) for k in range(3)]
        if n >= 3:
            commands.append(ChangeStatus(status="resolved"))
        log.execute(incident, commands, "bench")
        incidents.append(incident)
    asyncio.run(syncer.sync_once())
    return incidents[:3]


async def _read(url: str, count: int) -> list[float]:
    """READERS clients at once, each `count` sequential GETs; the latency of each."""
    limits = httpx.Limits(max_connections=READERS, max_keepalive_connections=READERS)
    samples: list[float] = []
    failures = 0
    errors: dict[str, int] = {}
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def reader() -> None:
            nonlocal failures
            for _ in range(count):
                start = time.perf_counter()
                try:
                    answer = await client.get(url)
                except httpx.TransportError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                samples.append(time.perf_counter() - start)
                if answer.status_code != 200:
                    failures += 1
                    errors[str(answer.status_code)] = errors.get(str(answer.status_code), 0) + 1

        await asyncio.gather(*(reader() for _ in range(READERS)))
    if errors:
        print(f"    {url}: not answered 200: {errors} (of {READERS * count})")
    return samples


def _phase(
    server: ServerProcess, path: str, log: EventLog, syncer: Syncer, active: list[str]
) -> tuple[list[float], float, int]:
    """Read `path` with READERS clients while a responder posts and syncs."""
    stop = threading.Event()
    posted = [0]

    def poster() -> None:
        while not stop.is_set():
            incident = active[posted[0] % len(active)]
            log.execute(incident, [_post(incident, posted[0])], "bench")
            asyncio.run(syncer.sync_once())
            posted[0] += 1
            stop.wait(POST_EVERY)

    thread = threading.Thread(target=poster)
    thread.start()
    start = time.perf_counter()
    try:
        samples = asyncio.run(_read(f"{server.url}{path}", PER_READER))
    finally:
        stop.set()
        thread.join()
    return samples, time.perf_counter() - start, posted[0]


def run() -> list[Figure]:
    section(f"Public status page: {READERS} concurrent readers while updates are posted")
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = folder / "config.toml"
        config.write_text(CONFIG)
        saved = os.environ.get("WARROOM_CONFIG")
        os.environ["WARROOM_CONFIG"] = str(config)
        server = ServerProcess(Store("sqlite", str(folder / "server.db")), folder).start()
        try:
            token = server.store.token("bench")
            with EventLog(folder / "responder.db") as log:
                syncer = Syncer(log, server.url, token)
                active = _seed(log, syncer)
                results = {}
                for path in ("/v1/health", "/status", "/status.json"):
                    results[path] = _phase(server, path, log, syncer, active)
        finally:
            server.stop()
            tail = server.log.read_text()[-1500:]
            if tail.strip():
                print("    server log:", tail.replace("\n", "\n    "))
            if saved is None:
                os.environ.pop("WARROOM_CONFIG", None)
            else:
                os.environ["WARROOM_CONFIG"] = saved
    health = results["/v1/health"][0]
    for path in ("/status", "/status.json"):
        samples, elapsed, posted = results[path]
        for p in (50, 99):
            figures.append(
                Figure(
                    f"{path} p{p} ({posted} posts during the run)",
                    percentile(samples, p) * 1000,
                    "ms",
                    f"/v1/health p{p}",
                    percentile(health, p) * 1000,
                )
            )
        figures.append(
            Figure(
                f"{path} requests per second",
                len(samples) / elapsed,
                "req/s",
                "/v1/health",
                len(health) / results["/v1/health"][1],
            )
        )
    for figure in figures:
        print(figure.line())
    return figures
