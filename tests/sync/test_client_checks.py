"""The client checks what a server sends as the server checks what a client sends, and holds
back what the server would refuse so that it does not block the rest of the outbox."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sync.factory import auth, notes
from tests.sync.servers import ServerProcess, Store
from tests.writes import foreign
from warroom.core.commands import AddNote, Declare
from warroom.core.ids import new_id
from warroom.store import EventLog
from warroom.sync.client import Refused, SyncClient
from warroom.sync.engine import Syncer

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


class Answers(BaseHTTPRequestHandler):
    """A server that answers every request with the JSON it was given."""

    answer: bytes = b"{}"

    def _send(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    do_GET = do_POST = _send

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[tuple[str, type[Answers]]]:
    handler = type("Handler", (Answers,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def page(**changes: Any) -> dict[str, Any]:
    [event] = notes(1, device="d")
    answer = {
        "server_time": "2026-01-01T00:00:00Z",
        "server_id": "0123456789abcdef",
        "events": [{"seq": 1, "event": event.to_dict()}],
        "next": 1,
        "head": 1,
    }
    event_changes = changes.pop("event", {})
    answer["events"][0]["event"].update(event_changes)
    answer["events"][0].update(changes.pop("item", {}))
    return {**answer, **changes}


BAD_PAGES = {
    "stamp in Arabic-Indic digits": page(
        event={"hlc": notes(1, device="d")[0].hlc.translate(ARABIC_INDIC)}
    ),
    "id in Arabic-Indic digits": page(event={"id": "0" * 22 + "٠١٢٣"}),
    "seq as text": page(item={"seq": "1"}),
    "seq as a float": page(item={"seq": 1.0}),
    "seq of 65 bits": page(item={"seq": 2**64}),
    "next as text in other digits": page(next="١"),
    "negative head": page(head=-1),
    "server id with a colon": page(server_id="a:1"),
    "server id in other letters": page(server_id="ｓｅｒｖｅｒ"),
    "NUL in a payload": page(event={"payload": {"text": "a\x00b"}}),
    "a number beyond 2**53": page(event={"kind": "x.new", "payload": {"n": 2**60}}),
}


@pytest.mark.parametrize("case", list(BAD_PAGES))
async def test_a_page_the_rules_refuse_is_refused_whole(fake, case):
    url, handler = fake
    handler.answer = json.dumps(BAD_PAGES[case]).encode()
    async with SyncClient(url, "wr_x") as client:
        with pytest.raises(Refused, match="not a warroom server answer"):
            await client.pull(0)


async def test_a_page_within_the_rules_is_taken(fake):
    url, handler = fake
    handler.answer = json.dumps(page()).encode()
    async with SyncClient(url, "wr_x") as client:
        answer, events = await client.pull(0)
    assert answer.next == 1 and len(events) == 1


@pytest.mark.parametrize(
    "result",
    [
        {"id": "not-a-ulid", "status": "stored", "seq": 1},
        {"id": "0" * 22 + "٠١٢٣", "status": "stored", "seq": 1},
        {"id": "0" * 26, "status": "stored", "seq": "1"},
        {"id": "0" * 26, "status": "rejected", "reason": "x" * 5000},
    ],
    ids=["id", "id-digits", "seq-text", "long-reason"],
)
async def test_a_push_answer_the_rules_refuse_is_refused(fake, result):
    url, handler = fake
    handler.answer = json.dumps(
        {"server_time": "2026-01-01T00:00:00Z", "results": [result], "head": 1}
    ).encode()
    async with SyncClient(url, "wr_x") as client:
        with pytest.raises(Refused, match="not a warroom server answer"):
            await client.push("d", b"")


def test_an_event_no_backend_can_store_stays_in_the_outbox_and_the_rest_go(tmp_path: Path):
    store = Store("sqlite", str(tmp_path / "server.db"))
    server = ServerProcess(store, tmp_path).start()
    try:
        with EventLog(tmp_path / "client.db") as log:
            # an import from an older warroom can hold what no backend stores
            (first,) = log.execute(new_id(), [Declare(title="before", severity="SEV3")], "me")
            bad = foreign(first.incident_id, "note", {"text": "a\x00b"})
            log.insert([bad], outbox=True)
            (last,) = log.execute(first.incident_id, [AddNote(text="after")], "me")
            syncer = Syncer(log, server.url, store.token("client"))
            status = asyncio.run(syncer.sync_once())
            assert [e.id for e in log.outbox.batch()] == [bad.id]
            assert status.pending == 1 and "U+0000 cannot be stored" in status.reason
        reader = store.token("reader")
        pulled = httpx.get(f"{server.url}/v1/events", headers=auth(reader)).json()
        assert [item["event"]["id"] for item in pulled["events"]] == [first.id, last.id]
    finally:
        server.stop()
