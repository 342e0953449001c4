"""Half-sent requests must not lock everyone out of `warroom serve`.

A real server on 127.0.0.1 that may open 1,024 files (as most machines allow by default),
flooded with 1,100 sockets that each sent half a request: the health check still answers,
the flood's sockets are closed within the request deadline, and the log says so in a few
lines, not one per failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.sync.factory import auth
from tests.sync.flood import Flood, raise_own_fd_limit
from tests.sync.servers import ServerProcess, Store
from tests.waiting import wait_until
from warroom.server import serving
from warroom.server.serving import Throttle

FDS = 1024
FLOOD = 1100
RATE = 1100  # the sockets the server closes are reopened: a new flood every second
DEADLINE = 2.0  # --request-timeout for this server: a short wait keeps the test quick
PROBES = 40


@pytest.fixture
def limited_server(tmp_path: Path):
    server = ServerProcess(
        Store("sqlite", str(tmp_path / "server.db")),
        tmp_path,
        fd_limit=(FDS, FDS),  # the server cannot raise its own limit: the caps must hold
        args=("--request-timeout", str(DEADLINE)),
    )
    yield server.start()
    server.stop()


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def need_files(count: int) -> None:
    """The flood's sockets are this process's open files too."""
    if not raise_own_fd_limit(count):
        message = f"this process may not open {count} files (ulimit -Hn)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def probe(server: ServerProcess, times: int) -> tuple[list[int], list[float], int]:
    """`times` health checks, each on a new connection as a new client's: statuses, seconds,
    and the most files the server had open meanwhile."""
    assert server.proc is not None
    statuses, seconds, files = [], [], 0
    with httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as http:
        for _ in range(times):
            started = time.perf_counter()
            statuses.append(http.get(f"{server.url}/v1/health").status_code)
            seconds.append(time.perf_counter() - started)
            files = max(files, open_files(server.proc.pid))
    return statuses, sorted(seconds), files


def quantiles(seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"p50 {ms[len(ms) // 2]:.1f} ms, p99 {ms[int(len(ms) * 0.99)]:.1f} ms, max {ms[-1]:.0f} ms"
    )


def test_a_flood_of_half_sent_requests_leaves_the_server_answering(limited_server):
    need_files(FLOOD + 200)
    server = limited_server
    _, calm, _ = probe(server, PROBES)
    flood = Flood("127.0.0.1", server.port, FLOOD, RATE).start()
    try:
        wait_until(lambda: flood.opened >= FLOOD, timeout=60, what=f"{FLOOD} half-sent requests")
        statuses, flooded, peak_files = probe(server, PROBES)
        assert statuses == [200] * PROBES
        assert flood.closed_by_server > 0
        assert peak_files < FDS

        flood.hold()  # the flood's last sockets: each closed within the deadline
        wait_until(
            lambda: flood.live == 0, timeout=DEADLINE + 10, what="the flood's sockets closed"
        )
    finally:
        flood.stop()
    lines = server.log.read_text().splitlines()
    assert len(lines) <= 10, "\n".join(lines[:20])
    assert not any("cannot accept" in line for line in lines)  # the caps kept to the files
    assert server.proc is not None and server.proc.poll() is None
    print(  # figures for the record (pytest -s); nothing asserts on time
        f"\nhealth, {PROBES} new connections: calm {quantiles(calm)};"
        f" under {FLOOD} half-sent requests ({flood.opened} opened, {flood.closed_by_server}"
        f" closed by the server) {quantiles(flooded)}; server files at most {peak_files}"
        f" of {FDS}; server log {len(lines)} lines"
    )


def test_a_slow_client_from_another_address_outlasts_a_flood(tmp_path):
    """The caps close the flooder's own sockets: a client on another address that takes its
    time (well within the deadline) is answered while the flood goes on."""
    need_files(FLOOD + 200)
    server = ServerProcess(
        Store("sqlite", str(tmp_path / "server.db")), tmp_path, fd_limit=(FDS, FDS)
    ).start()  # the default deadline, 10 s
    flood = Flood("127.0.0.1", server.port, FLOOD, RATE).start()
    try:
        wait_until(lambda: flood.opened >= FLOOD, timeout=60, what=f"{FLOOD} half-sent requests")
        pieces = [b"GET /v1/health HTTP/1.1\r\n", b"Host: slow\r\n", b"Accept: */*\r\n", b"\r\n"]
        with socket.create_connection(("127.0.0.1", server.port), 30, ("127.0.0.2", 0)) as slow:
            for piece in pieces:  # a piece each time the flood has opened 300 more sockets
                mark = flood.opened
                wait_until(lambda m=mark: flood.opened >= m + 300, timeout=30, what="the flood")
                slow.sendall(piece)
            answer = slow.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
        assert flood.closed_by_server >= 1200
    finally:
        flood.stop()
        server.stop()


def test_a_half_sent_request_gets_a_json_408_and_a_silent_one_is_closed(limited_server):
    host, port = "127.0.0.1", limited_server.port
    with (
        socket.create_connection((host, port), 30) as half,
        socket.create_connection((host, port), 30) as silent,
    ):
        half.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Le")
        answer = read_all(half)
        assert silent.recv(1) == b""  # closed, no answer: it asked nothing
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"content-type: application/json" in head
    assert json.loads(body) == {"detail": "request timeout: the request came too slowly"}


def test_a_body_must_keep_coming(limited_server):
    token = limited_server.store.token("slow-body")
    with socket.create_connection(("127.0.0.1", limited_server.port), 30) as sock:
        sock.sendall(
            b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {token}\r\nContent-Length: 1000\r\n\r\n".encode()
            + b'{"device_id": '
        )
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_serve_raises_its_open_files_limit_as_far_as_allowed(tmp_path):
    server = ServerProcess(
        Store("sqlite", str(tmp_path / "server.db")), tmp_path, fd_limit=(256, 4096)
    ).start()
    try:
        assert server.proc is not None
        limits = Path(f"/proc/{server.proc.pid}/limits").read_text()
        [line] = [x for x in limits.splitlines() if x.startswith("Max open files")]
        assert line.split()[3:5] == ["4096", "4096"]
    finally:
        server.stop()


def test_out_of_files_the_log_still_says_it_once(tmp_path):
    """With too few descriptors for the caps to prevent it, accept() fails: asyncio logged
    each failure with a traceback (a backlog's worth a second); now it is one line."""
    server = ServerProcess(
        Store("sqlite", str(tmp_path / "server.db")),
        tmp_path,
        fd_limit=(48, 48),
        args=("--request-timeout", str(DEADLINE)),
    ).start()
    flood = Flood("127.0.0.1", server.port, 300, 300).start()
    try:
        wait_until(lambda: flood.opened >= 600, timeout=60, what="two floods of 300")
    finally:
        flood.stop()
    try:
        wait_until(lambda: health_answers(server.url), timeout=30, what="the health check")
    finally:
        server.stop()
    lines = server.log.read_text().splitlines()
    assert len(lines) <= 10, "\n".join(lines[:20])
    assert not any("Traceback" in line for line in lines)


def health_answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v1/health", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_a_repeated_message_is_logged_once_a_window_with_a_count():
    now = [0.0]
    throttle = Throttle(window=60, clock=lambda: now[0])

    def record(address: str) -> logging.LogRecord:
        return logging.LogRecord("x", logging.WARNING, "", 0, "closing %s", (address,), None)

    passed = [throttle.filter(record(f"10.0.0.{i}")) for i in range(100)]
    assert passed == [True] + [False] * 99
    assert throttle.filter(logging.LogRecord("x", 30, "", 0, "other", (), None))
    now[0] = 61.0
    later = record("10.0.0.1")
    assert throttle.filter(later)
    assert later.getMessage() == "closing 10.0.0.1 [and 99 more like it in 60 s]"
    assert not throttle.filter(record("10.0.0.2"))


def test_an_accept_failure_is_one_line_without_a_traceback(caplog):
    loop = asyncio.new_event_loop()
    try:
        with socket.socket() as sock, caplog.at_level(logging.WARNING, "warroom.server"):
            context = {
                "message": "socket.accept() out of system resource",
                "exception": OSError(errno.EMFILE, "Too many open files"),
                "socket": sock,
            }
            serving._loop_errors(loop, context)
    finally:
        loop.close()
    [logged] = caplog.records
    assert logged.getMessage() == (
        "cannot accept connections: Too many open files (retrying every second)"
    )
    assert logged.exc_info is None


async def test_when_every_connection_is_busy_a_newcomer_gets_a_json_503(tmp_path):
    """256 files give 96 connections: with all of them in long-polls (whole requests, so
    nothing to close), a newcomer is turned away with a 503 that says when to retry."""
    store = Store("sqlite", str(tmp_path / "server.db"))
    server = ServerProcess(store, tmp_path, fd_limit=(256, 256)).start()
    token = await asyncio.to_thread(store.token, "poller")
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
    stop = asyncio.Event()

    async def hold_a_connection(http: httpx.AsyncClient) -> None:
        while not stop.is_set():  # turned away while the others settle in: again
            with contextlib.suppress(httpx.TransportError):
                await http.get("/v1/events", params={"wait": 30}, headers=auth(token))

    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as http:
            polls = [asyncio.create_task(hold_a_connection(http)) for _ in range(130)]
            answer = b""
            deadline = time.monotonic() + 30
            while not answer.startswith(b"HTTP/1.1 503 ") and time.monotonic() < deadline:
                answer = await asyncio.to_thread(health_raw, server.port)
            stop.set()
            for poll in polls:
                poll.cancel()
            await asyncio.gather(*polls, return_exceptions=True)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 "), answer[:200]
        assert b"retry-after: 1" in head and b"content-type: application/json" in head
        assert json.loads(body) == {"detail": "server busy: every connection is in use"}
        wait_until(lambda: health_answers(server.url), timeout=30, what="the health check")
    finally:
        server.stop()


def health_raw(port: int) -> bytes:
    """The raw answer to a health check; nothing if the connection was closed on it."""
    try:
        with socket.create_connection(("127.0.0.1", port), 10) as sock:
            sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return read_all(sock)
    except ConnectionResetError:
        return b""
