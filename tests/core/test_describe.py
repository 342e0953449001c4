"""One-line summaries: readable, non-repeating, and safe for any stored payload."""

import pytest

from tests.core.factory import Maker
from warroom.core.describe import summarize

ev = Maker()

NOTE = ev(1, "note", {"text": "disk full on db-1"}, actor="bob")


def test_a_pin_says_what_was_pinned_from_its_summary():
    pin = ev(2, "pin", {"target": NOTE.id, "pinned": True, "summary": "disk full on db-1"})
    assert summarize(pin) == "pinned: disk full on db-1"
    unpin = ev(3, "pin", {"target": NOTE.id, "pinned": False, "summary": "disk full on db-1"})
    assert summarize(unpin) == "unpinned: disk full on db-1"


def test_a_pin_without_a_summary_is_resolved_by_id_when_the_event_is_at_hand():
    pin = ev(2, "pin", {"target": NOTE.id, "pinned": True})
    found = {NOTE.id: NOTE}.get
    assert summarize(pin, lookup=found) == "pinned bob's note: disk full on db-1"
    assert NOTE.id not in summarize(pin, lookup=found)


def test_a_pin_of_an_unknown_event_names_it_shortly():
    pin = ev(2, "pin", {"target": NOTE.id, "pinned": True})
    assert summarize(pin) == f"pinned event {NOTE.id[-6:]}"
    assert summarize(pin, lookup=lambda _id: None) == f"pinned event {NOTE.id[-6:]}"


def test_a_pin_of_a_pin_does_not_recurse():
    pin = ev(2, "pin", {"target": "01M8NR0000000000000000SELF", "pinned": True})
    loop = pin._replace(id="01M8NR0000000000000000SELF")
    assert summarize(loop, lookup={loop.id: loop}.get) == "pinned alice's pin: pinned event 00SELF"


@pytest.mark.parametrize(
    ("payload", "shown"),
    [
        (  # the console's shape: a sentence, the command, a short outcome
            {
                "description": "Rollout restart of deployment/checkout in shop",
                "command": "kubectl -n shop rollout restart deployment/checkout",
                "result": "done",
                "ok": True,
            },
            "Rollout restart of deployment/checkout in shop → done",
        ),
        (
            {
                "description": "Scale deployment/checkout in shop to 0",
                "command": "kubectl -n shop scale deployment/checkout --replicas=0",
                "result": "409 the deployment changed after it was described",
                "ok": False,
            },
            "Scale deployment/checkout in shop to 0 → FAILED: 409 the deployment changed"
            " after it was described",
        ),
        (  # older consoles: the patch as description, the result repeating the command
            {
                "description": "template annotation kubectl.kubernetes.io/restartedAt → 2026",
                "command": "kubectl -n shop rollout restart deployment/checkout",
                "result": "kubectl -n shop rollout restart deployment/checkout: done "
                "(template annotation kubectl.kubernetes.io/restartedAt → 2026)",
                "ok": True,
            },
            "kubectl -n shop rollout restart deployment/checkout → done",
        ),
        (  # older consoles, failing before a change was described
            {
                "description": "rollout restart failed: 403 forbidden",
                "command": "",
                "result": "rollout restart failed: 403 forbidden",
                "ok": False,
            },
            "rollout restart failed: 403 forbidden",
        ),
        ({"description": "Paged the DBA on call"}, "Paged the DBA on call"),
    ],
)
def test_actions_read_as_one_compact_sentence(payload, shown):
    assert summarize(ev(1, "action_taken", payload)) == shown


@pytest.mark.parametrize(
    ("at", "shown"),
    [
        ("2026-11-22T14:05:00+00:00", "detected at 2026-11-22 14:05 UTC"),
        ("2026-11-22T15:05:00+01:00", "detected at 2026-11-22 14:05 UTC"),  # said in UTC
        ("9999-12-31T23:59:00+00:00", "detected at 9999-12-31 23:59 UTC"),
        ("0001-01-01T00:00:00+00:00", "detected at 0001-01-01 00:00 UTC"),  # not "1-01-01"
        ("9999-12-31T23:59:00-10:00", "detected at 9999-12-31 23:59 UTC-10:00"),  # in UTC: 10000
        ("0001-01-01T00:00:00+10:00", "detected at 0001-01-01 00:00 UTC+10:00"),  # in UTC: year 0
        ("2026-11-22T14:05:00", "detected at 2026-11-22 14:05"),  # naive: no zone to claim
        ("next tuesday", "detected at next tuesday"),
    ],
)
def test_milestone_times_are_shown_correctly_at_the_limits_of_datetime(at, shown):
    assert summarize(ev(1, "milestone_set", {"milestone": "detected", "at": at})) == shown


def test_any_payload_shape_gives_a_line():
    for payload in ({}, {"target": 3}, {"description": None, "ok": "yes"}, {"at": []}):
        for kind in ("pin", "action_taken", "milestone_set", "cadence_snoozed", "new.kind"):
            assert isinstance(summarize(ev(1, kind, payload)), str)
