"""The fakes catch what the published specs refuse (else a passing channel test proves little)."""

from __future__ import annotations

import httpx

from tests.delivery.conftest import PAGE, PD_KEY, SP_KEY
from tests.delivery.fakes import PagerDutyFake, StatuspageFake
from tests.delivery.specs import PAGERDUTY, STATUSPAGE, spec_path


def test_statuspage_fake_refuses_off_spec_requests() -> None:
    with StatuspageFake(
        spec_path(STATUSPAGE), page_id=PAGE, key=SP_KEY, components={"c1": "C"}
    ) as fake:
        url = f"{fake.url}/pages/{PAGE}/incidents"
        auth = {"Authorization": f"OAuth {SP_KEY}"}
        cases = [
            ({"incident": {"name": "x", "status": "broken"}}, auth, "is not one of"),
            (
                {"incident": {"name": "x", "stauts": "investigating"}},
                auth,
                "unknown field 'stauts'",
            ),
            ({"incident": {"name": "x", "components": {"c1": "on fire"}}}, auth, "not allowed"),
            ({"incident": {"name": "x" * 256}}, auth, "255"),
            ({"incident": {"name": "x", "metadata": {"warroom": "flat"}}}, auth, "must be objects"),
            ({"incident": {"name": "x"}}, {}, "Security"),
        ]
        for body, headers, expected in cases:
            fake.problems.clear()
            answer = httpx.post(url, json=body, headers=headers)
            assert answer.status_code in (401, 422), body
            assert any(expected in p for p in fake.problems), (expected, fake.problems)
        fake.problems.clear()
        assert httpx.get(f"{fake.url}/pages/{PAGE}/incidents/unresolved?per_page=x", headers=auth)
        assert any("per_page" in p for p in fake.problems)
        fake.problems.clear()
        ok = httpx.post(
            url, json={"incident": {"name": "fine", "status": "investigating"}}, headers=auth
        )
        assert ok.status_code == 201 and fake.problems == []


def test_pagerduty_fake_refuses_off_spec_events() -> None:
    with PagerDutyFake(spec_path(PAGERDUTY), routing_key=PD_KEY) as fake:
        payload = {"summary": "s", "source": "x", "severity": "critical"}
        cases = [
            (
                {
                    "routing_key": PD_KEY,
                    "event_action": "trigger",
                    "payload": {**payload, "severity": "sev1"},
                },
                "is not one of",
            ),
            ({"routing_key": PD_KEY, "event_action": "trigger"}, "needs a payload"),
            ({"routing_key": PD_KEY, "event_action": "resolve"}, "needs a dedup_key"),
            (
                {
                    "routing_key": PD_KEY,
                    "event_action": "trigger",
                    "payload": payload,
                    "dedupkey": "a",
                },
                "unknown field",
            ),
            (
                {"routing_key": PD_KEY, "event_action": "trigger", "payload": {"summary": "s"}},
                "required",
            ),
        ]
        for body, expected in cases:
            fake.problems.clear()
            answer = httpx.post(f"{fake.url}/enqueue", json=body)
            assert answer.status_code == 400, body
            assert any(expected in p for p in fake.problems), (expected, fake.problems)
        fake.problems.clear()
        assert httpx.post(f"{fake.url}/nowhere", json={}).status_code in (400, 404)
        assert any("Path not found" in p for p in fake.problems)
        fake.problems.clear()
        ok = httpx.post(
            f"{fake.url}/enqueue",
            json={
                "routing_key": PD_KEY,
                "event_action": "trigger",
                "dedup_key": "k",
                "payload": payload,
            },
        )
        assert ok.status_code == 202 and ok.json()["dedup_key"] == "k" and fake.problems == []
