"""Alert intake on `warroom serve`, on both backends: a firing stored once however often it
is sent, its resolution once, matched to the open incident it belongs to or left in the
inbox; alert tokens and client tokens each refused where the other belongs; a malformed
notification refused with its reason and nothing stored. (The real Alertmanager drives the
same routes in tests/alerts/test_alertmanager.py.)"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.alerts.notifications import (
    alert,
    auth,
    fingerprint,
    head,
    later,
    notification,
    stored,
)
from tests.sync.factory import body
from tests.sync.servers import ServerProcess, Store
from warroom.core.alerts import INBOX
from warroom.core.commands import Context, Declare, materialise
from warroom.core.hlc import Stamp, wall_ms_now
from warroom.core.ids import new_id
from warroom.core.policy import DEFAULT_POLICY
from warroom.core.state import IncidentState

AM = "/v1/alerts/alertmanager"
FIXTURES = Path(__file__).parents[1] / "alerts" / "fixtures"


@pytest.fixture(scope="module")
def tokens(shared_server: ServerProcess) -> tuple[str, str]:
    """(alert token, client token) on the module's server."""
    store = shared_server.store
    return store.alert_token(f"am-{new_id()}"), store.token(f"client-{new_id()}")


def post(url: str, token: str, data: object, path: str = AM) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=data, headers=auth(token), timeout=30)


def declare(url: str, token: str, components: list[str]) -> str:
    """An incident declared on a laptop and pushed, as a responder would."""
    incident, device = new_id(), f"d{new_id().lower()}"
    events = materialise(
        IncidentState(incident_id=incident),
        [Declare(title="checkout down", severity="SEV2", components=tuple(components))],
        Context(DEFAULT_POLICY, datetime.now(UTC)),
        device_id=device,
        actor="alice",
        ids=iter(new_id, None),
        stamps=(Stamp(wall_ms_now(), n).encode() for n in range(10)),
    )
    pushed = httpx.post(f"{url}/v1/events", json=body(device, events), headers=auth(token))
    assert pushed.status_code == 200, pushed.text
    return incident


def test_a_firing_alert_is_stored_once_however_often_it_is_sent(shared_server, tokens):
    alerting, client = tokens
    url, fp = shared_server.url, fingerprint()
    sent = notification(alert(fp, service="nowhere"))
    answers = [post(url, alerting, sent).json() for _ in range(3)]
    assert answers[0] == {"alerts": 1, "received": 1, "resolved": 0, "unchanged": 0, "attached": 0}
    assert answers[1] == answers[2] == {**answers[0], "received": 0, "unchanged": 1}
    (received,) = stored(url, client, fp)
    assert received["kind"] == "alert_received" and received["incident_id"] == INBOX
    assert received["actor"].startswith("am-")  # the alert token's name
    assert received["device_id"].startswith("server-")
    payload = received["payload"]
    assert (payload["name"], payload["service"], payload["severity"]) == (
        "HighErrorRate",
        "nowhere",
        "critical",
    )
    assert payload["fired_at"] == "2026-11-22T14:00:00Z" and "ends_at" not in payload
    assert payload["url"] == "http://prometheus.example:9090/graph?g0.expr=up"


def test_a_resolution_is_stored_once_and_a_refire_is_a_new_firing(shared_server, tokens):
    alerting, client = tokens
    url, fp = shared_server.url, fingerprint()
    post(url, alerting, notification(alert(fp)))
    resolved = notification(alert(fp, ends=later(5)))
    assert post(url, alerting, resolved).json()["resolved"] == 1
    assert post(url, alerting, resolved).json()["unchanged"] == 1
    refire = notification(alert(fp, starts=later(9)))
    assert post(url, alerting, refire).json()["received"] == 1
    kinds = [
        (e["kind"], e["payload"].get("fired_at") or e["payload"]["starts_at"])
        for e in stored(url, client, fp)
    ]
    assert kinds == [
        ("alert_received", "2026-11-22T14:00:00Z"),
        ("alert_resolved", "2026-11-22T14:00:00Z"),
        ("alert_received", "2026-11-22T14:09:00Z"),
    ]
    (ended,) = stored(url, client, fp, kinds=("alert_resolved",))
    assert ended["payload"]["ends_at"] == "2026-11-22T14:05:00Z"
    assert ended["incident_id"] == INBOX  # where the alert is


