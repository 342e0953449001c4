"""What comes from outside, on both backends: stamps and numbers in other digits, numbers
out of range, payloads a backend cannot store, a revoked device's identity, errors as JSON."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from typing import Any

import httpx
import psycopg
import pytest

from tests.sync.factory import auth, body, notes
from tests.sync.servers import ServerProcess, Store
from warroom.core.hlc import wall_ms_now
from warroom.core.ids import new_id

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
MAX_SEQ = 2**63 - 1


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
    response = await http.get("/events", params={"limit": 1}, headers=auth(token))
    return response.json()["head"]


async def post_raw(http: httpx.AsyncClient, token: str, content: bytes) -> httpx.Response:
    headers = {**auth(token), "Content-Type": "application/json"}
    return await http.post("/events", content=content, headers=headers)


def problem(response: httpx.Response) -> str:
    """The one-line reason of an error answer, which must be JSON `{"detail": ...}`."""
    assert response.headers["content-type"] == "application/json", response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    return detail


# -- clock stamps and ids in other digits -----------------------------------------------------


@pytest.mark.parametrize(
    "spoil",
    [
        lambda hlc: hlc.translate(ARABIC_INDIC),
        lambda hlc: hlc.translate(FULLWIDTH),
        lambda hlc: hlc[:-1] + "٩",
        lambda hlc: hlc + "\n",
    ],
    ids=["arabic-indic", "fullwidth", "last-digit", "newline"],
)
async def test_a_push_stamped_in_other_digits_is_422_and_stores_nothing(http, token, reader, spoil):
    device = f"d{new_id()}"
    [event] = notes(1, device=device)
    before = await head(http, reader)
    forged = {**event.to_dict(), "hlc": spoil(event.hlc)}
    response = await http.post(
        "/events", json={"device_id": device, "events": [forged]}, headers=auth(token)
    )
    assert response.status_code == 422
    assert "events.0.hlc" in problem(response)
    assert await head(http, reader) == before


@pytest.mark.parametrize("field", ["id", "incident_id"])
async def test_a_push_with_an_id_in_other_digits_is_422(http, token, reader, field):
    device = f"d{new_id()}"
    [event] = notes(1, device=device)
    before = await head(http, reader)
    forged = {**event.to_dict(), field: getattr(event, field)[:-4].translate(ARABIC_INDIC) + "٠١٢٣"}
    response = await http.post(
        "/events", json={"device_id": device, "events": [forged]}, headers=auth(token)
    )
    assert response.status_code == 422
    assert f"events.0.{field}" in problem(response)
    assert await head(http, reader) == before


# -- numbers in the query: ASCII digits, 64-bit ------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "after=99999999999999999999",
        f"after={MAX_SEQ + 1}",
        "after=11078860771923974144&wait=2.2e-308&limit=100",
        "after=%D9%A1%D9%A2",  # Arabic-Indic 12
        "after=%EF%BC%91",  # fullwidth 1
        "after=1_0",
        "after=%2B1",
        "after=%201",
        "after=1.0",
        "after=0x10",
        "limit=%D9%A1",
        "limit=1e2",
        "wait=nan",
        "wait=inf",
        "wait=1e400",
        "wait=%D9%A1",
        "wait=1_0",
        "wait=-0",
    ],
)
async def test_a_number_out_of_range_or_not_in_ascii_digits_is_a_json_422(http, reader, query):
    response = await http.get(f"/events?{query}", headers=auth(reader))
    assert response.status_code == 422, response.text
    assert problem(response).startswith("query.")


@pytest.mark.parametrize(
    "query", [f"after={MAX_SEQ}", "after=0&wait=2.2e-308", "wait=0.05&limit=1000", "wait=1e-3"]
)
async def test_numbers_at_their_bounds_are_served(http, reader, query):
    response = await http.get(f"/events?{query}", headers=auth(reader))
    assert response.status_code == 200, response.text


# -- payloads both backends store and give back unchanged --------------------------------------


def _event_bytes(device: str, **changes: Any) -> bytes:
    [event] = notes(1, device=device)
    return json.dumps({**event.to_dict(), **changes}).encode()


def _push_bytes(device: str, events: list[bytes]) -> bytes:
    return (
        b'{"device_id":' + json.dumps(device).encode() + b',"events":[' + b",".join(events) + b"]}"
    )


UNSTORABLE: dict[str, tuple[dict[str, Any], bytes | None]] = {
    # name: (changes to a note event, or raw bytes replacing the PLACEHOLDER payload value)
    "NUL in a note": ({"payload": {"text": "a\x00b"}}, None),
    "NUL in the actor": ({"actor": "a\x00b"}, None),
    "NUL in an unknown kind's key": ({"kind": "x.new", "payload": {"a\x00": 1}}, None),
    "lone surrogate in an unknown kind": ({"kind": "x.new", "payload": {"a": "\ud800"}}, None),
    "lone surrogate in a key": ({"kind": "x.new", "payload": {"\udc00": 1}}, None),
    "NaN": ({"kind": "x.new", "payload": {"n": float("nan")}}, None),
    "Infinity": ({"kind": "x.new", "payload": {"n": float("inf")}}, None),
    "1e400": ({"kind": "x.new", "payload": {"n": "PLACEHOLDER"}}, b"1e400"),
    "1e300": ({"kind": "x.new", "payload": {"n": 1e300}}, None),
    "2**60": ({"kind": "x.new", "payload": {"n": 2**60}}, None),
    "nested 100 deep": (
        {"kind": "x.new", "payload": {"n": json.loads("[" * 100 + "]" * 100)}},
        None,
    ),
}


@pytest.mark.parametrize("case", list(UNSTORABLE))
async def test_a_payload_a_backend_cannot_store_is_422_on_both(http, token, reader, case):
    changes, raw = UNSTORABLE[case]
    device = f"d{new_id()}"
    bad = _event_bytes(device, **changes)
    if raw is not None:
        bad = bad.replace(b'"PLACEHOLDER"', raw)
    good = _event_bytes(device)
    before = await head(http, reader)
    response = await post_raw(http, token, _push_bytes(device, [good, bad]))
    assert response.status_code == 422, response.text
    assert "events.1" in problem(response)
    assert await head(http, reader) == before


STORABLE = {
    "largest safe integer": 2**53 - 1,
    "smallest safe integer": -(2**53 - 1),
    "a fraction": -0.5,
    "a tiny float": 1e-300,
    "a large float": 9.007199254740991e15,
    "line and paragraph separators": "\u2028\u2029",
    "astral characters": "🔥𝔘",
    "a noncharacter": "\ufdd0",
    "nested 32 deep": json.loads("[" * 31 + "1" + "]" * 31),
    "booleans and null": [True, False, None],
}


async def test_payloads_at_the_limits_round_trip_unchanged(http, token, reader):
    device = f"d{new_id()}"
    start = await head(http, reader)
    events = [
        json.loads(_event_bytes(device, kind="x.new", payload={"v": value}))
        for value in STORABLE.values()
    ]
    response = await http.post(
        "/events", json={"device_id": device, "events": events}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    assert {r["status"] for r in response.json()["results"]} == {"stored"}
    page = await http.get("/events", params={"after": start}, headers=auth(reader))
    mine = [item["event"] for item in page.json()["events"] if item["event"]["device_id"] == device]
    assert mine == events
    again = await http.post(
        "/events", json={"device_id": device, "events": events}, headers=auth(token)
    )
    assert {r["status"] for r in again.json()["results"]} == {"duplicate"}


# -- a revoked device keeps its binding -------------------------------------------------------


async def test_a_revoked_device_cannot_be_impersonated_but_its_laptop_can_rotate_its_token(
    http, shared_server, reader
):
    store = shared_server.store

    async def new_token() -> str:
        return await asyncio.to_thread(store.token, f"t-{new_id()}")

    async def push(token: str, device: str, events: list) -> httpx.Response:
        return await http.post("/events", json=body(device, events), headers=auth(token))

    def statuses(response: httpx.Response) -> list[str]:
        return [r["status"] for r in response.json()["results"]]

    a, b = f"a{new_id()}", f"b{new_id()}"
    token_a, token_b = await new_token(), await new_token()
    assert (await push(token_a, a, notes(1, device=a))).status_code == 200
    assert (await push(token_b, b, notes(1, device=b))).status_code == 200
    token_b_id = await asyncio.to_thread(store.run, lambda db: db.authenticate(token_b))
    revoked = await asyncio.to_thread(store.cli, "token", "revoke", token_b_id.id)
    assert revoked.returncode == 0, revoked.stderr
    before = await head(http, reader)

    relayed = await push(token_a, a, notes(1, device=b))
    assert statuses(relayed) == ["rejected"]
    assert relayed.json()["results"][0]["reason"] == f"device {b} pushes its own events"
    assert (await push(token_a, b, notes(1, device=b))).status_code == 403
    smuggled = await push(await new_token(), f"f{new_id()}", notes(1, device=b))
    assert statuses(smuggled) == ["rejected"]
    assert await head(http, reader) == before

    rotated = await new_token()  # the same laptop, a new token: its first push takes over
    assert statuses(await push(rotated, b, notes(2, device=b))) == ["stored", "stored"]
    assert (await push(await new_token(), b, notes(1, device=b))).status_code == 403
    assert statuses(await push(token_a, a, notes(1, device=b))) == ["rejected"]


# -- every error is JSON ----------------------------------------------------------------------


async def test_errors_outside_the_routes_are_json_too(http, token):
    assert problem(await http.get("/nowhere")) == "Not Found"
    assert (await http.delete("/events", headers=auth(token))).status_code == 405
    assert problem(await http.delete("/events", headers=auth(token))) == "method not allowed"
    big = await http.post(
        "/events",
        content=b"x" * (17 * 1024 * 1024),
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert big.status_code == 413
    problem(big)


def _raw_exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head_, _, content = data.partition(b"\r\n\r\n")
    lines = head_.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, content


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"HELLO\r\n\r\n",
        b"GET /v1/health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000,  # over 16 KiB, unended
    ],
    ids=["not-http", "bad-header", "huge-header"],
)
def test_a_request_the_http_parser_refuses_gets_a_json_400(shared_server, request_bytes):
    status, headers, content = _raw_exchange(shared_server.url, request_bytes)
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(content)["detail"]


# -- what an older version stored -------------------------------------------------------------


@pytest.mark.parametrize(
    "payload", [{"n": 2**60}, {"n": 1e300}, {"deep": json.loads("[" * 40 + "]" * 40)}]
)
async def test_a_stored_event_todays_rules_refuse_is_skipped_not_a_500(
    http, shared_server, reader, payload
):
    """Events an older server stored unchecked are left out of pages (every client would
    refuse the whole page); the cursor moves past them, and the log does not say so twice."""
    store = shared_server.store
    device = f"old{new_id()}"
    [old] = notes(1, device=device)
    old = old._replace(kind="x.old", payload=payload)
    [new] = notes(1, device=device)
    start = await head(http, reader)

    async def push_unchecked(backend):  # straight into the database, as before the rules
        token = await backend.authenticate(reader)
        return await backend.push(token, device, [old, new], wall_ms_now())

    await asyncio.to_thread(store.run, push_unchecked)
    for _ in range(2):
        response = await http.get("/events", params={"after": start}, headers=auth(reader))
        assert response.status_code == 200, response.text
        assert [item["event"]["id"] for item in response.json()["events"]] == [new.id]
        assert response.json()["next"] == start + 2
    lines = shared_server.log.read_text().splitlines()
    said = [line for line in lines if f"not serving stored event {start + 1}:" in line]
    assert len(said) <= 1, said  # once at most (a flood of them is one line a minute)


# -- a broken database: a JSON 500, and never a secret in the log ------------------------------


@pytest.mark.parametrize(
    "store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_failure_inside_is_a_json_500_and_the_log_holds_no_token(store, tmp_path):
    server = ServerProcess(store, tmp_path, args=("--log-level", "debug")).start()
    try:
        secret = store.token("victim")
        device = f"d{new_id()}"
        with httpx.Client(base_url=server.url + "/v1", timeout=30) as http:
            ok = http.post(
                "/events", json=body(device, notes(1, device=device)), headers=auth(secret)
            )
            assert ok.status_code == 200
            http.get("/events", params={"after": "x"}, headers=auth(secret))
            http.post("/events", json=body("other", notes(1, device="other")), headers=auth(secret))
            http.get("/events", headers=auth(secret + "x"))
            drop_events_table(store)
            broken = http.post(
                "/events", json=body(device, notes(1, device=device)), headers=auth(secret)
            )
        assert broken.status_code == 500
        assert problem(broken) == "Internal Server Error"
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Exception in ASGI application" in log  # the traceback is there, for the admin
    assert secret not in log and secret[3:20] not in log
    assert "Bearer" not in log


def drop_events_table(store: Store) -> None:
    if store.kind == "sqlite":
        with closing(sqlite3.connect(store.target)) as conn:
            conn.execute("DROP TABLE events")
            conn.commit()
    else:
        with psycopg.connect(store.target, autocommit=True) as conn:
            conn.execute("DROP TABLE events")
