"""Delivery faults with real processes (here for the sync tests' servers and PostgreSQL): a
deliverer or a server SIGKILLed mid-request and started again, two server instances sharing
PostgreSQL. The receiver may see a delivery twice only as a repeat of its key, which it
recognises; every event reaches it once, in order."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.delivery.receiver import Answer, Receiver
from tests.sync.servers import ServerProcess, Store
from tests.waiting import wait_until
from tests.writes import declare, run
from warroom.core.commands import PostUpdate
from warroom.core.deliveries import fold
from warroom.core.events import Event
from warroom.store import EventLog
from warroom.sync.engine import Syncer

SECRET = "faults-secret"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    yield r
    r.close()


def configure(receiver: Receiver, lease: str = "2s") -> None:
    """This test's config file (every `warroom` process started here reads it)."""
    Path(os.environ["WARROOM_CONFIG"]).write_text(
        f"""
[channels.hook]
kind = "webhook"
url = "{receiver.url}"
secret_env = "HOOK_SECRET"
audiences = ["internal"]
on = ["declared"]
timeout = 30

[delivery]
lease = "{lease}"
poll = "0.1s"
retry_base = "0.2s"
retry_cap = "1s"
"""
    )


def incident_with_updates(log: EventLog, n: int, title: str = "t") -> list[str]:
    """An incident and n internal updates; the ids the hook carries, in order."""
    incident = declare(log, title)
    ids = [log.timeline.events(incident)[0].id]
    for i in range(n):
        ids.append(run(log, incident, PostUpdate(body=f"{title} update {i}"))[0].id)
    return ids


def sent_results(events: list[Event]) -> list[str]:
    return sorted(e.payload["event"] for e in events if e.kind == "delivery_sent")


def test_a_local_deliverer_killed_mid_request_neither_loses_nor_doubles(tmp_path, receiver):
    configure(receiver)
    db = tmp_path / "local.db"
    with EventLog(db) as log:
        expected = incident_with_updates(log, 3)
    receiver.answer(Answer(hang=True, accept=True))  # taken, and never answered
    env = {**os.environ, "WARROOM_DB": str(db)}
    command = [sys.executable, "-m", "warroom", "deliver"]
    watching = subprocess.Popen(
        [*command, "--watch"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        receiver.wait(lambda r: len(r.hits) == 1)
    finally:
        os.kill(watching.pid, signal.SIGKILL)
        watching.wait(30)

    with EventLog(db) as log:
        [row] = log.deliveries.rows(states=("pending",))[:1]
        assert row.sending_since is not None  # the attempt is on record as under way
        wait_until(
            lambda: (log.deliveries.rows()[0].lease_until or 0) < time.time() * 1000,
            what="the dead deliverer's lease to run out",
        )
    again = subprocess.run(
        [*command, "--once"], env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0, again.stderr
    assert receiver.accepted_keys() == expected
    keys = receiver.keys()
    assert keys[expected[0]] == 2 and all(keys[k] == 1 for k in expected[1:])
    assert receiver.hits[1].body == receiver.hits[0].body  # the same delivery, same key
    with EventLog(db) as log:
        results = [e for e in log.timeline.events(log.timeline.incident_ids()[0])]
    assert sent_results(results) == sorted(expected)  # recorded once each


def _push(db: Path, url: str, token: str) -> None:
    with EventLog(db) as log:
        status = asyncio.run(Syncer(log, url, token).sync_once())
    assert status.in_sync, status.reason


def _pulled(db: Path, url: str, token: str) -> list[Event]:
    with EventLog(db) as log:
        asyncio.run(Syncer(log, url, token).sync_once())
        return [e for i in log.timeline.incident_ids() for e in log.timeline.events(i)]


def test_the_server_killed_mid_delivery_and_restarted(store: Store, tmp_path, receiver):
    configure(receiver)
    proc = ServerProcess(store, tmp_path).start()
    try:
        token = store.token("client")
        client = tmp_path / "client.db"
        with EventLog(client) as log:
            expected = incident_with_updates(log, 3)
        receiver.answer(Answer(hang=True, accept=True))
        _push(client, proc.url, token)
        receiver.wait(lambda r: len(r.hits) == 1)
        proc.kill()
        proc.start()
        receiver.wait(lambda r: len(r.accepted) == len(expected))
        wait_until(
            lambda: len(sent_results(_pulled(client, proc.url, token))) == len(expected),
            what="the results to reach the client",
        )
    finally:
        proc.stop()
    assert receiver.accepted_keys() == expected
    keys = receiver.keys()
    assert keys[expected[0]] == 2 and all(keys[k] == 1 for k in expected[1:])
    events = _pulled(client, proc.url, token)
    assert sent_results(events) == sorted(expected)
    state = fold(events)
    assert {state.of(e)["hook"].state for e in expected} == {"sent"}


def _holder_pid(url: str, event_id: str) -> int:
    """The process that holds the lease of a delivery under way (from its owner id)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT lease_owner FROM deliveries WHERE event_id = %s AND lease_owner IS NOT NULL",
            (event_id,),
        ).fetchone()
    assert row is not None
    return int(row[0].split(":")[-2])


@pytest.mark.postgres
def test_two_instances_on_one_postgresql_deliver_everything_once_in_order(pg, tmp_path, receiver):
    configure(receiver, lease="3s")
    store = Store("postgres", pg.new_database())
    servers = [ServerProcess(store, tmp_path).start() for _ in range(2)]
    try:
        tokens = [store.token(f"client{i}") for i in range(2)]
        clients = [tmp_path / f"client{i}.db" for i in range(2)]
        expected: list[list[str]] = []
        with EventLog(clients[0]) as log:
            expected += [incident_with_updates(log, 8, "a"), incident_with_updates(log, 8, "b")]
        with EventLog(clients[1]) as log:
            expected += [incident_with_updates(log, 8, "c")]
        receiver.answer(Answer(hang=True, accept=True))  # whoever takes the first one dies
        _push(clients[0], servers[0].url, tokens[0])
        _push(clients[1], servers[1].url, tokens[1])
        receiver.wait(lambda r: len(r.hits) >= 1)  # the other instance goes on meanwhile
        holder = _holder_pid(store.target, receiver.hits[0].key)
        [dead] = [s for s in servers if s.proc is not None and s.proc.pid == holder]
        dead.kill()
        [alive] = [s for s in servers if s is not dead]
        everything = [key for keys in expected for key in keys]
        receiver.wait(lambda r: len(r.accepted) == len(everything), timeout=60)
        wait_until(
            lambda: len(sent_results(_pulled(clients[1], alive.url, tokens[1]))) == len(everything),
            timeout=30,
            what="every result",
        )
    finally:
        for s in servers:
            s.stop()
    accepted = receiver.accepted_keys()
    assert sorted(accepted) == sorted(everything)
    for keys in expected:  # in order within each incident
        assert [k for k in accepted if k in keys] == keys
    hits = receiver.keys()
    [repeated] = [k for k, n in hits.items() if n > 1]  # only the dead holder's delivery
    assert hits[repeated] == 2 and sum(hits.values()) == len(everything) + 1
    assert sent_results(_pulled(clients[1], alive.url, tokens[1])) == sorted(everything)
