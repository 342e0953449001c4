"""A real Prometheus Alertmanager notifying a real `warroom serve` (see conftest.py): what
Alertmanager actually sends (whole groups again when one joins, resolved ones, retries after a
5xx) becomes each firing once and each resolution once, and a client's token gets nothing in.

Every wait is for a condition with a deadline; a negative ("no duplicate", "nothing stored")
is checked once the notification that would have brought it was answered.
"""

from __future__ import annotations

from tests.alerts.conftest import Stack
from tests.waiting import wait_until
from warroom.core.alerts import INBOX
from warroom.core.ids import new_id


def unique(prefix: str) -> str:
    return f"{prefix}{new_id()[-8:]}"


def test_a_firing_alert_is_stored_once_with_what_alertmanager_said(stack: Stack):
    name = unique("Firing")
    stack.add(
        f"alertname={name}", "service=checkout", "severity=critical",
        summary="5xx ratio 12%",
    )  # fmt: skip
    wait_until(lambda: stack.events(name), f"{name} stored")
    (event,) = stack.events(name)
    payload = event["payload"]
    assert event["kind"] == "alert_received" and event["incident_id"] == INBOX
    assert event["actor"] == "alertmanager"  # the alert token's name
    assert (payload["service"], payload["severity"], payload["summary"]) == (
        "checkout",
        "critical",
        "5xx ratio 12%",
    )
    assert len(payload["fingerprint"]) == 16 and "ends_at" not in payload
    assert payload["group_key"] == f'{{}}:{{alertname="{name}"}}'
    assert payload["receiver"] == "warroom"
    assert payload["source"].startswith("Alertmanager http")


def test_a_second_alert_joining_the_group_is_stored_and_the_first_not_again(stack: Stack):
    """Alertmanager sends the whole group when one joins: the first alert comes again in
    the same notification as the second."""
    name = unique("Joined")
    stack.add(f"alertname={name}", "instance=a")
    wait_until(lambda: len(stack.events(name)) == 1, "the first alert stored")
    stack.add(f"alertname={name}", "instance=b")
    wait_until(lambda: len(stack.events(name)) == 2, "the second alert stored")
    instances = sorted(e["payload"]["labels"]["instance"] for e in stack.events(name))
    assert instances == ["a", "b"]


def test_partial_then_full_resolution_each_stored_once(stack: Stack):
    name = unique("Resolved")
    for instance in ("a", "b"):
        stack.add(f"alertname={name}", f"instance={instance}")
    wait_until(lambda: len(stack.events(name, "alert_received")) == 2, "both stored")
    stack.add(f"alertname={name}", "instance=a", firing=False)
    wait_until(lambda: stack.events(name, "alert_resolved"), "a resolved")
    (first,) = stack.events(name, "alert_resolved")
    received = {e["payload"]["labels"]["instance"]: e for e in stack.events(name, "alert_received")}
    assert first["payload"]["fingerprint"] == received["a"]["payload"]["fingerprint"]
    assert first["payload"]["starts_at"] == received["a"]["payload"]["fired_at"]
    stack.add(f"alertname={name}", "instance=b", firing=False)
    wait_until(lambda: len(stack.events(name, "alert_resolved")) == 2, "b resolved")
    ended = sorted(e["payload"]["fingerprint"] for e in stack.events(name, "alert_resolved"))
    assert ended == sorted(e["payload"]["fingerprint"] for e in received.values())
    assert len(stack.events(name)) == 4


def test_an_alert_alertmanager_times_out_is_resolved(stack: Stack):
    """No end given and no news for `resolve_timeout` (3 s): Alertmanager resolves it."""
    name = unique("Timeout")
    stack.timing_out(f"alertname={name}")
    wait_until(lambda: stack.events(name, "alert_resolved"), "resolved by the timeout")
    kinds = [e["kind"] for e in stack.events(name)]
    assert kinds == ["alert_received", "alert_resolved"]


def test_a_notification_retried_after_a_500_is_stored_once(stack: Stack):
    """The server stored it but Alertmanager heard 500 (twice) and sent it again."""
    name = unique("Retried")
    stack.add(f"alertname={name}", "test=retry")
    wait_until(lambda: 200 in stack.relay.statuses(name), "a retry answered 200")
    assert stack.relay.statuses(name)[:3] == [500, 500, 200]
    assert [e["kind"] for e in stack.events(name)] == ["alert_received"]


def test_a_clients_token_gets_no_alert_in(stack: Stack):
    name = unique("Forbidden")
    stack.add(f"alertname={name}", "test=forbidden")
    wait_until(lambda: stack.relay.statuses(name), "the notification answered")
    assert stack.relay.statuses(name)[0] == 403
    assert stack.events(name) == []
