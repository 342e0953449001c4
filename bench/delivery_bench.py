"""Delivery: draining a backlog across many channels at their pace; the time from recording
an update to a webhook receiver holding it.

Real parts: the local event log (SQLite, fsync on), `warroom serve` in a subprocess, the
signed webhook channel and a receiver on 127.0.0.1 that verifies every signature. Baselines
from the same run: the ideal paced time (what the pace alone allows), and a bare signed POST
to the same receiver.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from tests.delivery.receiver import Receiver
from tests.sync.servers import ServerProcess, Store

from bench.report import Figure, percentile, section
from warroom.core.backoff import Backoff
from warroom.core.commands import Declare, PostUpdate
from warroom.core.ids import new_id
from warroom.delivery.channel import Channel
from warroom.delivery.config import build
from warroom.delivery.engine import Engine, Timing
from warroom.delivery.queue import LocalQueue
from warroom.delivery.webhook import sign
from warroom.store import EventLog
from warroom.sync.engine import Syncer

SECRET = "bench-secret"
N_CHANNELS = 20
N_UPDATES = 50
"""Per channel: 50 updates to 20 channels are 1,000 deliveries."""
PACE = 0.2
N_LATENCY = 60


def channels(url: str, pace: float) -> list[Channel]:
    return [
        build(
            f"hook-{i:02d}",
            {"kind": "webhook", "url": url, "secret": SECRET, "pace": pace, "on": []},
        )
        for i in range(N_CHANNELS)
    ]


def drain(tmp: Path, pace: float) -> tuple[float, int]:
    """Seconds to deliver the backlog; how many deliveries the receiver took."""
    receiver = Receiver(SECRET, validate=False).start()
    try:
        with EventLog(tmp / f"drain-{pace}.db") as log:
            incident = new_id()
            log.execute(incident, [Declare(title="bench", severity="SEV2")], "bench")
            log.execute(
                incident, [PostUpdate(body=f"update {i}") for i in range(N_UPDATES)], "bench"
            )
            timing = Timing(lease=30, poll=0.05, backoff=Backoff(0.1, 1))
            engine = Engine(
                LocalQueue(log, "delivery"), channels(receiver.url, pace), timing=timing
            )
            start = time.perf_counter()
            asyncio.run(engine.once())
            took = time.perf_counter() - start
        return took, sum(1 for hit in receiver.hits if hit.status == 200)
    finally:
        receiver.close()


def bare_posts(url: str, n: int = 200) -> list[float]:
    """The floor: signed POSTs of a delivery-sized body straight to the receiver."""
    body = b'{"id":"x"}' + b" " * 1500
    times = []
    with httpx.Client() as client:
        for i in range(n):
            headers = {"Idempotency-Key": f"bare-{i}", "Warroom-Signature": ""}
            headers["Warroom-Signature"] = sign(SECRET, int(time.time()), body)
            start = time.perf_counter()
            client.post(url, content=body, headers=headers)
            times.append(time.perf_counter() - start)
    return times


def latency_local(tmp: Path) -> list[float]:
    """Record an update on this machine (no server): until the receiver holds it."""
    receiver = Receiver(SECRET, validate=False).start()
    from warroom.delivery.local import Deliverer

    try:
        db = tmp / "latency-local.db"
        with EventLog(db) as log:
            incident = new_id()
            log.execute(incident, [Declare(title="bench", severity="SEV2")], "bench")
            timing = Timing(lease=30, poll=1.0, backoff=Backoff(0.1, 1))
            deliverer = Deliverer(db, channels(receiver.url, 0.0)[:1], timing)
            deliverer.start()
            try:
                return _measure(receiver, lambda body: _post(log, incident, body), deliverer.poke)
            finally:
                deliverer.stop()
    finally:
        receiver.close()


def latency_server(tmp: Path) -> list[float]:
    """Record an update in one console's log, sync pushes it, `warroom serve` delivers it."""
    receiver = Receiver(SECRET, validate=False).start()
    config = tmp / "server-config.toml"
    config.write_text(
        f'[channels.hook]\nkind = "webhook"\nurl = "{receiver.url}"\nsecret = "{SECRET}"\n'
        'on = []\n\n[delivery]\npoll = "1s"\n'
    )
    saved = os.environ.get("WARROOM_CONFIG")
    os.environ["WARROOM_CONFIG"] = str(config)
    server = ServerProcess(Store("sqlite", str(tmp / "latency-server.db")), tmp)
    try:
        server.start()
        token = server.store.token("bench")
        with EventLog(tmp / "latency-client.db") as log:
            incident = new_id()
            log.execute(incident, [Declare(title="bench", severity="SEV2")], "bench")
            syncer = Syncer(log, server.url, token)
            syncer.start()
            try:
                return _measure(receiver, lambda body: _post(log, incident, body), syncer.poke)
            finally:
                syncer.stop()
    finally:
        server.stop()
        receiver.close()
        if saved is None:
            os.environ.pop("WARROOM_CONFIG", None)
        else:
            os.environ["WARROOM_CONFIG"] = saved


def _post(log: EventLog, incident: str, body: str) -> str:
    event_id: str = log.execute(incident, [PostUpdate(body=body)], "bench")[0].id
    return event_id


def _measure(
    receiver: Receiver, post: Callable[[str], str], poke: Callable[[], None]
) -> list[float]:
    """One update at a time, as a console posts them (the writer pokes after a write)."""
    latencies = []
    for i in range(N_LATENCY):
        recorded = time.time()
        event_id = post(f"bench update {i}")
        poke()

        def arrived_(r: Receiver, key: str = event_id) -> bool:
            return key in r.accepted

        receiver.wait(arrived_, timeout=30)
        arrived = next(h.at for h in receiver.hits if h.key == event_id)
        latencies.append(arrived - recorded)
    return latencies


def run() -> list[Figure]:
    tmp = Path(tempfile.mkdtemp(prefix="warroom-delivery-bench-"))
    total = N_CHANNELS * N_UPDATES
    section(
        f"Delivery: {total:,} deliveries ({N_UPDATES} updates x {N_CHANNELS} webhook channels)"
        f" drained at {1 / PACE:g} requests/s per channel; update -> receiver latency"
    )
    figures = []
    took, got = drain(tmp, PACE)
    ideal = (N_UPDATES - 1) * PACE  # the declaration is not carried: 50 per channel
    figures.append(
        Figure(
            f"drain {total:,} at the pace ({got:,} received)",
            took,
            "s",
            "ideal paced time",
            ideal,
            "<= 1.25x ideal, all received",
            took <= 1.25 * ideal and got == total,
        )
    )
    print(figures[-1].line())
    took, got = drain(tmp, 0.0)
    figures.append(
        Figure(
            f"same backlog, no pace: capacity ({got:,} received)",
            total / took,
            "del/s",
            "paced rate",
            total / ideal,
        )
    )
    print(figures[-1].line())

    receiver = Receiver(SECRET, validate=False).start()
    try:
        base = percentile(bare_posts(receiver.url), 50) * 1000
    finally:
        receiver.close()
    for label, measured in (("local", latency_local(tmp)), ("via server", latency_server(tmp))):
        for p, goal in ((50, None), (99, 1000.0)):
            value = percentile(measured, p) * 1000
            figures.append(
                Figure(
                    f"update -> receiver p{p} ({label})",
                    value,
                    "ms",
                    "bare signed POST p50",
                    base,
                    f"<= {goal:g} ms" if goal else "",
                    value <= goal if goal else None,
                )
            )
            print(figures[-1].line())
    return figures
