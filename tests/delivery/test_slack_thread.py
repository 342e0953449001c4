"""Slack: a thread per incident, its root kept current, the dry run equal to what is sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.delivery.events import Incident
from tests.delivery.slack_fake import TEAM_URL, SlackFake
from warroom.delivery.channel import REDACTED, Delivered
from warroom.delivery.slack import SlackChannel


def _texts(blocks: list[dict[str, Any]]) -> list[str]:
    out = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [f["text"] for f in block.get("fields", [])]
        out += [e["text"] for e in block.get("elements", [])]
    return out


def test_the_first_delivery_is_the_root_and_the_rest_reply_in_its_thread(
    slack: SlackFake, incidents_channel: str, make_slack: Callable[..., SlackChannel]
) -> None:
    channel = make_slack()
    incident = Incident()
    declared = incident.declare("Checkout API down", "SEV2")
    root = channel.send(incident.out(declared, text="Incident declared: Checkout API down"))

    [posted] = slack.posted(incidents_channel)
    assert root.ref == posted["ts"] and root.extra["channel"] == incidents_channel
    assert (
        root.permalink == f"{TEAM_URL}archives/{incidents_channel}/p{posted['ts'].replace('.', '')}"
    )
    assert "thread_ts" not in slack.calls_to("chat.postMessage")[0].args
    assert posted["metadata"]["event_payload"]["event_id"] == declared.id
    assert posted["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Checkout API down", "emoji": True},
    }
    assert "*Severity*\nSEV2 · High" in _texts(posted["blocks"])

    update = incident.update("Rolled back the deploy; error rate falling.")
    sev = incident.add("severity_changed", {"severity": "SEV1", "reason": "all regions"})
    ic = incident.add("role_assigned", {"role": "incident_commander", "person": "carol"})
    resolved = incident.add("status_changed", {"status": "resolved"})
    previous: tuple[Delivered, ...] = (root,)
    for event in (update, sev, ic, resolved):
        previous += (channel.send(incident.out(event, previous)),)

    messages = slack.posted(incidents_channel)
    replies = messages[1:]
    assert [m["thread_ts"] for m in replies] == [root.ref] * 4
    assert [m["metadata"]["event_payload"]["event_id"] for m in replies] == [
        e.id for e in (update, sev, ic, resolved)
    ]
    # severity changes and the resolution are shown in the channel too
    assert [m.get("subtype") for m in replies] == [
        None,
        "thread_broadcast",
        None,
        "thread_broadcast",
    ]
    assert [d.extra["thread_ts"] for d in previous[1:]] == [root.ref] * 4

    # the root was rewritten before each reply, and now shows where the incident stands
    assert len(slack.calls_to("chat.update")) == 4
    card = _texts(messages[0]["blocks"])
    assert "*Severity*\nSEV1 · Critical" in card
    assert "*Status*\nResolved" in card
    assert "*Incident Commander*\ncarol" in card
    assert "*Next update*\n— (resolved)" in card
    assert "Incident declared: Checkout API down" in card  # the announcement stays
    assert messages[0]["edited"]["user"]


def test_the_root_shows_the_next_update_time_in_each_readers_zone(
    slack: SlackFake, incidents_channel: str, make_slack: Callable[..., SlackChannel]
) -> None:
    channel = make_slack()
    incident = Incident()
    declared = incident.declare("Slow search", "SEV2")
    channel.send(incident.out(declared))
    [root] = slack.posted(incidents_channel)
    due = declared.time.timestamp() + 30 * 60  # SEV2: every 30 minutes
    stamp = f"<!date^{int(due)}^{{date_short_pretty}} {{time}}|"
    assert any(t.startswith(f"*Next update*\n{stamp}") for t in _texts(root["blocks"]))


def test_the_dry_run_shows_exactly_what_is_sent_without_the_token(
    slack: SlackFake, incidents_channel: str, make_slack: Callable[..., SlackChannel]
) -> None:
    channel = make_slack()
    incident = Incident()
    declared = incident.declare()
    first = incident.out(declared)
    planned = channel.requests(first)
    root = channel.send(first)
    update = incident.out(incident.update("Fix deployed."), (root,))
    planned += channel.requests(update)
    channel.send(update)

    sent = [c for c in slack.calls if c.method in ("chat.postMessage", "chat.update")]
    assert [r.url for r in planned] == [
        slack.url + "chat.postMessage",
        slack.url + "chat.update",
        slack.url + "chat.postMessage",
    ]
    assert [r.url for r in planned] == [slack.url + c.method for c in sent]
    assert [r.body for r in planned] == [c.body for c in sent]
    assert [json.loads(r.body)["channel"] for r in planned] == [incidents_channel] * 3
    for request in planned:
        assert request.headers["Authorization"] == f"Bearer {REDACTED}"
        assert slack.token not in request.body + json.dumps(dict(request.headers))
    assert all(c.authorization == f"Bearer {slack.token}" for c in slack.calls)


def test_long_updates_are_cut_into_valid_sections_without_splitting_an_entity(
    slack: SlackFake, incidents_channel: str, make_slack: Callable[..., SlackChannel]
) -> None:
    channel = make_slack()
    incident = Incident()
    root = channel.send(incident.out(incident.declare()))
    body = "\n".join(f"line {n}: p99 > 5s & rising <sigh>" for n in range(400))
    channel.send(incident.out(incident.update(body), (root,)))
    reply = slack.posted(incidents_channel)[-1]
    sections = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section"]
    assert len(sections) > 1
    assert all(len(s) <= 3000 for s in sections)
    assert "\n".join(sections) == body.replace("&", "&amp;").replace("<", "&lt;").replace(
        ">", "&gt;"
    )
    assert len(reply["text"]) <= 3000
    assert all(b["text"].get("verbatim") is True for b in reply["blocks"] if b["type"] == "section")


def test_a_root_that_cannot_be_edited_does_not_hold_back_the_reply(
    slack: SlackFake, incidents_channel: str, make_slack: Callable[..., SlackChannel]
) -> None:
    from tests.delivery.slack_fake import Fault

    channel = make_slack()
    incident = Incident()
    root = channel.send(incident.out(incident.declare()))
    slack.fail("chat.update", Fault.error("cant_update_message"))
    channel.send(incident.out(incident.update("still posted"), (root,)))
    assert slack.posted(incidents_channel)[-1]["text"] == "still posted"

    # but a root update that may succeed later is retried first, reply and all
    slack.fail("chat.update", Fault.http(503))
    later = incident.out(incident.update("after the 503"), (root,))
    import pytest

    from warroom.delivery.channel import DeliveryError

    with pytest.raises(DeliveryError) as failed:
        channel.send(later)
    assert failed.value.retry
    assert len(slack.posted(incidents_channel)) == 2
    channel.send(later)
    assert [m["text"] for m in slack.posted(incidents_channel)][-1] == "after the 503"