def test_an_alert_first_heard_resolved_is_stored_resolved_once(shared_server, tokens):
    alerting, client = tokens
    url, fp = shared_server.url, fingerprint()
    ended = notification(alert(fp, ends=later(3)))
    assert post(url, alerting, ended).json()["received"] == 1
    assert post(url, alerting, ended).json()["unchanged"] == 1
    (received,) = stored(url, client, fp)
    assert received["payload"]["ends_at"] == "2026-11-22T14:03:00Z"


def test_alerts_for_an_open_incidents_component_or_group_join_it(shared_server, tokens):
    alerting, client = tokens
    url = shared_server.url
    service = f"svc-{new_id()[-8:].lower()}"
    incident = declare(url, client, ["frontend", service.upper()])
    first, second, stray = fingerprint(), fingerprint(), fingerprint()
    group = f'{{}}:{{alertname="{service}"}}'
    answer = post(url, alerting, notification(alert(first, service=service), group=group)).json()
    assert answer["attached"] == 1
    # The group is attached now: its next alert joins, whatever its service.
    both = notification(alert(first, service=service), alert(second, service="db"), group=group)
    assert post(url, alerting, both).json() == {
        "alerts": 2,
        "received": 1,
        "resolved": 0,
        "unchanged": 1,
        "attached": 1,
    }
    post(url, alerting, notification(alert(stray, service="db")))
    where = {
        e["payload"]["fingerprint"]: e["incident_id"]
        for e in stored(url, client, first, second, stray)
    }
    assert where == {first: incident, second: incident, stray: INBOX}
    # Its resolution is written where the alert is: in the incident's timeline.
    post(url, alerting, notification(alert(first, service=service, ends=later(1)), group=group))
    (ended,) = stored(url, client, first, kinds=("alert_resolved",))
    assert ended["incident_id"] == incident


def test_each_token_is_refused_where_the_other_belongs(shared_server, tokens):
    alerting, client = tokens
    url, fp = shared_server.url, fingerprint()
    before = head(url, client)
    refused = post(url, client, notification(alert(fp)))
    assert refused.status_code == 403
    assert "warroom token create NAME --alerts" in refused.json()["detail"]
    pulled = httpx.get(f"{url}/v1/events", headers=auth(alerting))
    assert (pulled.status_code, pulled.json()) == (
        403,
        {"detail": "this token may only post alerts"},
    )
    pushed = httpx.post(f"{url}/v1/events", json=body("dev", []), headers=auth(alerting))
    assert pushed.status_code == 403
    assert post(url, "wr_not-a-token", notification(alert(fp))).status_code == 401
    assert httpx.post(f"{url}{AM}", json=notification(alert(fp))).status_code == 401
    assert head(url, client) == before and stored(url, client, fp) == []


