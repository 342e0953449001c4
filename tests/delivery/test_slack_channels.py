"""Slack: the incident's own channel (#incident-YYYY-MM-DD-slug), and the config's checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from tests.delivery.events import Incident
from tests.delivery.slack_fake import SlackFake
from warroom.core.export.markdown import channel_name
from warroom.core.state import project
from warroom.delivery import slack
from warroom.delivery.slack import SlackChannel, SlackConfig


def _name(incident: Incident) -> str:
    from datetime import UTC

    return channel_name(project(incident.events), UTC).lstrip("#")


def test_the_incident_gets_its_own_channel_with_the_thread_in_it(
    slack: SlackFake, incidents_channel: str, make_slack: Callable[..., SlackChannel]
) -> None:
    channel = make_slack(channel=None, create_channel=True, invite=["U0ALICE1", "U0BOB001"])
    incident = Incident()
    declared = incident.declare("Payments API outage!")
    planned = channel.requests(incident.out(declared))
    assert [r.url.rsplit("/", 1)[1] for r in planned] == [
        "conversations.create",
        "chat.postMessage",
    ]
    root = channel.send(incident.out(declared))

    name = _name(incident)
    assert name.startswith("incident-") and name.endswith("-payments-api-outage")
    [created] = [c for c in slack.channels.values() if c["name"] == name]
    assert root.extra["channel"] == created["id"]
    assert created["members"] == ["U0ALICE1", "U0BOB001"]
    assert (
        planned[0].body
        == slack.calls_to("conversations.create")[0].body
        == f"name={name}&is_private=0"
    )
    reply = channel.send(incident.out(incident.update("Investigating."), (root,)))
    assert [m["ts"] for m in slack.posted(created["id"])] == [root.ref, reply.ref]
    assert slack.posted(incidents_channel) == []


def test_a_channel_of_that_name_is_joined_not_duplicated(
    slack: SlackFake, make_slack: Callable[..., SlackChannel]
) -> None:
    incident = Incident()
    declared = incident.declare("DB failover")
    name = _name(incident)
    made_by_hand = slack.add_channel(name, member=False)
    root = make_slack(channel=None, create_channel=True).send(incident.out(declared))
    assert root.extra["channel"] == made_by_hand
    assert [c.method for c in slack.calls][:3] == [
        "conversations.create",
        "conversations.list",
        "conversations.join",
    ]
    assert len(slack.posted(made_by_hand)) == 1


def test_an_archived_namesake_means_a_numbered_channel(
    slack: SlackFake, make_slack: Callable[..., SlackChannel]
) -> None:
    incident = Incident()
    declared = incident.declare("DB failover")
    name = _name(incident)
    slack.add_channel(name, archived=True)
    root = make_slack(channel=None, create_channel=True).send(incident.out(declared))
    assert slack.channels[root.extra["channel"]]["name"] == f"{name}-2"


@pytest.mark.parametrize("configured", [False, True], ids=["no-channel", "with-channel"])
def test_a_root_lost_mid_request_is_found_in_the_created_channel(
    slack: SlackFake,
    incidents_channel: str,
    make_slack: Callable[..., SlackChannel],
    configured: bool,
) -> None:
    from tests.delivery.slack_fake import Fault

    where = incidents_channel if configured else None
    channel = make_slack(channel=where, create_channel=True)
    incident = Incident()
    out = incident.out(incident.declare("Queue backlog"))
    slack.fail("chat.postMessage", Fault.after_commit(Fault.http(504)))
    with pytest.raises(slack_error()):
        channel.send(out)
    found = make_slack(channel=where, create_channel=True).find(out)
    assert found is not None
    again = channel.send(out)
    assert again.ref == found.ref
    assert sum(len(slack.posted(c)) for c in slack.channels) == 1
    assert len(slack.calls_to("conversations.create")) == 1  # the retry never created another


def slack_error() -> type[Exception]:
    from warroom.delivery.channel import DeliveryError

    return DeliveryError


def _config(**keys: Any) -> SlackConfig:
    data = {"kind": "slack", "channel": "C0123ABCD", "token": "xoxb-1"}
    data.update(keys)
    return SlackConfig.model_validate({k: v for k, v in data.items() if v is not None})


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"channel": "#incidents"}, "use the channel's ID"),
        ({"channel": "incidents"}, "use the channel's ID"),
        ({"channel": None}, "channel is required (or create_channel = true)"),
        ({"token": None}, "token or token_env is required"),
        ({"token_env": "SLACK_TOKEN"}, "give token or token_env, not both"),
        ({"token": None, "token_env": "not a name"}, "token_env"),
        ({"api_url": "not a url"}, "api_url"),
        ({"audiences": ["everyone"]}, "audiences"),
        ({"on": ["tuesday"]}, "on"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"timeout": 0}, "timeout"),
        ({"invite": ["alice"]}, "invite"),
        ({"chanel": "C0123ABCD"}, "chanel"),
    ],
)
def test_a_bad_config_says_which_key(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as bad:
        _config(**keys)
    assert message in str(bad.value)


def test_the_registry_entry_points() -> None:
    token = "xoxb-do-not-show-me"
    config = slack.CONFIG.model_validate({"kind": "slack", "channel": "C0123ABCD", "token": token})
    channel = slack.build("war-room", config)
    assert (channel.name, channel.kind, channel.pace) == ("war-room", "slack", 1.0)
    assert channel.audiences == frozenset({"internal"})
    assert channel.on == frozenset({"declared", "severity", "status", "resolved"})
    assert token not in repr(config) + str(config.model_dump()) + config.model_dump_json()
    assert channel.health() == "configured"
