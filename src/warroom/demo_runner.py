"""`make demo`: the console on a live demo, everything on this machine.

Starts, in the background: the shared sync server (SQLite), a simulated teammate on a second
database who syncs notes and takes a role now and then, the Kubernetes API simulator with a
crash-looping deployment, and monitoring (`demo_monitor.py`) that posts Alertmanager
notifications with an alert-only token. Then opens the console as "you" and stops them all
on exit.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from warroom.demo import seed

DEMO = Path(".demo")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def warroom(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warroom", *args],
        check=True,
        capture_output=True,
        text=True,
        **kwargs,
    )


def background(stack: ExitStack, name: str, *args: str) -> subprocess.Popen[bytes]:
    """A helper process, logging to .demo/NAME.log, stopped when the demo ends."""
    log = open(DEMO / f"{name}.log", "w")  # noqa: SIM115 - closed by the stack callback
    proc = subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

    stack.callback(stop)
    return proc


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise SystemExit(f"demo: {what} did not start; see the logs in {DEMO}/")


def run() -> None:
    DEMO.mkdir(exist_ok=True)
    for name in ("server.db", "teammate.db"):
        for suffix in ("", "-wal", "-shm"):
            (DEMO / f"{name}{suffix}").unlink(missing_ok=True)
    seeded = datetime.now(UTC)
    incident = seed(DEMO / "demo.db", seeded)
    port, kube_port = free_port(), free_port()
    server = f"http://127.0.0.1:{port}"
    kubeconfig = DEMO / "kubeconfig"
    kubeconfig.unlink(missing_ok=True)
    _public_page(server)
    mine = warroom("token", "create", "you", "--db", str(DEMO / "server.db")).stdout.split()[-1]
    theirs = warroom("token", "create", "erin", "--db", str(DEMO / "server.db"))
    alerting = warroom(
        "token", "create", "alertmanager", "--alerts", "--db", str(DEMO / "server.db")
    ).stdout.split()[-1]
    with ExitStack() as stack:
        background(
            stack,
            "server",
            "-m",
            "warroom",
            "serve",
            "--port",
            str(port),
            "--db",
            str(DEMO / "server.db"),
            "--log-level",
            "warning",
        )
        background(
            stack,
            "sim",
            "-m",
            "warroom",
            "sim",
            "--port",
            str(kube_port),
            "--kubeconfig",
            str(kubeconfig),
            "--scenario",
            "bad-deploy",
        )
        wait_until(lambda: _up(f"{server}/v1/health"), "the sync server")
        wait_until(kubeconfig.exists, "the Kubernetes simulator")
        # The server holds the incident before monitoring speaks, so that an alert for its
        # component attaches itself (and the teammate sees it at once).
        sync_env = {**os.environ, "WARROOM_SERVER": server, "WARROOM_TOKEN": mine}
        warroom("sync", "--once", "--db", str(DEMO / "demo.db"), env=sync_env)
        background(
            stack,
            "monitor",
            "-m",
            "warroom.demo_monitor",
            "--server",
            server,
            "--token",
            alerting,
            "--kubeconfig",
            str(kubeconfig),
            "--seeded",
            seeded.isoformat(),
        )
        background(
            stack,
            "teammate",
            "-m",
            "warroom.demo_team",
            "--db",
            str(DEMO / "teammate.db"),
            "--server",
            server,
            "--token",
            theirs.stdout.split()[-1],
            "--incident",
            incident,
            "--every",
            "20",
        )
        env = {"WARROOM_SERVER": server, "WARROOM_TOKEN": mine, "KUBECONFIG": str(kubeconfig)}
        os.environ.update(env)
        from warroom.cli import main

        with suppress(SystemExit):
            main(["--db", str(DEMO / "demo.db"), "--as", "you", "open", incident])


def _public_page(server: str) -> None:
    """The server serves the public status page at /status; the console's `?` says where.
    Both read it from the environment (`[status_page]` in a config file does the same)."""
    page = {
        "title": "Example Shop status",
        "url": f"{server}/status",
        "components": {"checkout": "Checkout", "api": "Public API", "search": "Search"},
    }
    os.environ["WARROOM_STATUS_PAGE"] = json.dumps(page)


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    run()
