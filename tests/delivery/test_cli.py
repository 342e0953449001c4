"""`warroom channels`, `deliver` and `deliveries` as people and scripts use them."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.delivery.receiver import Answer, Receiver
from warroom.store import EventLog

SECRET = "cli-secret-never-shown"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    monkeypatch.setenv("OPS_HOOK_SECRET", SECRET)
    yield r
    r.close()


def configure(text: str) -> Path:
    path = Path(os.environ["WARROOM_CONFIG"])
    path.write_text(text)
    return path


def hook_config(receiver: Receiver, extra: str = "") -> str:
    return f"""
[channels.ops-hook]
kind = "webhook"
url = "{receiver.url}"
secret_env = "OPS_HOOK_SECRET"
audiences = ["internal"]
on = ["declared", "resolved"]
{extra}
[delivery]
retry_base = "1m"
"""


def test_channels_lists_them_with_their_health(cli, receiver):
    configure(hook_config(receiver))
    listed = cli("channels")
    assert listed.code == 0, listed.err
    [header, row] = listed.out.splitlines()
    assert header.split() == ["NAME", "KIND", "AUDIENCES", "ON", "HEALTH"]
    assert row.split()[:4] == ["ops-hook", "webhook", "internal", "declared,resolved"]
    data = json.loads(cli("channels", "--json").out)
    assert data == [
        {
            "name": "ops-hook",
            "kind": "webhook",
            "audiences": ["internal"],
            "on": ["declared", "resolved"],
            "health": "configured",
            "ok": True,
            "deliveries": {},
        }
    ]
    assert SECRET not in listed.out + cli("channels", "--json").out


def test_a_bad_channel_is_listed_and_fails_in_one_line(cli, receiver):
    configure(hook_config(receiver) + '\n[channels.broken]\nkind = "webhook"\nurl = "mailto:x"\n')
    listed = cli("channels")
    assert listed.code == 1
    assert listed.err.strip() == (
        "warroom: error: channels.broken: url: must be an http:// or https:// URL with a host"
    )
    assert "ops-hook" in listed.out and "broken" in listed.out


def test_no_channels_says_where_to_add_them(cli):
    shown = cli("channels")
    assert shown.code == 0 and "no channels: add a [channels.NAME] table to" in shown.out
    assert cli("deliver").code == 1


def test_channels_test_sends_a_test_message(cli, receiver):
    configure(hook_config(receiver))
    sent = cli("channels", "test", "ops-hook")
    assert sent.code == 0, sent.err
    [hit] = receiver.hits
    assert hit.body["type"] == "test" and hit.signed and not hit.schema_errors
    assert f"ref r-{hit.key}" in sent.out
    assert cli("channels", "test", "nope").err.strip() == (
        "warroom: error: no channel named 'nope' (channels: ops-hook)"
    )
    receiver.stop()
    down = cli("channels", "test", "ops-hook")
    assert down.code == 1
    assert down.err.strip() == (
        "warroom: error: ops-hook: test message not delivered: cannot reach"
        f" 127.0.0.1:{receiver.port} (ConnectError)"
    )


def test_deliver_once_exits_0_only_when_everything_is_delivered(cli, receiver):
    configure(hook_config(receiver))
    assert cli("declare", "Checkout down", "--severity", "SEV2").code == 0
    assert cli("update", "We are on it").code == 0
    receiver.answer(Answer(), Answer(503))
    first = cli("deliver", "--once")
    assert first.code == 1
    assert "sent      ops-hook: declared" in first.out
    assert "retrying  ops-hook: update" in first.err and "HTTP 503" in first.err
    assert first.err.strip().endswith(
        "warroom: error: 1 not delivered (1 sent, 1 retrying): see `warroom deliveries`"
    )

    rows = json.loads(cli("deliveries", "--json").out)
    assert [(r["channel"], r["event_kind"], r["state"], r["attempts"]) for r in rows] == [
        ("ops-hook", "declared", "sent", 1),
        ("ops-hook", "update_posted", "retrying", 1),
    ]
    assert rows[0]["ref"] == f"r-{rows[0]['event_id']}" and rows[0]["sent_at"]
    assert rows[1]["reason"].startswith("HTTP 503") and rows[1]["outcome_unknown"] is True
    table = cli("deliveries").out
    assert "retrying" in table and "next " in table

    retried = cli("deliveries", "retry", str(rows[1]["id"]))
    assert retried.code == 0 and "will be tried again now" in retried.out
    done = cli("deliver")  # --once is the default
    assert done.code == 0, done.err
    assert done.out.strip().endswith("2 sent")
    assert receiver.keys()[rows[1]["event_id"]] == 2 and len(receiver.accepted) == 2
    assert cli("deliveries", "retry", str(rows[1]["id"])).code == 1  # sent: nothing to retry
    assert cli("deliveries", "--state", "failed").out.strip() == "no deliveries yet"


def test_deliver_dry_run_prints_the_exact_requests_and_sends_nothing(cli, receiver):
    configure(hook_config(receiver))
    cli("declare", "Checkout down", "--severity", "SEV2")
    cli("update", "Rolling back\x1b]52;c;aGk=\x07 now")
    shown = cli("deliver", "--dry-run")
    assert shown.code == 0, shown.err
    assert shown.out.count(f"POST {receiver.url}") == 2
    assert "Idempotency-Key: " in shown.out and "Warroom-Signature: t=" in shown.out
    assert "v1=[redacted]" in shown.out and SECRET not in shown.out
    assert "\x1b" not in shown.out and "\\u001b" in shown.out  # shown, never acted on
    data = json.loads(cli("deliver", "--dry-run", "--json").out)
    assert [p["event_kind"] for p in data] == ["declared", "update_posted"]
    body = json.loads(data[1]["requests"][0]["body"])
    assert body["message"]["text"] == "Rolling back now"  # escapes are not words
    assert receiver.hits == [] and cli("deliveries").out.strip() == "no deliveries yet"


def test_a_machine_with_a_server_leaves_delivery_to_it(cli, receiver, monkeypatch):
    configure(hook_config(receiver))
    monkeypatch.setenv("WARROOM_SERVER", "http://127.0.0.1:9")
    refused = cli("deliver", "--once")
    assert refused.code == 1 and "a server is configured (http://127.0.0.1:9)" in refused.err


def test_deliveries_of_the_server_s_database(cli, receiver, tmp_path):
    """An admin reads and retries the server's deliveries where its database is."""
    from warroom.core.commands import Declare
    from warroom.core.ids import new_id
    from warroom.server.backend import open_backend
    from warroom.server.deliveries import queue_for

    path = tmp_path / "server.db"

    async def seed() -> None:
        backend = open_backend(str(path))
        await backend.open()
        try:
            await backend.execute(new_id(), [Declare(title="t", severity="SEV2")], "a", _now())
            queue = queue_for(backend)
            assert await queue.scan(lambda e: ["ops-hook"], 0, 0) == (1, False)
        finally:
            await backend.close()

    asyncio.run(seed())
    rows = json.loads(cli("deliveries", "--json", "--server-db", str(path)).out)
    assert [(r["channel"], r["event_kind"], r["state"]) for r in rows] == [
        ("ops-hook", "declared", "pending")
    ]
    assert cli("deliveries", "--json").out.strip() == "[]"  # this machine has none
    refused = cli("deliveries", "retry", str(rows[0]["id"]), "--server-db", str(path))
    assert refused.code == 1  # pending: nothing to retry


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_the_log_records_what_reached_whom(cli, receiver, db_path):
    configure(hook_config(receiver))
    cli("declare", "Checkout down", "--severity", "SEV2")
    assert cli("deliver").code == 0
    with EventLog(db_path) as log:
        [incident] = log.timeline.incident_ids()
        kinds = [e.kind for e in log.timeline.events(incident)]
    assert kinds[-1] == "delivery_sent"
    shown = cli("show", "--last", "3").out
    assert "sent to ops-hook at" in shown


def test_the_server_says_which_channels_it_delivers_to(receiver, tmp_path):
    """What a console in a team shows before posting; never an endpoint or a secret."""
    import httpx

    from tests.sync.factory import auth
    from tests.sync.servers import ServerProcess, Store

    configure(hook_config(receiver))
    store = Store("sqlite", str(tmp_path / "server.db"))
    server = ServerProcess(store, tmp_path).start()
    try:
        token = store.token("console")
        answer = httpx.get(f"{server.url}/v1/channels", headers=auth(token))
        anonymous = httpx.get(f"{server.url}/v1/channels")
    finally:
        server.stop()
    assert answer.json() == [
        {
            "name": "ops-hook",
            "kind": "webhook",
            "audiences": ["internal"],
            "on": ["declared", "resolved"],
        }
    ]
    assert anonymous.status_code == 401
    assert receiver.url not in answer.text and SECRET not in answer.text
