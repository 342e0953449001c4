"""Alerts in: how fast `warroom serve` accepts alert notifications, and how long an alert takes
from Alertmanager to a responder's console.

- Intake rate on SQLite and PostgreSQL (real `warroom serve` processes on 127.0.0.1): 2,000
  alerts in Alertmanager notifications of 50 (one client, one request at a time, with 20
  open incidents to match against), beside the push rate of the same number of events in
  batches of 50 (the same alerts as a client's events: goal >= 0.5x; and small notes), same
  server, interleaved rounds. Also: the same notifications sent again (all re-sends,
  nothing stored), as Alertmanager does every group_interval.
- End to end: a real Alertmanager (when installed) notifies the server through a relay that
  notes the moment Alertmanager's request arrives; a console (the real WarroomApp, headless,
  syncing with the server like any responder's) notes when the alert is in its alert board.
  Each alert is its own group (`group_wait: 0s`), sent one at a time (goal: p99 <= 1 s).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from tests.alerts.notifications import alert, auth, fingerprint, notification
from tests.sync.factory import body
from tests.sync.pgcluster import cluster, find_bin, free_port
from tests.sync.servers import ServerProcess, Store

from bench.report import Figure, percentile, section
from warroom.core.commands import Context, Declare, materialise
from warroom.core.hlc import Stamp, wall_ms_now
from warroom.core.ids import new_id
from warroom.core.policy import DEFAULT_POLICY
from warroom.core.state import IncidentState

N_ALERTS = 2000
PER_REQUEST = 50
N_INCIDENTS = 20
N_LATENCY = 40
ROUNDS = 3


def _declarations(device: str) -> list[Any]:
    events = []
    for n in range(N_INCIDENTS):
        incident = new_id()
        events += materialise(
            IncidentState(incident_id=incident),
            [Declare(title=f"incident {n}", severity="SEV3", components=(f"svc-{n}",))],
            Context(DEFAULT_POLICY, datetime.now(UTC)),
            device_id=device,
            actor="bench",
            ids=iter(new_id, None),
            stamps=(Stamp(wall_ms_now(), k).encode() for k in range(10)),
        )
    return events


def _notes(device: str, incident: str, n: int) -> list[dict[str, Any]]:
    wall = wall_ms_now()
    return [
        {
            "id": new_id(),
            "incident_id": incident,
            "device_id": device,
            "hlc": Stamp(wall, i).encode(),
            "actor": "bench",
            "kind": "note",
            "payload": {"text": f"note {i} " + "x" * 80},
        }
        for i in range(n)
    ]


def _groups() -> list[dict[str, Any]]:
    """Notifications of fresh alerts: a service of an open incident now and then, so
    matching does its work."""
    return [
        notification(
            *(
                alert(fingerprint(), f"Bench{g}", service=f"svc-{i % (N_INCIDENTS * 4)}")
                for i in range(PER_REQUEST)
            )
        )
        for g in range(N_ALERTS // PER_REQUEST)
    ]


def _post_all(http: httpx.Client, url: str, token: str, bodies: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    for sent in bodies:
        http.post(url, json=sent, headers=auth(token)).raise_for_status()
    return time.perf_counter() - start


def _alert_events(device: str, groups: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The same alerts as events a client made (fresh fingerprints): what the server stores
    for them, pushed instead, a batch per notification."""
    from warroom.alerts.webhooks import AlertmanagerWebhook, from_alertmanager
    from warroom.core.alerts import INBOX

    now = datetime.now(UTC)
    wall = wall_ms_now()
    batches = []
    for n, sent in enumerate(groups):
        copy = json.loads(json.dumps(sent))
        for one in copy["alerts"]:
            one["fingerprint"] = fingerprint()
        body_ = AlertmanagerWebhook.model_validate(copy)
        events = materialise(
            IncidentState(incident_id=INBOX),
            from_alertmanager(body_, DEFAULT_POLICY.alerts, now),
            Context(DEFAULT_POLICY, now),
            device_id=device,
            actor="bench",
            ids=iter(new_id, None),
            stamps=(Stamp(wall, n * PER_REQUEST + k).encode() for k in range(PER_REQUEST)),
        )
        batches.append([e.to_dict() for e in events])
    return batches


def intake(store: Store, tmp: Path, label: str) -> list[Figure]:
    """Rounds of (alerts posted; the same again: re-sends; as many alert events pushed; as
    many notes pushed), so that each sees the same machine; the median round is reported.

    The goal compares with pushing the same alerts as events (the same bytes to store): the
    price of intake itself (the webhook read, the firings table, matching). Notes, a fifth of
    the size, are shown beside it."""
    server = ServerProcess(store, tmp).start()
    took: dict[str, list[float]] = {"alerts": [], "resends": [], "events": [], "notes": []}
    try:
        client, alerting = store.token(f"{label}-client"), store.alert_token(f"{label}-am")
        device = f"bench-{new_id().lower()}"
        am_url, events_url = f"{server.url}/v1/alerts/alertmanager", f"{server.url}/v1/events"
        with httpx.Client(timeout=60) as http:
            http.post(
                events_url, json=body(device, _declarations(device)), headers=auth(client)
            ).raise_for_status()
            for _ in range(ROUNDS):
                groups = _groups()
                took["alerts"].append(_post_all(http, am_url, alerting, groups))
                took["resends"].append(_post_all(http, am_url, alerting, groups))
                pushes = [
                    {"device_id": device, "events": events}
                    for events in _alert_events(device, groups)
                ]
                took["events"].append(_post_all(http, events_url, client, pushes))
                incident = new_id()
                notes = [
                    {"device_id": device, "events": _notes(device, incident, PER_REQUEST)}
                    for _ in groups
                ]
                took["notes"].append(_post_all(http, events_url, client, notes))
    finally:
        server.stop()
    rate = {name: N_ALERTS / statistics.median(times) for name, times in took.items()}
    figures = [
        Figure(
            f"alerts accepted ({label}, {PER_REQUEST}/notification)",
            rate["alerts"],
            "/s",
            "alert events pushed",
            rate["events"],
            ">= 0.5x push",
            rate["alerts"] >= 0.5 * rate["events"],
        ),
        Figure(f"alerts accepted ({label})", rate["alerts"], "/s", "notes pushed", rate["notes"]),
        Figure(
            f"alert re-sends answered ({label})",
            rate["resends"],
            "/s",
            "alert events pushed",
            rate["events"],
        ),
    ]
    for figure in figures:
        print(figure.line())
    return figures


