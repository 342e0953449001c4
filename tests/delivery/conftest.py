"""Fixtures for the channel kinds: a Slack API fake and a real SMTP server on 127.0.0.1;
fakes of Statuspage and PagerDuty validated against the specs in shared/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.delivery.fakes import PagerDutyFake, StatuspageFake
from tests.delivery.slack_fake import SlackFake
from tests.delivery.specs import PAGERDUTY, STATUSPAGE, spec_path
from warroom.delivery.pagerduty import CONFIG as PD_CONFIG
from warroom.delivery.pagerduty import PagerDutyChannel
from warroom.delivery.remote import KeyPacer
from warroom.delivery.slack import SlackChannel, SlackConfig
from warroom.delivery.statuspage import CONFIG as SP_CONFIG
from warroom.delivery.statuspage import StatuspageChannel

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


# -- Statuspage and PagerDuty ------------------------------------------------------------

SP_KEY = "sp-key-4f1c0a9e7d"
PD_KEY = "pd-routing-9b2e77c1"
PAGE = "kctbh9vrtdwd"
COMPONENTS = {"8kbf7d35c070": "Checkout", "vtnh60py4yd7": "Public API", "zz9x1y2w3v4u": "Search"}
MAPPING = {"checkout": "8kbf7d35c070", "api": "vtnh60py4yd7", "search": "zz9x1y2w3v4u"}
TIMEOUT = 5.0
"""The channels' client timeout: how long a hung fake is waited for."""


class Clock:
    """Monotonic time that moves only when the pacer sleeps: pacing is measured, not waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pacer(clock: Clock) -> KeyPacer:
    return KeyPacer(clock, clock.sleep)


@pytest.fixture
def statuspage() -> Iterator[StatuspageFake]:
    with StatuspageFake(
        spec_path(STATUSPAGE), page_id=PAGE, key=SP_KEY, components=COMPONENTS
    ) as fake:
        yield fake
    assert fake.problems == [], fake.problems


@pytest.fixture
def pagerduty() -> Iterator[PagerDutyFake]:
    with PagerDutyFake(spec_path(PAGERDUTY), routing_key=PD_KEY) as fake:
        yield fake
    assert fake.problems == [], fake.problems


def statuspage_channel(
    fake: StatuspageFake, pacer: KeyPacer, name: str = "status", **config: object
) -> StatuspageChannel:
    settings = SP_CONFIG.model_validate(
        {
            "kind": "statuspage",
            "api_url": fake.url,
            "page_id": PAGE,
            "api_key": SP_KEY,
            "components": MAPPING,
            **config,
        }
    )
    return StatuspageChannel(name, settings, client=httpx.Client(timeout=TIMEOUT), pacer=pacer)


def pagerduty_channel(
    fake: PagerDutyFake, pacer: KeyPacer, name: str = "oncall", **config: object
) -> PagerDutyChannel:
    settings = PD_CONFIG.model_validate(
        {"kind": "pagerduty", "events_url": fake.url, "routing_key": PD_KEY, **config}
    )
    return PagerDutyChannel(name, settings, client=httpx.Client(timeout=TIMEOUT), pacer=pacer)
