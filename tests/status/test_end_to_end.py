"""The whole path as a responder walks it, delivered by the real engine from the responder's
own log (as the console's deliverer and `warroom deliver` do): a SEV1 declared, the
status-page templates posted through identified and monitoring to resolved; after each step
Statuspage (the fake) and the public page (a real `warroom serve`, fed by sync) show the
same phase, PagerDuty got one trigger and one resolve with the incident id as dedup key, and
the timeline holds a `delivery_sent` for every delivery. An internal note with a secret
reaches neither."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, timedelta

from tests.delivery.conftest import (
    COMPONENTS,
    PAGE,
    PD_KEY,
    SP_KEY,
    pagerduty_channel,
    statuspage_channel,
)
from tests.delivery.fakes import PagerDutyFake, StatuspageFake
from tests.delivery.specs import PAGERDUTY, STATUSPAGE, spec_path
from tests.status.conftest import Responder, in_thread
from warroom.core.commands import AddNote, ChangeStatus, PostUpdate
from warroom.core.policy import DEFAULT_POLICY
from warroom.core.state import project
from warroom.core.templates import DEFAULT_TEMPLATES, context
from warroom.delivery.engine import Engine
from warroom.delivery.queue import LocalQueue
from warroom.delivery.remote import KeyPacer
from warroom.sandbox import shared

SECRET = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_declare_post_every_phase_and_resolve(responder: Responder) -> None:
    templates = {t.key: t for t in DEFAULT_TEMPLATES}
    pacer = KeyPacer(lambda: 0.0, lambda _s: None)  # pacing is the channel tests' business
    with (
        StatuspageFake(
            spec_path(STATUSPAGE), page_id=PAGE, key=SP_KEY, components=COMPONENTS
        ) as sp,
        PagerDutyFake(spec_path(PAGERDUTY), routing_key=PD_KEY) as pd,
    ):
        links = {"status_page": f"{responder.server}/status"}
        engine = Engine(
            LocalQueue(responder.log, "delivery"),
            [statuspage_channel(sp, pacer), pagerduty_channel(pd, pacer)],
            links=lambda _state: links,
        )

        def deliver() -> None:
            counts = in_thread(lambda: asyncio.run(engine.once()))
            assert engine.undelivered(counts) == 0, counts

        deliver()  # registers the channels: what is written from now on is theirs
        incident = responder.declare("Checkout payments failing", "SEV1", ("checkout",))

        def step(*commands: object) -> None:
            responder.run(incident, *commands)  # type: ignore[arg-type]
            deliver()

        deliver()
        assert [e["event_action"] for e in pd.alerts[incident]["events"]] == ["trigger"]
        assert pd.seen[-1].json["payload"]["severity"] == "critical"
        step(AddNote(text=f"rotated the key, old one was {SECRET}"))

        for phase in ("investigating", "identified", "monitoring", "resolved"):
            state = project(responder.log.timeline.events(incident))
            fields = context(state, DEFAULT_POLICY, state.declared_at + timedelta(minutes=5), UTC)  # type: ignore[operator]
            body = shared().render(templates[f"statuspage-{phase}"].source, fields).text
            step(PostUpdate(body=body, audience="status-page", template=f"statuspage-{phase}"))
            [remote] = sp.incidents.values()
            assert remote["status"] == phase
            public = responder.get("/status.json").json()
            shown = public["incidents"] or public["history"]
            assert shown[0]["status"] == phase
            assert shown[0]["updates"][0]["body"] == body
            assert remote["incident_updates"][0]["body"] == body
        step(ChangeStatus(status="resolved"))

        assert set(sp.component_status.values()) == {"operational"}
        assert responder.get("/status.json").json()["history"][0]["status"] == "resolved"
        actions = [(e["event_action"], e["dedup_key"]) for e in pd.alerts[incident]["events"]]
        assert actions == [("trigger", incident), ("resolve", incident)]
        assert pd.alerts[incident]["status"] == "resolved"
        for text in sp.bodies():
            assert SECRET not in text
        for path in ("/status", "/status.json", "/status/feed.atom"):
            assert SECRET not in responder.get(path).text
        assert sp.problems == [] and pd.problems == []
        sent = Counter(
            (e.payload["channel"], e.payload["event"])
            for e in responder.log.timeline.events(incident)
            if e.kind == "delivery_sent"
        )
        assert set(sent.values()) == {1}  # each delivery recorded once
        assert Counter(channel for channel, _ in sent) == {"status": 5, "oncall": 2}
