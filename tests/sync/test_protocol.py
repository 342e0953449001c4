"""The HTTP protocol, the same on both backends: push, pull, long-poll, auth, refusals."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.sync.factory import auth, body, notes
from tests.sync.servers import ServerProcess
from warroom.core.ids import new_id
from warroom.sync.protocol import MAX_BATCH


@pytest.fixture
async def http(shared_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=shared_server.url + "/v1", timeout=30) as client:
        yield client


@pytest.fixture
def token(shared_server: ServerProcess) -> str:
    return shared_server.store.token(f"t-{new_id()}")


@pytest.fixture
def reader(shared_server: ServerProcess) -> str:
    return shared_server.store.token(f"r-{new_id()}")


async def head(http: httpx.AsyncClient, token: str) -> int:
    response = await http.get("/events", params={"after": 0, "limit": 1}, headers=auth(token))
    return response.json()["head"]


async def pull_all(http: httpx.AsyncClient, token: str, after: int) -> list[dict]:
    response = await http.get("/events", params={"after": after}, headers=auth(token))
    assert response.status_code == 200
    return response.json()["events"]


async def test_health_needs_no_token_and_tells_the_time(http):
    response = await http.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["server_time"].startswith("20")


async def test_push_then_pull_round_trips_with_gap_free_sequences(http, token, reader):
    start = await head(http, reader)
    events = notes(3, device=f"d{new_id()}")
    device = events[0].device_id
    response = await http.post("/events", json=body(device, events), headers=auth(token))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["stored"] * 3
    seqs = [r["seq"] for r in results]
    assert seqs == list(range(seqs[0], seqs[0] + 3))
    assert "server_time" in response.json()

    page = (await http.get("/events", params={"after": start}, headers=auth(reader))).json()
    mine = [item for item in page["events"] if item["event"]["device_id"] == device]
    assert [item["event"] for item in mine] == [e.to_dict() for e in events]
    assert [item["seq"] for item in mine] == seqs
    assert page["next"] == page["events"][-1]["seq"] == page["head"]

    again = await http.post("/events", json=body(device, events), headers=auth(token))
    assert [r["status"] for r in again.json()["results"]] == ["duplicate"] * 3
    assert await pull_all(http, reader, page["next"]) == []


async def test_an_id_reused_for_a_different_event_is_rejected(http, token):
    device = f"d{new_id()}"
    [event] = notes(1, device=device)
    await http.post("/events", json=body(device, [event]), headers=auth(token))
    forged = event._replace(payload={"text": "something else"})
    response = await http.post("/events", json=body(device, [forged]), headers=auth(token))
    [result] = response.json()["results"]
    assert result["status"] == "rejected"
    assert "different event" in result["reason"]


async def test_a_long_poll_returns_as_soon_as_an_event_is_pushed(http, token, reader):
    cursor = await head(http, reader)
    device = f"d{new_id()}"
    poll = asyncio.create_task(
        http.get("/events", params={"after": cursor, "wait": 30}, headers=auth(reader))
    )
    started = time.monotonic()
    await http.post("/events", json=body(device, notes(1, device=device)), headers=auth(token))
    page = (await poll).json()
    assert time.monotonic() - started < 5  # far below the 30 s the poll may wait
    assert page["events"][0]["event"]["device_id"] == device


async def test_a_long_poll_with_nothing_new_returns_empty_at_the_same_cursor(http, reader):
    cursor = await head(http, reader)
    response = await http.get(
        "/events", params={"after": cursor, "wait": 0.2}, headers=auth(reader)
    )
    assert response.json()["events"] == []
    assert response.json()["next"] == cursor


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer wr_not-a-token"}],
    ids=["missing", "not-bearer", "unknown"],
)
async def test_every_endpoint_but_health_needs_a_valid_token(http, headers, reader):
    before = await head(http, reader)
    device = f"d{new_id()}"
    pushed = await http.post("/events", json=body(device, notes(1, device=device)), headers=headers)
    pulled = await http.get("/events", headers=headers)
    assert (pushed.status_code, pulled.status_code) == (401, 401)
    assert pushed.headers["www-authenticate"] == "Bearer"
    assert await head(http, reader) == before


async def test_a_revoked_token_is_refused_from_the_next_request_on(http, shared_server):
    name = f"t-{new_id()}"
    token = await asyncio.to_thread(shared_server.store.token, name)
    assert (await http.get("/events", headers=auth(token))).status_code == 200
    revoked = shared_server.store.cli("token", "revoke", name)
    assert revoked.returncode == 0, revoked.stderr
    response = await http.get("/events", headers=auth(token))
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid or revoked token"


async def test_a_token_pushes_for_the_first_device_it_pushed_for_only(http, token, reader):
    mine, other = f"d{new_id()}", f"d{new_id()}"
    first = await http.post("/events", json=body(mine, notes(1, device=mine)), headers=auth(token))
    assert first.status_code == 200
    before = await head(http, reader)

    posing = await http.post(
        "/events", json=body(other, notes(1, device=other)), headers=auth(token)
    )
    assert posing.status_code == 403
    assert mine in posing.json()["detail"]

    stealing = await http.post(
        "/events", json=body(mine, notes(1, device=mine)), headers=auth(reader)
    )
    assert stealing.status_code == 403
    assert await head(http, reader) == before


async def test_events_of_another_token_s_device_are_not_relayed_but_unclaimed_ones_are(
    http, token, reader
):
    mine, owned, unclaimed = f"d{new_id()}", f"d{new_id()}", f"d{new_id()}"
    await http.post("/events", json=body(owned, notes(1, device=owned)), headers=auth(reader))
    relayed = notes(1, device=owned) + notes(1, device=unclaimed) + notes(1, device=mine)
    response = await http.post("/events", json=body(mine, relayed), headers=auth(token))
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "stored", "stored"]
    assert results[0]["reason"] == f"device {owned} pushes its own events"


async def test_a_clock_far_ahead_of_the_server_is_rejected_with_the_reason(http, token):
    device = f"d{new_id()}"
    events = notes(1, device=device, ahead_ms=10 * 60_000) + notes(1, device=device)
    response = await http.post("/events", json=body(device, events), headers=auth(token))
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "stored"]
    assert results[0]["reason"].startswith("clock skew: stamped 10.0 min ahead")


def _bad_bodies() -> dict[str, tuple[int, object, str]]:
    device = "bad-requests"
    good = body(device, notes(2, device=device))
    event = good["events"][0]
    return {
        "malformed JSON": (400, b'{"device_id": "x", "events": [', "malformed JSON"),
        "not an object": (422, [1, 2], "body"),
        "wrong type": (422, {**good, "events": [{**event, "hlc": 17}]}, "events.0.hlc"),
        "bad clock stamp": (422, {**good, "events": [{**event, "hlc": "yesterday"}]}, "hlc"),
        "unknown field": (422, {**good, "extra": 1}, "body.extra"),
        "unknown event field": (422, {**good, "events": [{**event, "x": 1}]}, "events.0.x"),
        "missing field": (422, {"events": good["events"]}, "body.device_id"),
        "bad payload": (
            422,
            {**good, "events": [*good["events"], {**event, "id": new_id(), "payload": {}}]},
            "events[2]: note: text: Field required",
        ),
        "too many events": (
            413,
            body(device, notes(MAX_BATCH + 1, device=device)),
            f"at most {MAX_BATCH} events per push",
        ),
    }


@pytest.mark.parametrize("case", list(_bad_bodies()))
async def test_a_bad_request_gets_a_clear_4xx_and_writes_nothing(http, token, reader, case):
    status, payload, detail = _bad_bodies()[case]
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    before = await head(http, reader)
    response = await http.post(
        "/events",
        content=content,
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]
    assert await head(http, reader) == before


async def test_an_oversized_body_is_413_by_length_and_when_streamed(http, token, reader):
    before = await head(http, reader)
    big = b"x" * (17 * 1024 * 1024)
    headers = {**auth(token), "Content-Type": "application/json"}
    declared = await http.post("/events", content=big, headers=headers)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 1024 * 1024):
            yield big[start : start + 1024 * 1024]

    streamed = await http.post("/events", content=chunks(), headers=headers)
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert await head(http, reader) == before


@pytest.mark.parametrize(
    "params", [{"after": -1}, {"limit": 0}, {"wait": 61}, {"after": "x"}, {"since": 1}]
)
async def test_bad_pull_parameters_are_422(http, reader, params):
    response = await http.get("/events", params=params, headers=auth(reader))
    assert response.status_code == 422
    assert response.json()["detail"].startswith("query.")


async def test_concurrent_pushes_get_a_gap_free_sequence_that_readers_never_skip(
    http, shared_server, reader
):
    writers, batches, size = 4, 6, 50
    tokens = [
        await asyncio.to_thread(shared_server.store.token, f"w{i}-{new_id()}")
        for i in range(writers)
    ]
    cursor = start = await head(http, reader)
    total = writers * batches * size
    seen: list[int] = []

    async def write(token: str) -> None:
        device = f"d{new_id()}"
        for _ in range(batches):
            response = await http.post(
                "/events", json=body(device, notes(size, device=device)), headers=auth(token)
            )
            assert response.status_code == 200

    async def read() -> None:
        nonlocal cursor
        deadline = time.monotonic() + 30
        while len(seen) < total and time.monotonic() < deadline:
            params = {"after": cursor, "limit": 70, "wait": 5}
            page = (await http.get("/events", params=params, headers=auth(reader))).json()
            seen.extend(item["seq"] for item in page["events"])
            cursor = page["next"]

    await asyncio.gather(read(), *(write(t) for t in tokens))
    assert seen == list(range(start + 1, start + total + 1))
