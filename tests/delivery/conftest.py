"""Fixtures for the channel kinds: a Slack API fake and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.delivery.slack_fake import SlackFake
from warroom.delivery.slack import SlackChannel, SlackConfig

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def slack() -> Iterator[SlackFake]:
    fake = SlackFake().start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.violations == [], fake.violations


@pytest.fixture
def incidents_channel(slack: SlackFake) -> str:
    return slack.add_channel("incidents")


@pytest.fixture
def make_slack(slack: SlackFake, incidents_channel: str) -> Callable[..., SlackChannel]:
    def make(name: str = "war-room", **keys: Any) -> SlackChannel:
        data: dict[str, Any] = {
            "kind": "slack",
            "channel": incidents_channel,
            "token": slack.token,
            "api_url": slack.url,
            "on": ["declared", "severity", "status", "roles", "resolved"],
            "audiences": ["internal", "stakeholders"],
        }
        data.update(keys)
        data = {k: v for k, v in data.items() if v is not None}
        return SlackChannel(name, SlackConfig.model_validate(data), now=lambda: NOW)

    return make
