"""`POST /v1/channels/preview` and `GET /v1/channels` on a real `warroom serve` holding a Slack
channel (the Slack fake) and a signed webhook (a real receiver): the dry run a team's console
shows before posting. Exact requests, secrets redacted, nothing sent; bounded, authenticated,
and every refusal a JSON 4xx."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.delivery.receiver import Receiver
from tests.delivery.slack_fake import SlackFake
from tests.sync.factory import auth
from tests.sync.servers import ServerProcess, Store
from tests.waiting import wait_until
from tests.writes import declare
from warroom.core.ids import new_id
from warroom.store import EventLog
from warroom.sync.client import Refused, SyncClient
from warroom.sync.engine import Syncer
from warroom.sync.protocol import MAX_DRAFT, PreviewRequest

HOOK_SECRET = "preview-hook-secret-5ac1"


@pytest.fixture
def slack() -> Iterator[SlackFake]:
    fake = SlackFake().start()
    yield fake
    fake.stop()
    assert fake.violations == [], fake.violations


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(HOOK_SECRET).start()
    yield r
    r.close()


@pytest.fixture
def team(store: Store, tmp_path: Path, slack: SlackFake, receiver: Receiver):
    """A server delivering to war-room (Slack: declarations and stakeholder updates) and
    ops-hook (webhook: internal updates); an incident declared and delivered; a token."""
    channel = slack.add_channel("incidents")
    Path(os.environ["WARROOM_CONFIG"]).write_text(
        f"""
[channels.war-room]
kind = "slack"
channel = "{channel}"
token = "{slack.token}"
api_url = "{slack.url}"
audiences = ["stakeholders"]
on = ["declared"]
pace = 0

[channels.ops-hook]
kind = "webhook"
url = "{receiver.url}"
secret = "{HOOK_SECRET}"
audiences = ["internal"]
on = []

[delivery]
poll = "0.1s"
"""
    )
    server = ServerProcess(store, tmp_path).start()
    token = store.token("console")
    with EventLog(tmp_path / "console.db") as log:
        incident = declare(log, "Checkout down", commander="alice")
        syncer = Syncer(log, server.url, token)
        assert asyncio.run(syncer.sync_once()).in_sync
        wait_until(lambda: len(slack.posted(channel)) == 1, what="the declaration in Slack")
    try:
        yield server, token, incident, channel
    finally:
        server.stop()


def post(server: ServerProcess, body: object, token: str | None) -> httpx.Response:
    headers = auth(token) if token else {}
    return httpx.post(f"{server.url}/v1/channels/preview", json=body, headers=headers, timeout=10)


def test_the_dry_run_is_the_exact_request_with_secrets_redacted(team, slack, receiver):
    server, token, incident, channel = team
    [root] = slack.posted(channel)
    calls = len(slack.calls)
    draft = {"incident_id": incident, "audience": "stakeholders", "text": "Payments are back."}
    answer = post(server, draft, token)
    assert answer.status_code == 200, answer.text
    [shown] = answer.json()
    assert (shown["channel"], shown["kind"], shown["error"]) == ("war-room", "slack", "")
    by_method = {r["url"].removeprefix(slack.url): r for r in shown["requests"]}
    assert sorted(by_method) == [
        "chat.postMessage",
        "chat.update",
    ]  # a reply; the root kept current
    reply = by_method["chat.postMessage"]
    body = json.loads(reply["body"])
    assert body["thread_ts"] == root["ts"]  # a reply in the declaration's thread
    assert body["channel"] == channel and "Payments are back." in body["text"]
    assert json.loads(by_method["chat.update"]["body"])["ts"] == root["ts"]
    assert reply["headers"]["Authorization"] == "Bearer [redacted]"
    assert slack.token not in answer.text and HOOK_SECRET not in answer.text
    assert len(slack.calls) == calls and receiver.hits == []  # nothing was sent

    internal = post(server, {**draft, "audience": "internal"}, token).json()
    [hook] = internal
    assert hook["channel"] == "ops-hook" and hook["requests"][0]["url"] == receiver.url
    assert HOOK_SECRET not in json.dumps(internal)
    assert post(server, {**draft, "audience": "customers"}, token).json() == []
    assert receiver.hits == []


def test_the_sync_client_reads_channels_and_previews(team, slack):
    server, token, incident, _ = team

    async def read():
        async with SyncClient(server.url, token) as client:
            routes = await client.channels()
            draft = PreviewRequest(incident_id=incident, audience="stakeholders", text="x")
            return routes, await client.preview(draft)

    routes, previews = asyncio.run(read())
    assert [(r.name, r.kind, sorted(r.audiences), sorted(r.on)) for r in routes] == [
        ("war-room", "slack", ["stakeholders"], ["declared"]),
        ("ops-hook", "webhook", ["internal"], []),
    ]
    assert [p.channel for p in previews] == ["war-room"]


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"audience": "everyone"}, 422, "audience"),
        ({"text": ""}, 422, "text"),
        ({"text": "x" * (MAX_DRAFT + 1)}, 422, "text"),
        ({"text": "nul\x00here"}, 422, "U+0000"),
        ({"incident_id": "not-an-id"}, 422, "incident_id"),
        ({"incident_id": new_id()}, 404, "no incident"),
        ({"extra": 1}, 422, "extra"),
        ({"template": "t" * 501}, 422, "template"),
    ],
    ids=[
        "audience",
        "empty",
        "too-long",
        "nul",
        "bad-id",
        "unknown-incident",
        "unknown-field",
        "long-template",
    ],
)
def test_bad_drafts_are_one_line_4xx(team, change, status, says):
    server, token, incident, _ = team
    draft = {"incident_id": incident, "audience": "internal", "text": "x", **change}
    answer = post(server, draft, token)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["detail"]


def test_only_a_client_token_may_ask(team, store):
    server, _token, incident, _ = team
    draft = {"incident_id": incident, "audience": "internal", "text": "x"}
    assert post(server, draft, None).status_code == 401
    assert post(server, draft, "wr_not-a-token").status_code == 401
    refused = post(server, draft, store.alert_token("monitoring"))
    assert refused.status_code == 403 and "alerts" in refused.json()["detail"]
    huge = httpx.post(
        f"{server.url}/v1/channels/preview",
        content=b'{"text": "' + b"x" * (1024 * 1024) + b'"}',
        headers={**auth(_token), "Content-Type": "application/json"},
        timeout=10,
    )
    assert huge.status_code == 413


def test_an_unreachable_server_is_offline_and_a_refusal_is_refused(team, tmp_path):
    server, token, _incident, _ = team

    async def ask(url: str, secret: str):
        async with SyncClient(url, secret, timeout=2) as client:
            return await client.channels()

    with pytest.raises(Refused):
        asyncio.run(ask(server.url, "wr_bad"))
    from tests.sync.pgcluster import free_port
    from warroom.sync.client import Offline

    with pytest.raises(Offline):
        asyncio.run(ask(f"http://127.0.0.1:{free_port()}", token))
