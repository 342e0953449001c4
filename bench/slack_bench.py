"""Slack: the time from posting an update in one console to the Slack fake receiving it.

The update is recorded as the console's writer records it (the local event log, SQLite with
fsync on) and the writer's poke follows; then either this machine delivers it (no server:
the console's own deliverer) or sync pushes it to `warroom serve`, which delivers it. The
channel is warroom's real Slack channel (slack_sdk's WebClient) against the tests' Slack fake
on 127.0.0.1; each update after the first is a thread reply, so one delivery is three calls
(`chat.update` of the root, `chat.postMessage`, `chat.getPermalink`), as in an incident.
Measured up to the arrival of the reply's `chat.postMessage` at the fake.

Pace 0: updates are posted one after another here, while Slack's one-per-second pace only
matters for updates less than a second apart (the drain figure in `delivery_bench` covers
pacing). Baseline from the same run: a bare `chat.postMessage` through slack_sdk to the fake.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from slack_sdk import WebClient
from tests.delivery.slack_fake import SlackFake
from tests.sync.servers import ServerProcess, Store
from tests.waiting import wait_until

from bench.report import Figure, percentile, section
from warroom.core.backoff import Backoff
from warroom.core.commands import Declare, PostUpdate
from warroom.core.ids import new_id
from warroom.delivery.config import build
from warroom.delivery.engine import Timing
from warroom.store import EventLog
from warroom.sync.engine import Syncer

N_UPDATES = 60
GOAL_MS = 1000.0


def table(slack: SlackFake, channel: str) -> dict[str, object]:
    return {
        "kind": "slack",
        "channel": channel,
        "token": slack.token,
        "api_url": slack.url,
        "audiences": ["internal"],
        "on": [],
        "pace": 0,
    }


def bare(slack: SlackFake, channel: str, n: int = 100) -> list[float]:
    """The floor: chat.postMessage straight to the fake through slack_sdk."""
    client = WebClient(token=slack.token, base_url=slack.url)
    times = []
    for i in range(n):
        start = time.perf_counter()
        client.chat_postMessage(channel=channel, text=f"bare {i}")
        times.append(time.perf_counter() - start)
    return times


def measure(
    slack: SlackFake, log: EventLog, incident: str, poke: Callable[[], None]
) -> list[float]:
    """One update at a time, as a console posts them; seconds from record to arrival."""
    latencies = []
    for i in range(N_UPDATES + 1):
        recorded = time.time()
        event_id = log.execute(incident, [PostUpdate(body=f"bench update {i}")], "bench")[0].id
        poke()

        def arrived(key: str = event_id) -> float | None:
            for call in slack.calls_to("chat.postMessage"):
                meta = call.args.get("metadata") or {}
                if call.answer.get("ok") and meta.get("event_payload", {}).get("event_id") == key:
                    return call.at
            return None

        at = wait_until(arrived, "the Slack fake to receive the update", timeout=30)
        if i:  # the first is the thread's root; the rest are replies, as in an incident
            latencies.append(at - recorded)
    return latencies


def local(tmp: Path, slack: SlackFake, channel: str) -> list[float]:
    """No server: the console's own deliverer sends it."""
    from warroom.delivery.local import Deliverer

    db = tmp / "slack-local.db"
    with EventLog(db) as log:
        incident = new_id()
        log.execute(incident, [Declare(title="bench", severity="SEV2")], "bench")
        timing = Timing(lease=30, poll=1.0, backoff=Backoff(0.1, 1))
        deliverer = Deliverer(db, [build("slack", table(slack, channel))], timing)
        deliverer.start()
        try:
            return measure(slack, log, incident, deliverer.poke)
        finally:
            deliverer.stop()


def via_server(tmp: Path, slack: SlackFake, channel: str) -> list[float]:
    """Sync pushes it; `warroom serve` (holding the channel config) delivers it."""
    config = tmp / "slack-server.toml"
    lines = [f"{k} = {_toml(v)}" for k, v in table(slack, channel).items()]
    config.write_text("[channels.slack]\n" + "\n".join(lines) + '\n\n[delivery]\npoll = "1s"\n')
    saved = os.environ.get("WARROOM_CONFIG")
    os.environ["WARROOM_CONFIG"] = str(config)
    server = ServerProcess(Store("sqlite", str(tmp / "slack-server.db")), tmp)
    try:
        server.start()
        token = server.store.token("bench")
        with EventLog(tmp / "slack-client.db") as log:
            incident = new_id()
            log.execute(incident, [Declare(title="bench", severity="SEV2")], "bench")
            syncer = Syncer(log, server.url, token)
            syncer.start()
            try:
                return measure(slack, log, incident, syncer.poke)
            finally:
                syncer.stop()
    finally:
        server.stop()
        if saved is None:
            os.environ.pop("WARROOM_CONFIG", None)
        else:
            os.environ["WARROOM_CONFIG"] = saved


def _toml(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def run() -> list[Figure]:
    tmp = Path(tempfile.mkdtemp(prefix="warroom-slack-bench-"))
    section(
        f"Slack: update posted in a console -> the Slack fake receives it ({N_UPDATES} thread"
        " replies, each chat.update + chat.postMessage + chat.getPermalink)"
    )
    slack = SlackFake().start()
    figures = []
    try:
        base = percentile(bare(slack, slack.add_channel("bare")), 50) * 1000
        cases = (
            ("local", local(tmp, slack, slack.add_channel("local"))),
            ("via server", via_server(tmp, slack, slack.add_channel("server"))),
        )
        for label, measured in cases:
            for p, goal in ((50, None), (99, GOAL_MS)):
                value = percentile(measured, p) * 1000
                figures.append(
                    Figure(
                        f"update -> Slack fake p{p} ({label})",
                        value,
                        "ms",
                        "bare chat.postMessage p50",
                        base,
                        f"<= {goal:g} ms" if goal else "",
                        value <= goal if goal else None,
                    )
                )
                print(figures[-1].line())
        if slack.violations:
            print(f"  Slack contract violations: {slack.violations[:3]}")
    finally:
        slack.stop()
    return figures
