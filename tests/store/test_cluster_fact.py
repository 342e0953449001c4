"""Evidence from the cluster, kept in the timeline through the command layer."""

from datetime import UTC, datetime

import pytest

from tests.writes import declare, run
from warroom.core.commands import CommandError, PinClusterFact, make
from warroom.core.describe import summarize
from warroom.core.events import PayloadError, normalise_payload


def test_a_cluster_fact_is_stored_with_its_object_time_and_source(log):
    incident = declare(log)
    seen = datetime(2026, 11, 22, 14, 5, 3, tzinfo=UTC)
    command = make(
        PinClusterFact,
        source="event",
        object="pod/checkout-7d9f8b6c5-q2x8z",
        namespace="shop",
        context="prod-eu",
        observed_at=seen,
        text="Warning BackOff ×37: Back-off restarting failed container checkout",
    )
    (event,) = run(log, incident, command, actor="you")
    assert event.kind == "cluster_fact"
    assert event.payload == {
        "source": "event",
        "object": "pod/checkout-7d9f8b6c5-q2x8z",
        "namespace": "shop",
        "context": "prod-eu",
        "observed_at": "2026-11-22T14:05:03Z",
        "text": "Warning BackOff ×37: Back-off restarting failed container checkout",
    }
    assert summarize(event) == (
        "pod/checkout-7d9f8b6c5-q2x8z (shop): Warning BackOff ×37: Back-off restarting failed "
        "container checkout (seen 2026-11-22 14:05 UTC)"
    )


def test_a_cluster_fact_is_refused_when_it_says_nothing_or_comes_from_nowhere():
    with pytest.raises(CommandError, match="text must not be blank"):
        make(PinClusterFact, source="describe", object="pod/a", text="  ")
    with pytest.raises(CommandError, match="source"):
        make(PinClusterFact, source="rumour", object="pod/a", text="x")
    with pytest.raises(CommandError, match="object must not be blank"):
        make(PinClusterFact, source="change", object="", text="x")
    with pytest.raises(PayloadError, match="cluster_fact: source"):
        normalise_payload("cluster_fact", {"source": "x", "object": "a", "text": "t"})