# -- Alertmanager to a console ------------------------------------------------------------------

CONFIG = """
global:
  resolve_timeout: 5m
route:
  receiver: warroom
  group_by: ['alertname']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: warroom
    webhook_configs:
      - url: {relay}/v1/alerts/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {token}
"""


class Relay:
    """Notes when each of Alertmanager's notifications arrives, then hands it on."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.sent: dict[str, float] = {}
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.perf_counter()
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                for one in json.loads(data)["alerts"]:
                    relay.sent.setdefault(one["labels"]["alertname"], arrived)
                headers = {
                    "Authorization": self.headers.get("Authorization", ""),
                    "Content-Type": "application/json",
                }
                reply = httpx.post(f"{relay.target}{self.path}", content=data, headers=headers)
                self.send_response(reply.status_code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def _console_latencies(
    server: ServerProcess, am_url: str, relay: Relay, tmp: Path
) -> list[float]:
    from warroom.config import Settings
    from warroom.store import EventLog
    from warroom.tui.app import WarroomApp

    token = await asyncio.to_thread(server.store.token, "console")
    log = EventLog(tmp / "console.db")
    settings = Settings(user="you", server=server.url, token=token)
    app = WarroomApp(log, settings, None, actor="you")
    seen: list[float] = []
    async with app.run_test(size=(120, 35)) as pilot:
        deadline = time.monotonic() + 30
        while app.syncer is None or not app.syncer.status().caught_up:
            if time.monotonic() > deadline:
                raise TimeoutError("the console's sync never caught up")
            await pilot.pause(0.01)
        async with httpx.AsyncClient(timeout=30) as http:
            for n in range(N_LATENCY):
                name = f"Latency{n}{new_id()[-6:]}"
                now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
                posted = await http.post(
                    f"{am_url}/api/v2/alerts",
                    json=[{"labels": {"alertname": name}, "startsAt": now}],
                )
                posted.raise_for_status()
                deadline = time.monotonic() + 10
                while not (app.board and any(a.name == name for a in app.board.inbox())):
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{name} never reached the console")
                    await pilot.pause(0.002)
                seen.append(time.perf_counter() - relay.sent[name])
    log.close()
    return seen


def end_to_end(tmp: Path) -> list[Figure]:
    binary = shutil.which("prometheus-alertmanager")
    if binary is None:
        print("  Alertmanager: skipped, not installed (install it with .ci/alertmanager.sh)")
        return []
    server = ServerProcess(Store("sqlite", str(tmp / "e2e.db")), tmp).start()
    relay = Relay(server.url)
    config = tmp / "alertmanager.yml"
    config.write_text(CONFIG.format(relay=relay.url, token=server.store.alert_token("am")))
    port = free_port()
    am = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("Alertmanager did not start")
            time.sleep(0.05)
        latencies = asyncio.run(_console_latencies(server, url, relay, tmp))
    finally:
        am.terminate()
        am.wait(timeout=10)
        relay.close()
        server.stop()
    round_trips = []
    server_again = ServerProcess(Store("sqlite", str(tmp / "e2e.db")), tmp).start()
    try:
        for _ in range(100):
            start = time.perf_counter()
            httpx.get(f"{server_again.url}/v1/health")
            round_trips.append(time.perf_counter() - start)
    finally:
        server_again.stop()
    base = percentile(round_trips, 50) * 1000
    figures = []
    for p, goal in ((50, None), (99, 1000.0)):
        value = percentile(latencies, p) * 1000
        figures.append(
            Figure(
                f"Alertmanager send -> console p{p} ({N_LATENCY} alerts)",
                value,
                "ms",
                "health round trip p50",
                base,
                f"<= {goal:g} ms" if goal else "",
                value <= goal if goal else None,
            )
        )
        print(figures[-1].line())
    return figures


def run() -> list[Figure]:
    tmp = Path(tempfile.mkdtemp(prefix="warroom-alerts-bench-"))
    section(
        f"Alerts in: {N_ALERTS:,} alerts in notifications of {PER_REQUEST} vs the same number of"
        f" events pushed (median of {ROUNDS} rounds); Alertmanager to a console, {N_LATENCY}"
        " alerts one by one"
    )
    figures = intake(Store("sqlite", str(tmp / "intake.db")), tmp, "SQLite")
    bindir = find_bin()
    if bindir is None:
        print("  PostgreSQL: skipped, no initdb found (install it with .ci/postgres.sh)")
    else:
        with cluster(bindir, durable=True) as pg:
            figures += intake(Store("postgres", pg.new_database()), tmp, "PostgreSQL")
    figures += end_to_end(tmp)
    return figures
