"""SIGKILL during sync, on either side, loses no event and doubles none; outages drain."""

from __future__ import annotations

import os
import signal

import httpx
import pytest

from tests.sync.clients import Client, finish
from tests.sync.factory import auth
from tests.sync.servers import ServerProcess, Store
from tests.waiting import wait_until
from warroom.core.backoff import Backoff
from warroom.core.commands import AddNote, Declare
from warroom.core.ids import new_id
from warroom.store import EventLog
from warroom.sync.engine import Syncer

N = 5000


def seed(db, n: int = N) -> set[str]:
    """A client log holding n events nobody has pushed yet."""
    with EventLog(db) as log:
        incident = new_id()
        commands = [Declare(title="seeded", severity="SEV3")]
        commands += [AddNote(text=f"note {i}") for i in range(n - 1)]
        return {e.id for e in log.execute(incident, commands, "tester")}


def server_head(url: str, token: str) -> int:
    response = httpx.get(f"{url}/v1/events", params={"limit": 1}, headers=auth(token))
    return response.json()["head"]


def server_seqs_and_ids(url: str, token: str) -> tuple[list[int], list[str]]:
    seqs, ids, cursor = [], [], 0
    while True:
        response = httpx.get(f"{url}/v1/events", params={"after": cursor}, headers=auth(token))
        page = response.json()
        seqs += [item["seq"] for item in page["events"]]
        ids += [item["event"]["id"] for item in page["events"]]
        if page["next"] >= page["head"]:
            return seqs, ids
        cursor = page["next"]


def assert_exactly(server: ServerProcess, reader: str, expected: set[str]) -> None:
    seqs, ids = server_seqs_and_ids(server.url, reader)
    assert seqs == list(range(1, len(expected) + 1))  # gap-free
    assert len(ids) == len(set(ids))  # nothing twice
    assert set(ids) == expected  # nothing lost


def test_server_killed_mid_push_and_restarted_loses_and_doubles_nothing(server, tmp_path):
    reader = server.store.token("reader")
    client = Client(tmp_path / "client.db", server.url, server.store.token("client"))
    expected = seed(client.db)
    pushing = client.start("sync", "--once")
    wait_until(lambda: server_head(server.url, reader) > 0, what="the first batch")
    server.kill()
    code, _, err = finish(pushing)
    assert code == 1 and "not in sync" in err
    with client.open() as log:
        assert log.outbox.pending() > 0  # the kill cut the push short

    server.start()
    done = client.run("sync", "--once")
    assert done.returncode == 0, done.stderr
    assert_exactly(server, reader, expected)
    with client.open() as log:
        assert log.outbox.pending() == 0


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_client_killed_mid_push_resumes(server, tmp_path):
    reader = server.store.token("reader")
    client = Client(tmp_path / "client.db", server.url, server.store.token("client"))
    expected = seed(client.db)
    pushing = client.start("sync", "--once")
    wait_until(lambda: server_head(server.url, reader) > 0, what="the first batch")
    os.kill(pushing.pid, signal.SIGKILL)
    pushing.wait(timeout=30)
    with client.open() as log:
        assert log.outbox.pending() > 0  # killed mid-way

    done = client.run("sync", "--once")
    assert done.returncode == 0, done.stderr
    assert_exactly(server, reader, expected)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_client_killed_mid_pull_resumes(server, tmp_path):
    writer = Client(tmp_path / "writer.db", server.url, server.store.token("writer"))
    expected = seed(writer.db)
    assert writer.run("sync").returncode == 0
    reader = Client(tmp_path / "reader.db", server.url, server.store.token("reader"))
    EventLog(reader.db).close()

    pulling = reader.start("sync", "--once")

    def pulled_some() -> bool:
        with reader.open() as log:
            return log.timeline.head() > 0

    wait_until(pulled_some, what="the first page")
    os.kill(pulling.pid, signal.SIGKILL)
    pulling.wait(timeout=30)
    with reader.open() as log:
        assert 0 < log.timeline.head() < N  # killed mid-way

    done = reader.run("sync", "--once")
    assert done.returncode == 0, done.stderr
    with reader.open() as log:
        got = [e.id for _, e in log.timeline.after(0)]
    assert len(got) == len(set(got)) == N and set(got) == expected


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_outbox_drains_when_a_server_that_was_down_returns(store: Store, tmp_path):
    token = store.token("laptop")
    server = ServerProcess(store, tmp_path)  # not started: the server is down
    log = EventLog(tmp_path / "laptop.db")
    syncer = Syncer(log, server.url, token, backoff=Backoff(base=0.05, cap=0.3), wait=2)
    syncer.start()
    try:
        commands = [Declare(title="offline", severity="SEV3")]
        log.execute(new_id(), [*commands, *(AddNote(text=f"{i}") for i in range(19))], "me")
        syncer.poke()
        wait_until(lambda: syncer.status().state == "offline", what="offline")
        status = syncer.status()
        assert status.label().startswith("offline since ")
        assert "cannot reach" in status.reason
        assert status.pending == 20

        server.start()
        wait_until(lambda: syncer.status().state == "synced", what="synced")
        assert syncer.status().label() == "synced"
        assert log.outbox.pending() == 0
    finally:
        stopped = syncer.stop(timeout=30)
        server.stop()
        log.close()
    assert stopped


def test_syncers_fan_out_a_write_to_each_other_live(store: Store, tmp_path):
    server = ServerProcess(store, tmp_path).start()
    logs = [EventLog(tmp_path / f"{name}.db") for name in ("a", "b")]
    syncers = [Syncer(log, server.url, store.token(log.path.stem)) for log in logs]
    for syncer in syncers:
        syncer.start()
    try:
        wait_until(lambda: all(s.status().state == "synced" for s in syncers), what="synced")
        (event,) = logs[0].execute(new_id(), [Declare(title="hello", severity="SEV3")], "a")
        syncers[0].poke()
        wait_until(lambda: logs[1].timeline.get(event.id) is not None, timeout=5, what="fan-out")
        wait_until(lambda: syncers[0].status().label() == "synced", what="acknowledged")
    finally:
        for syncer in syncers:
            syncer.stop()
        server.stop()
        for log in logs:
            log.close()


def test_stop_cancels_an_open_long_poll_at_once(store: Store, tmp_path):
    server = ServerProcess(store, tmp_path).start()
    with EventLog(tmp_path / "a.db") as log:
        syncer = Syncer(log, server.url, store.token("a"), wait=60)
        syncer.start()
        wait_until(lambda: syncer.status().state == "synced", what="synced")
        assert syncer.stop(timeout=15), "still waiting on a 60 s long-poll"
    server.stop()
