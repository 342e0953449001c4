"""`make demo`: the console on a live demo, everything on this machine.

Starts, in the background: the shared sync server (SQLite), a simulated teammate on a second
database who syncs notes and takes a role now and then, the Kubernetes API simulator with a
crash-looping deployment, monitoring (`demo_monitor.py`) that posts Alertmanager
notifications with an alert-only token, and a Slack-compatible receiver (`demo_slack.py`)
that the server delivers updates to (its channel config is the server's alone, given by
WARROOM_CONFIG to the server process only). Then opens the console as "you" and stops them
all on exit.
"""

from __future__ import annotations

import json
import os
import secrets
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
from warroom.demo_slack import TOKEN_ENV

SLACK_CHANNEL = "C0DEMO0001"

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


def background(
    stack: ExitStack, name: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A helper process, logging to .demo/NAME.log, stopped when the demo ends."""
    log = open(DEMO / f"{name}.log", "w")  # noqa: SIM115 - closed by the stack callback
    proc = subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT, env=env)

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
    (DEMO / "slack.json").unlink(missing_ok=True)
    seeded = datetime.now(UTC)
    incident = seed(DEMO / "demo.db", seeded)
    port, kube_port, slack_port = free_port(), free_port(), free_port()
    slack = f"http://127.0.0.1:{slack_port}"
    slack_env = {**os.environ, TOKEN_ENV: f"xoxb-demo-{secrets.token_hex(12)}"}
    server_env = {**slack_env, "WARROOM_CONFIG": str(server_config(slack))}
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
            "slack",
            "-m",
            "warroom.demo_slack",
            "--port",
            str(slack_port),
            "--channel",
            SLACK_CHANNEL,
            "--state",
            str(DEMO / "slack.json"),
            env=slack_env,
        )
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
            env=server_env,
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
        wait_until(lambda: _up(f"{slack}/"), "the demo's Slack receiver")
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
        env = {
            "WARROOM_SERVER": server,
            "WARROOM_TOKEN": mine,
            "KUBECONFIG": str(kubeconfig),
            "WARROOM_DEMO_RECEIVER": f"{slack}/",  # the console's `?` says where to look
        }
        os.environ.update(env)
        from warroom.cli import main

        with suppress(SystemExit):
            main(["--db", str(DEMO / "demo.db"), "--as", "you", "open", incident])


def server_config(slack: str, directory: Path = DEMO) -> Path:
    """The server's channels: the demo's Slack, for internal updates and stakeholder ones,
    and the incident's changes. The token is read from the environment, never written."""
    path = directory / "server.toml"
    path.write_text(
        f"""# Written by `make demo` for its server (WARROOM_CONFIG); the console does not read it.
[channels.incidents]
kind = "slack"
channel = "{SLACK_CHANNEL}"
token_env = "{TOKEN_ENV}"
api_url = "{slack}/api/"
audiences = ["internal", "stakeholders"]
on = ["declared", "severity", "status", "resolved"]

[delivery]
poll = "0.2s"
retry_base = "1s"
retry_cap = "10s"
stale_after = "5m"
"""
    )
    return path


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
