"""A declaration the Incident Commander kept from a channel (unticked in the declare dialog)
never reaches it: whatever the kind, whoever delivers, and in the composer's dry run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.delivery.driver import Incident
from tests.delivery.receiver import Receiver
from tests.writes import declare, foreign, run
from warroom.core.backoff import Backoff
from warroom.core.commands import ChangeSeverity, CommandError, Declare, PostUpdate, make
from warroom.core.deliveries import Route, routes_for, told
from warroom.core.events import PayloadError, parse_payload
from warroom.delivery.channel import Channel
from warroom.delivery.compose import preview
from warroom.delivery.config import build
from warroom.delivery.engine import Engine, Timing
from warroom.delivery.queue import LocalQueue
from warroom.store import EventLog

SECRET = "untold-secret"
TIMING = Timing(lease=2.0, poll=0.05, backoff=Backoff(base=0.05, cap=0.2))


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    a, b = Receiver(SECRET).start(), Receiver(SECRET).start()
    yield a, b
    a.close()
    b.close()


def hook(name: str, receiver: Receiver) -> Channel:
    table = {
        "kind": "webhook",
        "url": receiver.url,
        "secret": SECRET,
        "audiences": ["internal"],
        "on": ["declared", "severity"],
    }
    return build(name, table)


def test_an_untold_channel_never_receives_the_declaration(tmp_path, receivers) -> None:
    told_hook, quiet_hook = receivers
    with EventLog(tmp_path / "untold.db") as log:
        incident = declare(log, "Checkout down", untold=("quiet",))
        [declared] = log.timeline.events(incident)
        assert declared.payload["untold"] == ["quiet"]
        [update] = run(log, incident, PostUpdate(body="still down"))
        [raised] = run(log, incident, ChangeSeverity(severity="SEV1"))
        channels = [hook("loud", told_hook), hook("quiet", quiet_hook)]
        engine = Engine(LocalQueue(log, "delivery"), channels, timing=TIMING, clock=time.time)
        counts = asyncio.run(engine.once())
        assert engine.undelivered(counts) == 0
    assert told_hook.accepted_keys() == [declared.id, update.id, raised.id]
    # the rest of the incident reaches it: only the declaration was kept from it
    assert quiet_hook.accepted_keys() == [update.id, raised.id]


def test_every_kind_honours_untold_through_the_one_check() -> None:
    """PagerDuty and Statuspage decide what they carry themselves (`wants`): the check of
    `untold` is still the base channel's, so they cannot skip it."""
    nowhere = "http://127.0.0.1:9"
    paging = build("oncall", {"kind": "pagerduty", "routing_key": "k", "events_url": nowhere})
    status = build(
        "status",
        {
            "kind": "statuspage",
            "api_url": nowhere,
            "page_id": "p",
            "api_key": "k",
            "on": ["severity"],
        },
    )
    loud, hushed = Incident(), Incident()
    loud.run(Declare(title="t", severity="SEV1"))
    hushed.run(Declare(title="t", severity="SEV1", untold=("oncall",)))
    assert paging.carries(loud.events[0]) and not paging.carries(hushed.events[0])
    [raised] = hushed.run(ChangeSeverity(severity="SEV2"))  # later events name nobody
    assert told(raised, "status") and status.carries(raised)
    # an event from a newer warroom that keeps itself from the status page
    kept = foreign(
        hushed.incident_id, "severity_changed", {"severity": "SEV1", "untold": ["status"]}
    )
    assert status.wants(kept) and not status.carries(kept)


def test_routes_and_the_dry_run_leave_an_untold_channel_out(receivers) -> None:
    incident = Incident()
    incident.run(Declare(title="t", severity="SEV2", untold=("quiet",)))
    declared = incident.events[0]
    routes = [
        Route("loud", "webhook", frozenset(), frozenset({"declared"})),
        Route("quiet", "webhook", frozenset(), frozenset({"declared"})),
    ]
    assert [r.name for r in routes_for(declared, routes)] == ["loud"]
    channels = [hook("loud", receivers[0]), hook("quiet", receivers[1])]
    shown = preview(channels, declared, incident.state)
    assert [p.channel for p in shown] == ["loud"]


@pytest.mark.parametrize(
    "names",
    [("bad name",), ("-leading",), ("x" * 65,), ("ok",) * 65, ("\u202ertl",)],
    ids=["space", "leading-dash", "too-long", "too-many", "bidi"],
)
def test_untold_names_are_channel_names_and_bounded(names) -> None:
    with pytest.raises(CommandError):
        make(Declare, title="t", severity="SEV2", untold=names)
    with pytest.raises(PayloadError):
        parse_payload("declared", {"title": "t", "severity": "SEV2", "untold": list(names)})


def test_a_declaration_that_unticks_nothing_is_stored_as_before(tmp_path) -> None:
    with EventLog(tmp_path / "plain.db") as log:
        incident = declare(log, "t")
        [declared] = log.timeline.events(incident)
    assert "untold" not in declared.payload
