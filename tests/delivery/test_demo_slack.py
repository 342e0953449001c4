"""The demo's Slack receiver (`warroom.demo_slack`), run as `make demo` runs it: a process on
127.0.0.1 that warroom's real Slack channel, built from the demo's own server config,
delivers to; its threads survive a restart (the demo's "Slack is down"), an unknown outcome is
found by its metadata, and its page shows outside text escaped."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.delivery.events import Incident
from tests.sync.pgcluster import free_port
from tests.waiting import wait_until
from warroom.delivery.channel import DeliveryError
from warroom.delivery.config import channel_tables, load_channels
from warroom.delivery.slack import SlackChannel
from warroom.demo_runner import SLACK_CHANNEL, server_config
from warroom.demo_slack import TOKEN_ENV

TOKEN = "xoxb-demo-test-0123456789"


class DemoSlack:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = tmp_path / "slack.json"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DemoSlack:
        args = ["--port", str(self.port), "--channel", SLACK_CHANNEL, "--state", str(self.state)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "warroom.demo_slack", *args],
            env={**os.environ, TOKEN_ENV: TOKEN},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._up, "the demo's Slack receiver", timeout=30)
        return self

    def _up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> str:
        """Stopped (its output returned)."""
        assert self.proc is not None
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        self.proc = None
        return out.decode()

    def page(self) -> str:
        return httpx.get(f"{self.url}/", timeout=5).text


@pytest.fixture
def demo_slack(tmp_path: Path) -> Iterator[DemoSlack]:
    receiver = DemoSlack(tmp_path).start()
    yield receiver
    if receiver.proc is not None:
        receiver.stop()


@pytest.fixture
def channel(demo_slack: DemoSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SlackChannel:
    """The channel exactly as the demo's server builds it from its config."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    path = server_config(demo_slack.url, tmp_path)
    assert TOKEN not in path.read_text()  # the token stays in the environment
    [built] = load_channels(channel_tables(path))
    assert isinstance(built, SlackChannel)
    return built


def test_the_demo_server_config_delivers_a_thread_to_the_receiver(
    demo_slack: DemoSlack, channel: SlackChannel
) -> None:
    incident = Incident()
    declared = incident.declare("Checkout failing", "SEV2")
    root = channel.send(incident.out(declared, text="Incident declared: Checkout failing"))
    update = incident.update("<script>alert(1)</script> rolled back")
    reply = channel.send(incident.out(update, (root,)))
    assert reply.extra["thread_ts"] == root.ref
    assert root.permalink.startswith("https://warroom-demo.slack.com/archives/C0DEMO0001/p")

    page = demo_slack.page()
    assert "Checkout failing" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; rolled back" in page
    assert "<script>" not in page
    assert channel.test().ref  # `warroom channels test` works against it too

    # down and up again: the thread is still there, and replies go on in it
    log = demo_slack.stop()
    assert f"#incidents message {root.ref}" in log and f"#incidents reply {reply.ref}" in log
    assert TOKEN not in log
    demo_slack.start()
    again = incident.update("error rate back to normal")
    third = channel.send(incident.out(again, (root, reply)))
    assert third.extra["thread_ts"] == root.ref
    # an attempt whose answer was lost is found by its metadata, not sent twice
    assert channel.find(incident.out(again, (root, reply))) is not None
    assert channel.find(incident.out(incident.update("never sent"), (root,))) is None


def test_a_wrong_token_is_refused_as_slack_does(demo_slack: DemoSlack) -> None:
    answer = httpx.post(
        f"{demo_slack.url}/api/chat.postMessage",
        json={"channel": SLACK_CHANNEL, "text": "hi"},
        headers={"Authorization": "Bearer xoxb-wrong"},
    )
    assert answer.status_code == 200 and answer.json() == {"ok": False, "error": "invalid_auth"}
    answer = httpx.post(
        f"{demo_slack.url}/api/chat.postMessage",
        json={"channel": "C0NOTHERE", "text": "hi"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.json() == {"ok": False, "error": "channel_not_found"}


def test_its_outage_button_makes_warroom_retry_until_it_is_back(
    demo_slack: DemoSlack, channel: SlackChannel
) -> None:
    incident = Incident()
    declared = incident.declare("Checkout failing", "SEV2")
    down = httpx.post(f"{demo_slack.url}/outage?seconds=60", follow_redirects=True)
    assert down.status_code == 200 and "Bring it back" in down.text
    with pytest.raises(DeliveryError) as refused:
        channel.send(incident.out(declared))
    assert refused.value.retry  # a 503: tried again later, not failed for good
    back = httpx.post(f"{demo_slack.url}/outage?seconds=0", follow_redirects=True)
    assert "Take Slack down" in back.text
    assert channel.send(incident.out(declared)).ref
    assert httpx.post(f"{demo_slack.url}/outage?seconds=x").status_code == 400
