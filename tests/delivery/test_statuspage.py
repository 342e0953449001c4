"""The Statuspage channel against a fake that checks every request with the published spec."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pydantic import ValidationError

from tests.delivery.conftest import (
    PAGE,
    SP_KEY,
    Clock,
    statuspage_channel,
)
from tests.delivery.driver import Driver, Incident
from tests.delivery.fakes import Scripted, StatuspageFake
from warroom.core.commands import AddNote, ChangeSeverity, ChangeStatus, Declare, PostUpdate
from warroom.delivery.channel import REDACTED, DeliveryError
from warroom.delivery.remote import KeyPacer, OutcomeUnknown
from warroom.delivery.statuspage import CONFIG, build

INVESTIGATING = (
    "Investigating: We are investigating reports of failed checkouts. Some customers may be"
    " experiencing errors at payment. We will provide updates as we learn more."
)


def declared(severity: str = "SEV1", components: tuple[str, ...] = ("checkout", "api")) -> Incident:
    incident = Incident()
    incident.run(
        Declare(
            title="Checkout failing", severity=severity, components=components, commander="alice"
        )
    )
    return incident


def post(incident: Incident, phase: str, body: str, minutes: int = 5) -> list:
    return incident.run(
        PostUpdate(body=body, audience="status-page", template=f"statuspage-{phase}"),
        after=timedelta(minutes=minutes),
    )


def test_first_post_creates_the_incident_later_ones_patch_it(
    statuspage: StatuspageFake, pacer: KeyPacer
) -> None:
    channel = statuspage_channel(statuspage, pacer)
    driver = Driver([channel])
    incident = declared()
    assert driver.deliver(incident.events, incident.state) == []  # declaring is not public

    [(_, first)] = driver.deliver(post(incident, "investigating", INVESTIGATING), incident.state)
    [remote] = statuspage.incidents.values()
    assert first.ref == remote["id"] and first.permalink == remote["shortlink"]
    assert remote["name"] == "Checkout failing"
    assert remote["status"] == "investigating"
    assert remote["impact_override"] == "critical"
    assert remote["incident_updates"][0]["body"] == INVESTIGATING
    assert remote["metadata"]["warroom"]["incident"] == incident.incident_id
    assert statuspage.component_status == {
        "8kbf7d35c070": "major_outage",
        "vtnh60py4yd7": "major_outage",
        "zz9x1y2w3v4u": "operational",
    }
    seen = statuspage.seen[-1]
    assert (seen.method, seen.path) == ("POST", f"/v1/pages/{PAGE}/incidents")
    assert seen.headers["authorization"] == f"OAuth {SP_KEY}"
    assert seen.json["incident"]["component_ids"] == ["8kbf7d35c070", "vtnh60py4yd7"]

    for phase, body in [
        ("identified", "Identified: We have identified the issue affecting checkout."),
        ("monitoring", "Monitoring: A fix has been deployed and we are monitoring the results."),
    ]:
        [(_, done)] = driver.deliver(post(incident, phase, body), incident.state)
        assert done.ref == first.ref
        assert statuspage.seen[-1].method == "PATCH"
        assert statuspage.incidents[first.ref]["status"] == phase
        assert statuspage.incidents[first.ref]["incident_updates"][0]["body"] == body
    assert len(statuspage.incidents) == 1
    assert statuspage.component_status["8kbf7d35c070"] == "major_outage"

    resolved = "Resolved: The issue affecting checkout has been resolved."
    driver.deliver(post(incident, "resolved", resolved), incident.state)
    remote = statuspage.incidents[first.ref]
    assert remote["status"] == "resolved" and "resolved_at" in remote
    assert set(statuspage.component_status.values()) == {"operational"}
    assert [u["status"] for u in remote["incident_updates"]] == [
        "resolved",
        "monitoring",
        "identified",
        "investigating",
    ]

    # resolving in warroom afterwards sends nothing more: the Statuspage incident is resolved
    count = len(statuspage.seen)
    [(_, last)] = driver.deliver(incident.run(ChangeStatus(status="resolved")), incident.state)
    assert len(statuspage.seen) == count and last.ref == first.ref


def test_resolving_without_a_resolved_post_resolves_it_and_frees_the_components(
    statuspage: StatuspageFake, pacer: KeyPacer
) -> None:
    driver = Driver([statuspage_channel(statuspage, pacer)])
    incident = declared("SEV2", ("search",))
    [(_, first)] = driver.deliver(post(incident, "investigating", INVESTIGATING), incident.state)
    assert statuspage.component_status["zz9x1y2w3v4u"] == "partial_outage"
    assert statuspage.incidents[first.ref]["impact_override"] == "major"
    driver.deliver(incident.run(ChangeStatus(status="resolved")), incident.state)
    patch = statuspage.seen[-1].json["incident"]
    assert patch["status"] == "resolved" and "body" not in patch
    assert statuspage.incidents[first.ref]["status"] == "resolved"
    assert statuspage.component_status["zz9x1y2w3v4u"] == "operational"


def test_lifecycle_events_before_any_post_send_nothing(
    statuspage: StatuspageFake, pacer: KeyPacer
) -> None:
    channel = statuspage_channel(statuspage, pacer, on=["severity", "status", "resolved"])
    driver = Driver([channel])
    incident = declared("SEV3")
    driver.deliver(incident.run(ChangeSeverity(severity="SEV1")), incident.state)
    driver.deliver(incident.run(ChangeStatus(status="resolved")), incident.state)
    assert statuspage.seen == [] and statuspage.incidents == {}


def test_a_raised_severity_updates_impact_and_components(
    statuspage: StatuspageFake, pacer: KeyPacer
) -> None:
    driver = Driver([statuspage_channel(statuspage, pacer, on=["severity", "resolved"])])
    incident = declared("SEV3", ("checkout",))
    [(_, first)] = driver.deliver(post(incident, "investigating", INVESTIGATING), incident.state)
    assert statuspage.component_status["8kbf7d35c070"] == "degraded_performance"
    driver.deliver(incident.run(ChangeSeverity(severity="SEV1")), incident.state)
    assert statuspage.incidents[first.ref]["impact_override"] == "critical"
    assert statuspage.component_status["8kbf7d35c070"] == "major_outage"


def test_internal_words_never_reach_statuspage(statuspage: StatuspageFake, pacer: KeyPacer) -> None:
    """Only status-page posts are carried; a note or an internal update with a secret is
    never sent, and the API key shows in no dry-run request."""
    secret = "db-password=hunter2-SECRET"
    channel = statuspage_channel(statuspage, pacer)
    driver = Driver([channel])
    incident = declared()
    events = [
        *incident.run(AddNote(text=f"creds: {secret}")),
        *incident.run(PostUpdate(body=f"internal: {secret}", audience="internal")),
        *incident.run(PostUpdate(body=f"stakeholders: {secret}", audience="stakeholders")),
        *post(incident, "investigating", INVESTIGATING),
    ]
    assert [channel.carries(e) for e in events] == [False, False, False, True]
    driver.deliver(events, incident.state)
    assert len(statuspage.seen) == 1
    assert all(secret not in text for text in statuspage.bodies())
    dry = channel.requests(driver.outgoing(channel, events[-1], incident.state))
    assert dry[0].headers["Authorization"] == f"OAuth {REDACTED}"
    assert SP_KEY not in json.dumps([d.__dict__ for d in dry], default=str)


def test_the_dry_run_shows_exactly_what_is_sent(
    statuspage: StatuspageFake, pacer: KeyPacer
) -> None:
    channel = statuspage_channel(statuspage, pacer)
    driver = Driver([channel])
    incident = declared()
    [event] = post(incident, "investigating", '<script>alert(1)</script> **bold** & "quotes"')
    [shown] = channel.requests(driver.outgoing(channel, event, incident.state))
    driver.deliver([event], incident.state)
    sent = statuspage.seen[-1]
    assert (shown.method, shown.url) == (sent.method, f"{statuspage.url}/pages/{PAGE}/incidents")
    assert json.loads(shown.body) == sent.json  # byte-for-byte the body, text left as typed
    assert sent.json["incident"]["body"] == '<script>alert(1)</script> **bold** & "quotes"'


def test_rate_limits_hold_the_key_back(
    statuspage: StatuspageFake, clock: Clock, pacer: KeyPacer
) -> None:
    """420 and 429 are retried after the wait asked (Retry-After, else a second), and every
    channel sharing the key waits that long; requests are paced one a second per key."""
    channel = statuspage_channel(statuspage, pacer)
    sibling = statuspage_channel(statuspage, pacer, name="status-2")
    driver = Driver([channel])
    incident = declared()
    [event] = post(incident, "investigating", INVESTIGATING)
    statuspage.then(Scripted(429, {"Retry-After": "7"}, {"message": "Rate limit"}))
    with pytest.raises(DeliveryError) as caught:
        driver.deliver([event], incident.state)
    assert caught.value.retry and caught.value.after == 7
    statuspage.then(Scripted(420, {}, {"message": "Enhance your calm"}))
    start = clock.now
    with pytest.raises(DeliveryError) as caught:
        Driver([sibling]).deliver([event], incident.state)  # same key: waits the 7 s first
    assert clock.now - start == pytest.approx(7)
    assert caught.value.retry and caught.value.after == 1.0
    start = clock.now
    driver.deliver([event], incident.state)
    assert clock.now - start == pytest.approx(1.0)
    [(_, second)] = driver.deliver(
        post(incident, "identified", "Identified: found it."), incident.state
    )
    assert clock.slept[-1] == pytest.approx(1.0)  # one request a second
    assert len(statuspage.incidents) == 1 and second.ref in statuspage.incidents


def test_a_create_whose_answer_was_lost_is_found_not_made_twice(
    statuspage: StatuspageFake, pacer: KeyPacer
) -> None:
    channel = statuspage_channel(statuspage, pacer)
    driver = Driver([channel])
    incident = declared()
    [event] = post(incident, "investigating", INVESTIGATING)
    statuspage.then(Scripted(502, {}, {"message": "Bad gateway"}, apply=True))
    with pytest.raises(OutcomeUnknown):
        driver.deliver([event], incident.state)
    assert len(statuspage.incidents) == 1
    [(_, found)] = driver.deliver([event], incident.state)  # the retry looks first
    assert len(statuspage.incidents) == 1
    assert found.ref in statuspage.incidents
    assert [s.method for s in statuspage.seen] == ["POST", "GET"]
    # the engine's own check after a crash gives the same answer
    out = driver.outgoing(channel, event, incident.state)
    fresh = statuspage_channel(statuspage, pacer)
    assert fresh.find(Driver([fresh]).outgoing(fresh, event, incident.state)).ref == found.ref  # type: ignore[union-attr]
    assert out.previous == (found,)


def test_a_hung_create_is_checked_then_sent(statuspage: StatuspageFake, pacer: KeyPacer) -> None:
    channel = statuspage_channel(statuspage, pacer)
    driver = Driver([channel])
    incident = declared()
    [event] = post(incident, "investigating", INVESTIGATING)
    statuspage.then(Scripted(hang=True))
    with pytest.raises(OutcomeUnknown) as caught:
        driver.deliver([event], incident.state)
    assert "no answer in time" in caught.value.reason
    driver.deliver([event], incident.state)
    assert len(statuspage.incidents) == 1
    assert [s.method for s in statuspage.seen] == ["POST", "GET", "POST"]


def test_a_patch_whose_answer_was_lost_is_found_by_its_marker(
    statuspage: StatuspageFake, pacer: KeyPacer
) -> None:
    channel = statuspage_channel(statuspage, pacer)
    driver = Driver([channel])
    incident = declared()
    [(_, first)] = driver.deliver(post(incident, "investigating", INVESTIGATING), incident.state)
    [event] = post(incident, "identified", "Identified: the cause is known.")
    statuspage.then(Scripted(500, {}, {"message": "oops"}, apply=True))
    with pytest.raises(OutcomeUnknown):
        driver.deliver([event], incident.state)
    driver.deliver([event], incident.state)
    assert len(statuspage.incidents[first.ref]["incident_updates"]) == 2  # not three
    # a PATCH that did not land is not found: it is sent
    [lost] = post(incident, "monitoring", "Monitoring: fix deployed.")
    assert channel.find(driver.outgoing(channel, lost, incident.state)) is None


def test_a_resolved_create_is_found_among_resolved_incidents(
    statuspage: StatuspageFake, pacer: KeyPacer
) -> None:
    channel = statuspage_channel(statuspage, pacer)
    driver = Driver([channel])
    incident = declared()
    [event] = post(incident, "resolved", "Resolved: a short blip, all fine now.")
    statuspage.then(Scripted(503, {}, {"message": "unavailable"}, apply=True))
    with pytest.raises(OutcomeUnknown):
        driver.deliver([event], incident.state)
    [(_, found)] = driver.deliver([event], incident.state)
    assert len(statuspage.incidents) == 1 and found.ref in statuspage.incidents
    assert statuspage.seen[-1].query[0] == ("q", "Checkout failing")


def test_refusals_are_permanent_and_say_why_without_the_key(
    statuspage: StatuspageFake, pacer: KeyPacer
) -> None:
    wrong = statuspage_channel(statuspage, pacer, api_key="not-the-key-123")
    incident = declared()
    [event] = post(incident, "investigating", INVESTIGATING)
    with pytest.raises(DeliveryError) as caught:
        Driver([wrong]).deliver([event], incident.state)
    assert not caught.value.retry
    assert "401 Could not authenticate" in caught.value.reason
    assert "not-the-key-123" not in caught.value.reason
    assert "not-the-key-123" not in wrong.health()
    assert statuspage.incidents == {}


def test_test_reads_the_page(statuspage: StatuspageFake, pacer: KeyPacer) -> None:
    result = statuspage_channel(statuspage, pacer).test()
    assert result.ref == PAGE and statuspage.seen[-1].method == "GET"
    assert statuspage.incidents == {}


def test_config_is_checked() -> None:
    base = {"kind": "statuspage", "page_id": PAGE}
    with pytest.raises(ValidationError, match="api_key or api_key_env"):
        CONFIG.model_validate(base)
    with pytest.raises(ValidationError, match="public"):
        CONFIG.model_validate({**base, "api_key": "k", "audiences": ["internal"]})
    with pytest.raises(ValidationError, match="not shown on a Statuspage"):
        CONFIG.model_validate({**base, "api_key": "k", "on": ["declared"]})
    with pytest.raises(ValidationError, match="extra"):
        CONFIG.model_validate({**base, "api_key": "k", "componets": {}})
    with pytest.raises(ValidationError, match="not both"):
        CONFIG.model_validate({**base, "api_key": "k", "api_key_env": "X"})
    config = CONFIG.model_validate({**base, "api_key_env": "WARROOM_TEST_SP_KEY"})
    channel = build("status", config)  # a dry run needs no key: it is read when sending
    incident = declared()
    [event] = post(incident, "investigating", INVESTIGATING)
    out = Driver([channel]).outgoing(channel, event, incident.state)
    assert channel.requests(out)[0].method == "POST"
    with pytest.raises(DeliveryError, match="WARROOM_TEST_SP_KEY is not set") as caught:
        channel.send(out)
    assert not caught.value.retry
    assert "k-secret" not in repr(CONFIG.model_validate({**base, "api_key": "k-secret"}))
