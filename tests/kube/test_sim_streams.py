"""Where the simulator's long-lived responses start, driven through its ASGI app.

A client may act the instant it has the response headers (advance the clock, inject a fault);
a real API server has registered the watch or opened the log before it answers, so nothing done
after the headers is lost. Here the `send` callable plays such a client deterministically: it
acts while the server is still inside `http.response.start`, the widest the gap can be.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from warroom.core.rfc3339 import SECOND
from warroom.kube.sim import Shop
from warroom.kube.sim.routes import create_app
from warroom.kube.sim.state import ClusterState
from warroom.kube.sim.streams import ConnectionDropped

T0 = 1_750_000_000 * SECOND


async def exchange(
    state: ClusterState,
    path: str,
    query: str,
    on_headers: Callable[[], None],
    on_body: Callable[[bytes], None] = lambda chunk: None,
) -> bytes:
    """One GET through the app; `on_headers` runs as the headers are sent. Fails after 5 s."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200
            on_headers()
        elif message.get("body"):
            body.append(message["body"])
            on_body(message["body"])

    try:
        await asyncio.wait_for(create_app(state)(scope, receive, send), 5)
    except TimeoutError:
        pytest.fail(f"the response did not end within 5 s; body so far: {body!r}")
    return b"".join(body)


def frontend(state: ClusterState) -> str:
    return next(
        p["metadata"]["name"]
        for p in state.store.list("pods", "shop")
        if p["metadata"]["labels"]["app"] == "frontend"
    )


async def test_a_followed_log_has_the_lines_written_once_the_client_has_the_headers() -> None:
    state = Shop().build(T0)
    pod = frontend(state)
    body = await exchange(
        state,
        f"/api/v1/namespaces/shop/pods/{pod}/log",
        "follow=true&tailLines=0",
        on_headers=lambda: state.advance_to(state.now + 2 * SECOND),
        on_body=lambda chunk: state.end_log_streams(),
    )
    assert len(body.splitlines()) >= 3, body


async def test_a_watch_is_dropped_by_a_fault_injected_once_the_client_has_the_headers() -> None:
    state = Shop().build(T0)
    with pytest.raises(ConnectionDropped):
        await exchange(
            state,
            "/api/v1/namespaces/shop/pods",
            f"watch=1&resourceVersion={state.store.rv}&timeoutSeconds=3",
            on_headers=state.drop_watches,
        )
