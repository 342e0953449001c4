"""Events the server makes itself (alerts, delivery results) go through the command layer in
the backend's write transaction, as a device no token may push for, and fan out like pushes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from tests.sync.conftest import BACKENDS
from tests.sync.factory import auth, body
from tests.sync.servers import Store
from warroom.core.commands import AddNote, ChangeStatus, CommandError, Declare
from warroom.core.events import Event
from warroom.core.hlc import Stamp, wall_ms_now
from warroom.core.ids import new_id
from warroom.core.state import IncidentState, register_key
from warroom.server.backend import Backend, open_backend


def client_declaration(incident: str, device: str, ahead_ms: int = 0) -> list[Event]:
    """A declaration as a client makes it and pushes it."""
    from warroom.core.commands import Context, materialise
    from warroom.core.policy import DEFAULT_POLICY

    wall = wall_ms_now() + ahead_ms
    return materialise(
        IncidentState(incident_id=incident),
        [Declare(title="api down", severity="SEV2", commander="alice")],
        Context(DEFAULT_POLICY, datetime.now(UTC)),
        device_id=device,
        actor="alice",
        ids=iter(new_id, None),
        stamps=(Stamp(wall, n).encode() for n in range(10)),
    )


def backend_of(store: Store) -> Backend:
    return store.backend()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path) -> Store:
    from tests.sync.conftest import _store

    return _store(request.param, request, tmp_path)


async def test_the_server_writes_through_the_command_layer_and_its_events_fan_out(
    store: Store, tmp_path
):
    from tests.sync.servers import ServerProcess

    server = await asyncio.to_thread(ServerProcess(store, tmp_path).start)
    try:
        token = await asyncio.to_thread(store.token, "laptop")
        incident, device = new_id(), f"d{new_id().lower()}"
        declared = client_declaration(incident, device)
        async with httpx.AsyncClient() as http:
            pushed = await http.post(
                f"{server.url}/v1/events", json=body(device, declared), headers=auth(token)
            )
            assert pushed.status_code == 200, pushed.text
        backend = backend_of(store)
        await backend.open()
        try:
            made = await backend.execute(
                incident,
                [AddNote(text="from monitoring"), ChangeStatus(status="identified")],
                "alertmanager",
                datetime.now(UTC),
            )
            assert [e.kind for e in made] == ["note", "status_changed"]
            assert {e.device_id for e in made} == {backend.device_id}
            assert made[1].payload["replaces"] == declared[0].id  # read in the transaction
            assert all(e.hlc > declared[-1].hlc for e in made)
            state = await backend.state(incident)
            assert state.current_status == "identified" and state.event_count == 4
            assert await backend.incident_ids() == [incident]
            with pytest.raises(CommandError, match="no incident"):
                await backend.execute(new_id(), [AddNote(text="x")], "x", datetime.now(UTC))
        finally:
            await backend.close()
        async with httpx.AsyncClient() as http:  # what every client pulls
            page = (await http.get(f"{server.url}/v1/events", headers=auth(token))).json()
        assert [item["event"]["actor"] for item in page["events"]][-2:] == ["alertmanager"] * 2
        assert page["head"] == 4
    finally:
        await asyncio.to_thread(server.stop)


async def test_no_token_pushes_for_the_server_device(store: Store, tmp_path):
    from tests.sync.servers import ServerProcess

    server = await asyncio.to_thread(ServerProcess(store, tmp_path).start)
    try:
        token = await asyncio.to_thread(store.token, "sneaky")
        backend = backend_of(store)
        await backend.open()
        server_device = backend.device_id
        await backend.close()
        incident = new_id()
        forged = client_declaration(incident, server_device)
        device = f"d{new_id().lower()}"
        async with httpx.AsyncClient() as http:
            as_server = await http.post(
                f"{server.url}/v1/events", json=body(server_device, forged), headers=auth(token)
            )
            assert as_server.status_code == 403
            relayed = await http.post(
                f"{server.url}/v1/events", json=body(device, forged), headers=auth(token)
            )
            assert relayed.status_code == 200
            results = relayed.json()["results"]
        assert {r["status"] for r in results} == {"rejected"}
        assert "is a server's" in results[0]["reason"]
    finally:
        await asyncio.to_thread(server.stop)


@pytest.mark.postgres
async def test_two_instances_writing_at_once_chain_their_writes(pg):
    """Each instance folds the incident inside the locked transaction: the second write
    replaces the first, whichever instance made it (no false conflict)."""
    url = pg.new_database()
    a, b = open_backend(database_url=url), open_backend(database_url=url)
    await a.open()
    await b.open()
    try:
        incident = new_id()
        declared = client_declaration(incident, "laptop")
        from warroom.server.auth import Token

        token = Token("t1", "laptop", None, datetime.now(UTC))
        async with a._writer.use() as conn, conn.transaction():  # a token row for the push
            await conn.execute(
                "INSERT INTO tokens (id, name, hash, created_at) VALUES ('t1', 'laptop', 'h',"
                " now())"
            )
        await a.push(token, "laptop", declared, wall_ms_now())
        writes = await asyncio.gather(
            *(
                backend.execute(incident, [ChangeStatus(status=s)], "x", datetime.now(UTC))
                for backend, s in [(a, "identified"), (b, "monitoring")] * 3
            )
        )
        state = await a.state(incident)
        assert state.conflicts() == []
        chain = [e for made in writes for e in made]
        key = register_key("status_changed", {})
        assert all(register_key(e.kind, e.payload) == key for e in chain)
        assert len(state.status.entries) == 1 + len(chain)
    finally:
        await a.close()
        await b.close()
