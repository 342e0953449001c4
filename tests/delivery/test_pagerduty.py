"""The PagerDuty channel against a fake that checks every event with the published spec."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from tests.delivery.conftest import PD_KEY, pagerduty_channel
from tests.delivery.driver import Driver, Incident
from tests.delivery.fakes import PagerDutyFake, Scripted
from warroom.core.commands import (
    AddNote,
    ChangeSeverity,
    ChangeStatus,
    Declare,
    Escalate,
    PostUpdate,
    RecordAction,
)
from warroom.core.policy import DEFAULT_POLICY
from warroom.delivery.channel import REDACTED, DeliveryError
from warroom.delivery.pagerduty import CONFIG
from warroom.delivery.remote import KeyPacer, OutcomeUnknown

LINKS = {"status_page": "https://status.example.com/status", "incident": "https://wr.example/i/1"}


def declared(severity: str = "SEV1") -> Incident:
    incident = Incident()
    incident.run(
        Declare(
            title="Checkout failing", severity=severity, components=("checkout",), commander="alice"
        )
    )
    return incident


def test_a_paging_severity_triggers_and_resolution_resolves_with_one_dedup_key(
    pagerduty: PagerDutyFake, pacer: KeyPacer
) -> None:
    channel = pagerduty_channel(pagerduty, pacer)
    driver = Driver([channel], links=LINKS)
    incident = declared("SEV1")
    [(_, paged)] = driver.deliver(incident.events, incident.state)
    trigger = pagerduty.seen[-1].json
    assert pagerduty.seen[-1].path == "/v2/enqueue"
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == incident.incident_id == paged.ref
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"] == "[SEV1] Checkout failing"
    assert trigger["payload"]["source"] == "warroom"
    assert {link["href"] for link in trigger["links"]} == set(LINKS.values())
    assert pagerduty.alerts[incident.incident_id]["status"] == "triggered"

    # nothing else of the incident pages anyone
    quiet = [
        *incident.run(AddNote(text="looking at the pods")),
        *incident.run(PostUpdate(body="Investigating: ...", audience="status-page")),
        *incident.run(ChangeStatus(status="identified")),
    ]
    assert not any(channel.carries(e) for e in quiet)

    driver.deliver(
        incident.run(ChangeStatus(status="resolved"), after=timedelta(minutes=40)), incident.state
    )
    resolve = pagerduty.seen[-1].json
    assert resolve == {
        "routing_key": PD_KEY,
        "event_action": "resolve",
        "dedup_key": incident.incident_id,
    }
    assert pagerduty.alerts[incident.incident_id]["status"] == "resolved"
    assert list(pagerduty.alerts) == [incident.incident_id]


@pytest.mark.parametrize(
    ("severity", "mapped"),
    [("SEV1", "critical"), ("SEV2", "error"), ("SEV3", "warning"), ("SEV4", "info")],
)
def test_severities_map_to_pagerduty_severities(
    pagerduty: PagerDutyFake, pacer: KeyPacer, severity: str, mapped: str
) -> None:
    channel = pagerduty_channel(pagerduty, pacer, severities=["SEV1", "SEV2", "SEV3", "SEV4"])
    incident = declared(severity)
    Driver([channel]).deliver(incident.events, incident.state)
    assert pagerduty.seen[-1].json["payload"]["severity"] == mapped


def test_only_paging_severities_page_by_default(pagerduty: PagerDutyFake, pacer: KeyPacer) -> None:
    """001: P0/P1 page on-call, P2 notifies without a page; raising a SEV3 to SEV2 pages."""
    assert [lvl.name for lvl in DEFAULT_POLICY.severities if lvl.pages_on_call] == ["SEV1", "SEV2"]
    channel = pagerduty_channel(pagerduty, pacer)
    driver = Driver([channel])
    incident = declared("SEV3")
    assert driver.deliver(incident.events, incident.state) == []
    # resolving what never paged sends nothing
    low = declared("SEV4")
    [(_, none)] = Driver([channel]).deliver(low.run(ChangeStatus(status="resolved")), low.state)
    assert none.extra["action"] == "none" and pagerduty.seen == []
    driver.deliver(incident.run(ChangeSeverity(severity="SEV2")), incident.state)
    assert pagerduty.seen[-1].json["payload"]["severity"] == "error"
    assert pagerduty.seen[-1].json["dedup_key"] == incident.incident_id


def test_an_escalation_naming_the_channel_pages_through_it(
    pagerduty: PagerDutyFake, pacer: KeyPacer
) -> None:
    backup = pagerduty_channel(pagerduty, pacer, name="pd-backup", on=["resolved"])
    other = pagerduty_channel(pagerduty, pacer, name="pd-managers", on=["resolved"])
    policy = _ladder({2: ("pd-backup",), 3: ("pd-managers",)})
    incident = Incident(policy=policy)
    incident.run(Declare(title="Checkout failing", severity="SEV2", commander="alice"))
    [event] = incident.run(Escalate(level=2, reason="L2 reached at 15m, not mitigated"))
    assert backup.carries(event) and not other.carries(event)
    Driver([backup, other]).deliver([event], incident.state)
    sent = pagerduty.seen[-1].json
    assert sent["event_action"] == "trigger"
    assert sent["payload"]["summary"] == "[SEV2] L2 (Backup on-call, Team Lead): Checkout failing"
    assert sent["payload"]["custom_details"]["reason"] == "L2 reached at 15m, not mitigated"
    assert len(pagerduty.seen) == 1


def test_playbook_actions_are_change_events(pagerduty: PagerDutyFake, pacer: KeyPacer) -> None:
    channel = pagerduty_channel(pagerduty, pacer)
    incident = declared("SEV3")
    [event] = incident.run(
        RecordAction(
            description="Rollout restart of deployment/checkout in shop",
            command="kubectl rollout restart deployment/checkout -n shop",
            result="restarted",
            ok=True,
        )
    )
    [(_, done)] = Driver([channel]).deliver([event], incident.state)
    seen = pagerduty.seen[-1]
    assert seen.path == "/v2/change/enqueue"
    assert (
        seen.json["payload"]["summary"] == "Rollout restart of deployment/checkout in shop (done)"
    )
    assert done.ref == f"change:{event.id}"
    assert len(pagerduty.changes) == 1
    assert not pagerduty_channel(pagerduty, pacer, change_events=False).carries(event)


def test_answers(pagerduty: PagerDutyFake, pacer: KeyPacer) -> None:
    """400 is permanent; 429 waits as asked; 5xx and a hang are retried (the dedup key
    makes a resend harmless, so `find` says send); a change event that may have arrived is
    never resent by itself."""
    channel = pagerduty_channel(pagerduty, pacer)
    driver = Driver([channel])
    incident = declared("SEV1")
    [event] = incident.events[:1]
    out = driver.outgoing(channel, event, incident.state)

    pagerduty.then(
        Scripted(
            400,
            {},
            {"status": "invalid event", "message": "Event object is invalid", "errors": ["bad"]},
        )
    )
    with pytest.raises(DeliveryError) as caught:
        channel.send(out)
    assert not caught.value.retry and "400 Event object is invalid; bad" in caught.value.reason

    pagerduty.then(
        Scripted(429, {"Retry-After": "3"}, {"status": "throttled", "message": "slow down"})
    )
    with pytest.raises(DeliveryError) as caught:
        channel.send(out)
    assert caught.value.retry and caught.value.after == 3

    pagerduty.then(Scripted(500, {}, {"status": "error", "message": "internal"}))
    with pytest.raises(DeliveryError) as caught:
        channel.send(out)
    assert caught.value.retry and not isinstance(caught.value, OutcomeUnknown)

    pagerduty.then(Scripted(hang=True))
    with pytest.raises(DeliveryError) as caught:
        channel.send(out)
    assert caught.value.retry
    assert channel.find(out) is None
    channel.send(out)
    assert pagerduty.alerts[incident.incident_id]["status"] == "triggered"
    assert len(pagerduty.alerts) == 1

    [action] = incident.run(RecordAction(description="Scale deployment/checkout to 6", ok=True))
    change = driver.outgoing(channel, action, incident.state)
    pagerduty.then(Scripted(hang=True))
    with pytest.raises(OutcomeUnknown):
        channel.send(change)
    with pytest.raises(DeliveryError) as caught:
        channel.find(change)
    assert not caught.value.retry and "change event" in caught.value.reason
    assert all(PD_KEY not in r for r in (channel.health(),))


def test_the_routing_key_never_shows(pagerduty: PagerDutyFake, pacer: KeyPacer) -> None:
    channel = pagerduty_channel(pagerduty, pacer)
    incident = declared("SEV1")
    out = Driver([channel]).outgoing(channel, incident.events[0], incident.state)
    [shown] = channel.requests(out)
    assert PD_KEY not in shown.body and f'"routing_key":"{REDACTED}"' in shown.body
    wrong = pagerduty_channel(pagerduty, pacer, routing_key="wrong-routing-key-77")
    with pytest.raises(DeliveryError) as caught:
        wrong.send(out)
    assert "wrong-routing-key-77" not in caught.value.reason
    assert "Invalid routing key" in caught.value.reason


def test_test_sends_a_change_event(pagerduty: PagerDutyFake, pacer: KeyPacer) -> None:
    pagerduty_channel(pagerduty, pacer).test()
    assert pagerduty.seen[-1].path == "/v2/change/enqueue" and pagerduty.alerts == {}


def test_config_is_checked() -> None:
    base = {"kind": "pagerduty"}
    with pytest.raises(ValidationError, match="routing_key or routing_key_env"):
        CONFIG.model_validate(base)
    with pytest.raises(ValidationError, match="no audiences"):
        CONFIG.model_validate({**base, "routing_key": "k", "audiences": ["status-page"]})
    with pytest.raises(ValidationError, match="does not page"):
        CONFIG.model_validate({**base, "routing_key": "k", "on": ["roles"]})
    config = CONFIG.model_validate(
        {**base, "routing_key": "k", "events_url": "https://x/v2/enqueue"}
    )
    assert config.events_url.endswith("/enqueue")


def _ladder(channels: dict[int, tuple[str, ...]]):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    steps = tuple(
        replace(step, channels=channels.get(step.level, ())) for step in DEFAULT_POLICY.escalation
    )
    return replace(DEFAULT_POLICY, escalation=steps)
