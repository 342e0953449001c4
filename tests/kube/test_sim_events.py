"""Events and rollout history in the simulator, through the official client over HTTP: what
the console's events pane, describe and rollout history read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from warroom.core.rfc3339 import SECOND
from warroom.demo import DEPLOYED_AGO as DEMO_DEPLOYED_AGO
from warroom.kube.sim import Simulator
from warroom.kube.sim.events import EVENT_TTL
from warroom.kube.sim.scenarios import DEPLOYED_AGO, Shop


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


def checkout_pod(core: client.CoreV1Api) -> Any:
    return core.list_namespaced_pod("shop", label_selector="app=checkout").items[0]


def test_the_simulator_and_the_demo_incident_tell_one_story(
    sim: Simulator, core: client.CoreV1Api
) -> None:
    """checkout 2.5.0 went out DEPLOYED_AGO minutes ago, in both."""
    assert DEPLOYED_AGO == DEMO_DEPLOYED_AGO
    pod = checkout_pod(core)
    assert pod.status.container_statuses[0].image.endswith("checkout:2.5.0")
    created = int(pod.metadata.creation_timestamp.timestamp()) * SECOND
    assert (sim.state.now - created) // SECOND == DEPLOYED_AGO * 60


def test_a_crash_looping_pods_events_by_field_selector(
    sim: Simulator, core: client.CoreV1Api
) -> None:
    pod = checkout_pod(core)
    selector = (
        f"involvedObject.kind=Pod,involvedObject.name={pod.metadata.name},"
        f"involvedObject.uid={pod.metadata.uid},type=Warning"
    )
    warnings = core.list_namespaced_event("shop", field_selector=selector).items
    assert {e.reason for e in warnings} == {"BackOff", "Unhealthy"}
    backoff = next(e for e in warnings if e.reason == "BackOff")
    restarts = pod.status.container_statuses[0].restart_count
    assert backoff.count == restarts + 1  # every crash backs off, the one waiting now too
    assert backoff.involved_object.field_path == "spec.containers{checkout}"
    assert (backoff.source.component, backoff.source.host) == ("kubelet", pod.spec.node_name)
    assert backoff.message == (
        f"Back-off restarting failed container checkout in pod "
        f"{pod.metadata.name}_shop({pod.metadata.uid})"
    )
    first = int(backoff.first_timestamp.timestamp()) * SECOND
    assert (DEPLOYED_AGO - 1) * 60 * SECOND < sim.state.now - first <= DEPLOYED_AGO * 60 * SECOND
    assert backoff.last_timestamp > backoff.first_timestamp

    kubelet = core.list_namespaced_event("shop", field_selector="source=kubelet").items
    assert kubelet and {e.source.component for e in kubelet} == {"kubelet"}
    scheduled = core.list_namespaced_event(
        "shop", field_selector=f"reason=Scheduled,involvedObject.name={pod.metadata.name}"
    ).items
    assert len(scheduled) == 1  # the scheduler writes new-style events: eventTime, no count
    assert scheduled[0].event_time is not None and scheduled[0].count is None
    assert scheduled[0].first_timestamp is None and scheduled[0].last_timestamp is None
    assert scheduled[0].reporting_component == "default-scheduler"

    deployment = core.list_namespaced_event(
        "shop", field_selector="involvedObject.kind=Deployment,involvedObject.name=checkout"
    ).items
    messages = sorted(e.message for e in deployment)
    assert len(messages) == 2 and messages[0].startswith("Scaled down replica set checkout-")
    assert messages[1].endswith(" from 0 to 3")

    with pytest.raises(ApiException) as error:
        core.list_namespaced_event("shop", field_selector="spec.bogus=1")
    assert error.value.status == 400
    assert json.loads(error.value.body)["message"] == "field label not supported: spec.bogus"


def test_a_watch_on_events_sees_counts_grow_and_only_what_it_selects(
    sim: Simulator, core: client.CoreV1Api
) -> None:
    pod = checkout_pod(core).metadata.name
    selector = f"involvedObject.name={pod},type=Warning"
    start = core.list_namespaced_event("shop", field_selector=selector)
    counts = {e.reason: e.count for e in start.items}
    sim.advance(120)  # a few more crashes
    seen = list(
        watch.Watch().stream(
            core.list_namespaced_event,
            "shop",
            field_selector=selector,
            resource_version=start.metadata.resource_version,
            timeout_seconds=1,
        )
    )
    assert seen and {e["object"].type for e in seen} == {"Warning"}
    assert {e["object"].involved_object.name for e in seen} == {pod}
    assert {e["type"] for e in seen} == {"MODIFIED"}
    last = {e["object"].reason: e["object"].count for e in seen}
    assert last["BackOff"] > counts["BackOff"] and last["Unhealthy"] > counts["Unhealthy"]


def test_events_expire_an_hour_after_their_last_update() -> None:
    state = Shop().build(1_750_000_000 * SECOND)
    scaled = [e for e in state.store.list("events", "shop") if e["reason"] == "ScalingReplicaSet"]
    assert len(scaled) == 2  # the rollouts before 2.5.0 are older than an hour: gone
    state.advance_to(state.now + EVENT_TTL - (DEPLOYED_AGO - 1) * 60 * SECOND)
    kept = {e["reason"] for e in state.store.list("events", "shop")}
    assert "ScalingReplicaSet" not in kept and {"BackOff", "Unhealthy"} <= kept


def test_replicasets_carry_revisions_change_causes_and_images(apps: client.AppsV1Api) -> None:
    owned = apps.list_namespaced_replica_set("shop", label_selector="app=checkout").items
    history = sorted(
        (
            int(rs.metadata.annotations["deployment.kubernetes.io/revision"]),
            rs.metadata.annotations["kubernetes.io/change-cause"],
            rs.spec.template.spec.containers[0].image.rsplit(":", 1)[1],
            rs.spec.replicas,
        )
        for rs in owned
    )
    assert history == [
        (1, "CI pipeline 4522: checkout 2.3.2", "2.3.2", 0),
        (2, "CI pipeline 4650: checkout 2.4.0 (saved carts)", "2.4.0", 0),
        (3, "CI pipeline 4711: checkout 2.4.1 (retry payment timeouts)", "2.4.1", 0),
        (4, "CI pipeline 4790: checkout 2.5.0 (tax rate per region)", "2.5.0", 3),
    ]
    deployment = apps.read_namespaced_deployment("checkout", "shop")
    assert deployment.metadata.annotations["kubernetes.io/change-cause"] == history[3][1]
