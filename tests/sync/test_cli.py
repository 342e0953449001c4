"""`warroom token`, `serve` and `sync` as an admin and a responder type them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading

import pytest

from tests.sync.clients import Client
from tests.sync.pgcluster import free_port
from tests.sync.servers import ServerProcess, Store
from tests.waiting import wait_until
from warroom.core.commands import Declare
from warroom.core.hlc import wall_ms_now
from warroom.core.ids import new_id
from warroom.store import EventLog


def warroom(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warroom", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("warroom: ")
    return lines[0]


def test_tokens_are_created_once_listed_and_revoked(store: Store):
    made = store.cli("token", "create", "alice laptop")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("wr_") and len(secret) > 40

    listed = store.cli("token", "list")
    assert "alice laptop" in listed.stdout and secret not in listed.stdout
    assert "already named" in one_line_error(store.cli("token", "create", "alice laptop"))

    revoked = store.cli("token", "revoke", "alice laptop")
    assert revoked.returncode == 0 and "revoked token" in revoked.stdout
    assert "no live token" in one_line_error(store.cli("token", "revoke", "alice laptop"))
    again = store.cli("token", "create", "alice laptop")  # the name is free again
    assert again.returncode == 0


def test_the_server_refuses_two_databases_and_a_database_it_cannot_reach(tmp_path):
    both = warroom("serve", "--db", str(tmp_path / "s.db"), "--database-url", "postgresql://x/y")
    assert both.returncode == 2 and "not both" in both.stderr
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing?connect_timeout=2"
    assert "database unavailable" in one_line_error(warroom("serve", "--database-url", url))


def test_sync_says_what_is_missing_or_wrong_in_one_line(tmp_path):
    db = str(tmp_path / "me.db")
    assert "no server" in one_line_error(warroom("--db", db, "sync"))
    assert "no token" in one_line_error(
        warroom("--db", db, "sync", env={"WARROOM_SERVER": "http://127.0.0.1:9"})
    )
    me = Client(tmp_path / "me.db", f"http://127.0.0.1:{free_port()}", "wr_x")
    me.run("declare", "offline incident", "-s", "SEV3")
    line = one_line_error(me.run("sync", "--once"))
    assert "cannot reach" in line and "2 events not pushed" in line


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_token_from_the_cli_syncs_until_it_is_revoked(server, tmp_path):
    secret = server.store.cli("token", "create", "bob").stdout.splitlines()[-1]
    bob = Client(tmp_path / "bob.db", server.url, secret, user="bob")
    bob.run("declare", "api errors", "-s", "SEV2")
    synced = bob.run("sync")
    assert synced.returncode == 0
    assert synced.stdout.startswith(f"in sync with {server.url}: pushed 2, pulled 0")

    server.store.cli("token", "revoke", "bob")
    assert "token rejected" in one_line_error(bob.run("sync"))


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_sync_fails_while_the_server_refuses_events_from_a_clock_far_ahead(server, tmp_path):
    me = Client(tmp_path / "me.db", server.url, server.store.token("me"))
    with EventLog(me.db, now_ms=lambda: wall_ms_now() + 30 * 60_000) as log:
        log.execute(new_id(), [Declare(title="from the future", severity="SEV3")], "me")
    line = one_line_error(me.run("sync"))
    assert "1 refused: clock skew: stamped 30.0 min ahead" in line
    assert line.endswith("; 1 events not pushed")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_sync_watch_pulls_live_until_interrupted(server, tmp_path):
    alice = Client(tmp_path / "a.db", server.url, server.store.token("alice"), user="alice")
    bob = Client(tmp_path / "b.db", server.url, server.store.token("bob"), user="bob")
    watching = bob.start("sync", "--watch")
    incident = alice.run("declare", "queue backlog", "-s", "SEV3").stdout.strip()
    assert alice.run("sync").returncode == 0

    def arrived() -> bool:
        if not bob.db.exists():
            return False
        with bob.open() as log:
            return incident in log.timeline.incident_ids()

    wait_until(arrived, what="bob's watcher to pull alice's incident")
    lines: list[str] = []

    def collect() -> None:
        for line in watching.stderr:
            lines.append(line)

    threading.Thread(target=collect, daemon=True).start()
    wait_until(lambda: any(line.endswith(" synced\n") for line in lines), what="synced shown")
    watching.send_signal(signal.SIGINT)
    assert watching.wait(timeout=30) == 130


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_tls_with_uvicorns_certificate_options(store: Store, tmp_path, monkeypatch):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    files = ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            *subject,
            *files,
        ],
        check=True,
        capture_output=True,
    )
    server = ServerProcess(store, tmp_path, tls=(cert, key)).start()
    try:
        me = Client(tmp_path / "me.db", server.url, store.token("me"))
        me.run("declare", f"tls {new_id()}", "-s", "SEV4")
        assert "certificate verify failed" in one_line_error(me.run("sync"))
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # how a private CA is trusted
        assert me.run("sync").returncode == 0
    finally:
        server.stop()