@pytest.mark.parametrize(
    ("sent", "status", "detail"),
    [
        (b"{not json", 400, "malformed JSON"),
        ({**notification(alert("ab")), "version": "3"}, 422, "body.version:"),
        (
            notification({**alert("ab"), "labels": {"alertname": "x", "k": "\x00"}}),
            422,
            "body.alerts.0.labels.k: contains U+0000",
        ),
        (
            notification(*[alert(f"{n:04x}") for n in range(1001)]),
            413,
            "at most 1000 alerts per notification",
        ),
        (
            notification(alert("ab", **{f"l{i}": "y" for i in range(70)})),
            422,
            "body.alerts.0.labels: Dictionary should have at most 64 items",
        ),
    ],
    ids=["json", "version", "nul", "too-many", "too-many-labels"],
)
def test_a_malformed_notification_is_refused_with_its_reason_and_stores_nothing(
    shared_server, tokens, sent, status, detail
):
    alerting, client = tokens
    url = shared_server.url
    before = head(url, client)
    content = sent if isinstance(sent, bytes) else json.dumps(sent).encode()
    answer = httpx.post(
        f"{url}{AM}",
        content=content,
        headers={**auth(alerting), "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == status, answer.text
    assert detail in answer.json()["detail"]
    assert head(url, client) == before


def test_a_body_over_the_limit_is_refused_before_it_is_read(shared_server, tokens):
    alerting, client = tokens
    url = shared_server.url
    before = head(url, client)
    huge = b'{"version": "4", "pad": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    answer = httpx.post(
        f"{url}{AM}",
        content=huge,
        headers={**auth(alerting), "Content-Type": "application/json"},
        timeout=60,
    )
    assert answer.status_code == 413 and answer.json()["detail"]
    assert head(url, client) == before


def test_grafana_notifications_keep_their_links_and_values(shared_server, tokens):
    alerting, client = tokens
    url = shared_server.url
    data = json.loads((FIXTURES / "grafana.json").read_text())
    prints = [fingerprint(), fingerprint()]
    for one, fp in zip(data["alerts"], prints, strict=True):
        one["fingerprint"] = fp
    answer = post(url, alerting, data, "/v1/alerts/grafana")
    assert answer.json() == {
        "alerts": 2,
        "received": 2,
        "resolved": 0,
        "unchanged": 0,
        "attached": 0,
    }
    firing, ended = (e["payload"] for e in stored(url, client, *prints))
    assert firing["dashboard_url"] == "https://grafana.shop.internal/d/shop-checkout?orgId=3"
    assert firing["panel_url"].endswith("viewPanel=7") and firing["values"] == {
        "A": 0.1243,
        "C": 1.0,
    }
    assert firing["source"] == "Grafana https://grafana.shop.internal/"
    assert ended["ends_at"] == "2026-11-22T13:58:30Z"
    assert post(url, alerting, data, "/v1/alerts/grafana").json()["unchanged"] == 2
    wrong = {**data, "version": "4"}
    assert post(url, alerting, wrong, "/v1/alerts/grafana").status_code == 422


def test_a_killed_server_still_knows_what_it_stored(server: ServerProcess, store: Store):
    """kill -9 between a notification and its re-send: the firing is on disk with its row,
    so the re-send after the restart stores nothing."""
    alerting, client = store.alert_token("am"), store.token("laptop")
    fp = fingerprint()
    assert post(server.url, alerting, notification(alert(fp))).json()["received"] == 1
    server.kill()
    server.start()
    assert post(server.url, alerting, notification(alert(fp))).json()["unchanged"] == 1
    assert (
        post(server.url, alerting, notification(alert(fp, ends=later(2)))).json()["resolved"] == 1
    )
    assert [e["kind"] for e in stored(server.url, client, fp)] == [
        "alert_received",
        "alert_resolved",
    ]


@pytest.mark.postgres
async def test_two_instances_receiving_the_same_notifications_at_once_store_each_once(pg, tmp_path):
    """Alertmanager behind a load balancer (or two Alertmanagers) post the same groups to
    two instances sharing PostgreSQL at the same moment: each firing and each resolution is
    stored once."""
    store = Store("postgres", pg.new_database())
    one = await asyncio.to_thread(ServerProcess(store, tmp_path).start)
    two = await asyncio.to_thread(ServerProcess(store, tmp_path).start)
    try:
        alerting = await asyncio.to_thread(store.alert_token, "am")
        client = await asyncio.to_thread(store.token, "laptop")
        prints = [fingerprint() for _ in range(5)]
        firing = notification(*(alert(fp) for fp in prints))
        resolved = notification(*(alert(fp, ends=later(4)) for fp in prints))
        async with httpx.AsyncClient(timeout=60) as http:
            for sent in (firing, resolved):
                answers = await asyncio.gather(
                    *(
                        http.post(f"{server.url}{AM}", json=sent, headers=auth(alerting))
                        for server in (one, two) * 8
                    )
                )
                assert {a.status_code for a in answers} == {200}
                changed = [a.json()["received"] + a.json()["resolved"] for a in answers]
                assert sum(changed) == len(prints)
        events = await asyncio.to_thread(stored, one.url, client, *prints)
        kinds = sorted(e["kind"] for e in events)
        assert kinds == ["alert_received"] * 5 + ["alert_resolved"] * 5
    finally:
        await asyncio.to_thread(one.stop)
        await asyncio.to_thread(two.stop)
