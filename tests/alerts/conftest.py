"""A real Prometheus Alertmanager sending to a real `warroom serve`, for the module.

Alertmanager (Debian's `prometheus-alertmanager`, with `amtool`; `.ci/alertmanager.sh`
installs it) runs with its own storage, free ports and no gossip (`--cluster.listen-address=`),
and notifies at once: `group_wait: 0s`, `group_interval: 1s`, `resolve_timeout: 3s`. Its
receivers:

- `warroom` (the default): straight to the server with an alert token;
- `flaky` (`test="retry"`): through `Relay`, which hands each notification to the server but
  answers Alertmanager 500 the first times: the answer is lost, Alertmanager sends again;
- `forbidden` (`test="forbidden"`): through `Relay`, with a client's token.

Tests tell their alerts apart by alertname (each its own group).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.alerts.notifications import auth
from tests.sync.pgcluster import free_port
from tests.sync.servers import ServerProcess, Store
from tests.waiting import wait_until

BINARIES = ("prometheus-alertmanager", "amtool")
DEADLINE = 20.0


def find_binaries() -> dict[str, str] | None:
    found = {name: shutil.which(name) for name in BINARIES}
    if not all(found.values()):
        return None
    return {name: path for name, path in found.items() if path}


@dataclass
class Seen:
    mode: str
    status: int
    names: list[str]


@dataclass
class Relay:
    """Between Alertmanager and warroom: forwards each notification as sent (headers, body)
    and tells Alertmanager the server's answer, except for the first `fail` notifications on
    /flaky, answered 500 after the server stored them."""

    target: str
    fail: int = 2
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, mode: str, path: str, headers: dict[str, str], body: bytes) -> int:
        import json

        names = [a["labels"].get("alertname", "") for a in json.loads(body).get("alerts", [])]
        reply = httpx.post(f"{self.target}{path}", content=body, headers=headers, timeout=30)
        status = reply.status_code
        with self.lock:
            if mode == "flaky" and self.fail > 0 and status == 200:
                self.fail -= 1
                status = 500
            self.seen.append(Seen(mode, status, names))
        return status

    def statuses(self, name: str) -> list[int]:
        with self.lock:
            return [s.status for s in self.seen if name in s.names]


def serve_relay(relay: Relay) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            mode, _, rest = self.path.lstrip("/").partition("/")
            headers = {
                "Authorization": self.headers.get("Authorization", ""),
                "Content-Type": "application/json",
            }
            status = relay.answer(mode, "/" + rest, headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


CONFIG = """
global:
  resolve_timeout: 3s
route:
  receiver: warroom
  group_by: ['alertname']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['test="retry"']
      receiver: flaky
    - matchers: ['test="forbidden"']
      receiver: forbidden
receivers:
  - name: warroom
    webhook_configs:
      - url: {server}/v1/alerts/alertmanager
        send_resolved: true
        max_alerts: 1000
        http_config:
          authorization:
            credentials: {alert_token}
  - name: flaky
    webhook_configs:
      - url: {relay}/flaky/v1/alerts/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {alert_token}
  - name: forbidden
    webhook_configs:
      - url: {relay}/pass/v1/alerts/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {client_token}
"""


@dataclass
class Stack:
    server: ServerProcess
    alert_token: str
    client_token: str
    relay: Relay
    url: str
    """Alertmanager's."""
    amtool: str

    def add(self, *labels: str, firing: bool = True, summary: str = "") -> None:
        """`amtool alert add`: an alert firing from now for an hour (as Prometheus sends one,
        with its start); `firing=False`: it ends now (Alertmanager keeps its start)."""
        args = [self.amtool, f"--alertmanager.url={self.url}", "alert", "add", *labels]
        if summary:
            args.append(f"--annotation=summary={summary}")
        now = datetime.now(UTC)
        if firing:  # without a start, Alertmanager would start it at its end
            args += [f"--start={_rfc3339(now)}", f"--end={_rfc3339(now + timedelta(hours=1))}"]
        else:
            args.append(f"--end={_rfc3339(now)}")
        done = subprocess.run(args, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr

    def timing_out(self, *labels: str) -> None:
        """`amtool alert add` without start or end: Alertmanager resolves it by itself
        `resolve_timeout` later unless it hears of it again."""
        args = [self.amtool, f"--alertmanager.url={self.url}", "alert", "add", *labels]
        done = subprocess.run(args, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr

    def events(self, name: str, kind: str = "") -> list[dict[str, Any]]:
        """What the server holds about the alerts called `name`."""
        found, after = [], 0
        with httpx.Client(timeout=30) as http:
            while True:
                page = http.get(
                    f"{self.server.url}/v1/events",
                    params={"after": after},
                    headers=auth(self.client_token),
                ).json()
                for item in page["events"]:
                    event = item["event"]
                    wanted = event["kind"] == kind if kind else event["kind"].startswith("alert_")
                    if wanted and event["payload"]["name"] == name:
                        found.append(event)
                if page["next"] >= page["head"]:
                    return found
                after = page["next"]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binaries = find_binaries()
    if binaries is None:
        message = (
            "Alertmanager not found (prometheus-alertmanager, amtool): run .ci/alertmanager.sh"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    directory: Path = tmp_path_factory.mktemp("alertmanager")
    server = ServerProcess(Store("sqlite", str(directory / "server.db")), directory).start()
    relay = Relay(server.url)
    listener = serve_relay(relay)
    port = free_port()
    config = directory / "alertmanager.yml"
    alert_token = server.store.alert_token("alertmanager")
    client_token = server.store.token("laptop")
    config.write_text(
        CONFIG.format(
            server=server.url,
            relay=f"http://127.0.0.1:{listener.server_port}",
            alert_token=alert_token,
            client_token=client_token,
        )
    )
    log = open(directory / "alertmanager.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            binaries["prometheus-alertmanager"],
            f"--config.file={config}",
            f"--storage.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError((directory / "alertmanager.log").read_text()[-2000:])
            try:
                return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, "Alertmanager ready")
        yield Stack(server, alert_token, client_token, relay, url, binaries["amtool"])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        listener.shutdown()
        listener.server_close()
        server.stop()
