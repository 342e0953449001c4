"""Why it crashes and what changed, through the gateway and the real `kubernetes` client
against the simulator: events kept live (with the pods' resume rules), describe, rollout
history and undo to a chosen revision, deployment changes seen while watching, and the logs
of every pod of a deployment at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from warroom.core.backoff import Backoff
from warroom.kube import actions, rollouts
from warroom.kube.changes import DeploymentWatcher, changes
from warroom.kube.describe import describe_deployment, describe_pod
from warroom.kube.events import EventWatcher, Subject, about, event_row
from warroom.kube.gateway import Gateway, Target
from warroom.kube.logs import LogOptions, PodSetSession
from warroom.kube.pods import PodWatcher, WatchSettings
from warroom.kube.sim import Simulator

FAST = WatchSettings(timeout_seconds=2, read_timeout=1.0, backoff=Backoff(0.05, 0.2))
QUICK = LogOptions(tail_lines=3, retry=Backoff(0.05, 0.2))


@pytest.fixture
def gateway(kubeconfig: Path) -> Iterator[Gateway]:
    gw = Gateway(Target(kubeconfig=str(kubeconfig)))
    yield gw
    gw.close()


@pytest.fixture
def running() -> Iterator[Callable[[Any], Any]]:
    """`running(watcher_or_session)`: started, and stopped at the end of the test."""
    started: list[Any] = []

    def start(thing: Any) -> Any:
        if hasattr(thing, "run") and not hasattr(thing, "sync"):
            thread = threading.Thread(target=thing.run, daemon=True)
            thread.start()
        else:
            thing.start()
        started.append(thing)
        return thing

    yield start
    for thing in started:
        thing.stop()


def checkout(sim: Simulator) -> dict[str, Any]:
    return next(
        p
        for p in sim.state.store.list("pods", "shop")
        if p["metadata"]["labels"]["app"] == "checkout"
    )


def test_events_of_a_pod_and_its_deployment_live_warning_first(
    sim: Simulator, gateway: Gateway, running: Any, wait_for: Any
) -> None:
    watcher = running(EventWatcher(gateway, FAST))
    wait_for(lambda: watcher.state == "live" and watcher.snapshot().rows, what="live events")
    pod = checkout(sim)
    subject = Subject.of_pod(pod)
    assert subject.deployment == "checkout" and subject.replicaset.startswith("checkout-")
    rows = about(watcher.snapshot().rows.values(), subject)
    assert [r.reason for r in rows[:2]] == ["BackOff", "Unhealthy"]  # Warning, newest first
    assert all(r.warning for r in rows[:2]) and not any(r.warning for r in rows[2:])
    assert {r.kind for r in rows} == {"Pod", "ReplicaSet", "Deployment"}
    assert all(r.name == pod["metadata"]["name"] for r in rows if r.kind == "Pod")
    backoff = rows[0]
    restarts = pod["status"]["containerStatuses"][0]["restartCount"]
    assert backoff.count == restarts + 1
    assert backoff.age(sim.state.now).endswith(f"(x{restarts + 1} over 33m)")
    scheduled = next(r for r in rows if r.reason == "Scheduled")  # new-style: eventTime only
    assert scheduled.count == 1 and scheduled.age(sim.state.now) == "34m"

    sim.state.drop_watches()  # the pods' resume rules: reconnect, no re-list, nothing lost
    sim.advance(120)

    def grew() -> bool:
        now = about(watcher.snapshot().rows.values(), subject)
        return next(r for r in now if r.reason == "BackOff").count > backoff.count

    wait_for(grew, what="the BackOff count to grow after a dropped watch")
    assert watcher.lists == 1
    sim.state.stall_watches()
    sim.state.compact_history()
    sim.state.drop_watches()
    wait_for(lambda: watcher.lists == 2 and watcher.state == "live", what="a re-list after 410")


def test_describe_pod_and_deployment(sim: Simulator, gateway: Gateway) -> None:
    pod = checkout(sim)
    events = [event_row(e) for e in sim.state.store.list("events", "shop")]
    subject = Subject.of_pod(pod)
    facts = describe_pod(
        pod, [e for e in events if e.kind == "Pod" and subject.covers(e)], sim.state.now
    )
    text = [f.text for f in facts]
    restarts = pod["status"]["containerStatuses"][0]["restartCount"]
    for line in (
        f"Name:             {pod['metadata']['name']}",
        "Status:           Running",
        "    State:          Waiting",
        "      Reason:       CrashLoopBackOff",
        "    Last State:     Terminated",
        "      Reason:       Error",
        "      Exit Code:    1",
        "    Ready:          False",
        f"    Restart Count:  {restarts}",
        "    Readiness:      http-get http://:8080/healthz delay=0s timeout=1s period=10s "
        "#success=1 #failure=3",
    ):
        assert line in text, line
    exit_code = next(f for f in facts if f.text.startswith("      Exit Code:"))
    assert exit_code.bad and exit_code.evidence.startswith(
        "container checkout last state: Terminated, reason Error, exit code 1, started "
    )
    backoff = next(f for f in facts if " BackOff " in f.text)
    assert backoff.bad and f"(x{restarts + 1} over 33m)" in backoff.text
    assert backoff.evidence.startswith(f"pod/{pod['metadata']['name']}: Warning BackOff ×")
    assert text.index("Events:") > text.index("Conditions:")
    assert not any(f.evidence for f in facts if f.text in ("Containers:", "  checkout:"))

    deployment = sim.state.store.get("deployments", "shop", "checkout")
    replicasets = sim.state.store.list("replicasets", "shop")
    dep_events = [e for e in events if e.kind == "Deployment" and e.name == "checkout"]
    lines = [
        f.text for f in describe_deployment(deployment, replicasets, dep_events, sim.state.now)
    ]
    assert (
        "Replicas:               3 desired | 3 updated | 3 total | 0 available | 3 unavailable"
        in lines
    )
    assert any(
        line.startswith("NewReplicaSet:   checkout-") and "(3/3 replicas created)" in line
        for line in lines
    )
    assert any("Scaled up replica set checkout-" in line for line in lines)


def test_rollout_history_and_undo_to_a_chosen_revision(
    sim: Simulator, gateway: Gateway, running: Any, wait_for: Any
) -> None:
    _, history = rollouts.history(gateway, "shop", "checkout")
    assert [(r.number, r.image_text, r.current, r.replicas) for r in history] == [
        (1, "checkout:2.3.2", False, 0),
        (2, "checkout:2.4.0", False, 0),
        (3, "checkout:2.4.1", False, 0),
        (4, "checkout:2.5.0", True, 3),
    ]
    assert history[3].change_cause == "CI pipeline 4790: checkout 2.5.0 (tax rate per region)"
    assert (
        history[3].when(sim.state.now) == "34m ago" and history[2].when(sim.state.now) == "26h ago"
    )

    missing = actions.describe_undo(gateway, "shop", "checkout", to_revision=9)
    assert isinstance(missing, actions.ActionResult)
    assert missing.message == "checkout: no revision 9 in its history (it has 1, 2, 3, 4)"
    same = actions.describe_undo(gateway, "shop", "checkout", to_revision=4)
    assert isinstance(same, actions.ActionResult) and "is the current one" in same.message

    change = actions.describe_undo(gateway, "shop", "checkout", to_revision=2)
    assert isinstance(change, actions.Change)
    assert change.command == "kubectl -n shop rollout undo deployment/checkout --to-revision=2"
    assert change.summary == [
        f"revision 4 → 2 (from {history[1].replicaset})",
        "container checkout: registry.example.com/shop/checkout:2.5.0 → "
        "registry.example.com/shop/checkout:2.4.0",
        "change-cause: CI pipeline 4650: checkout 2.4.0 (saved carts)",
    ]
    watcher = running(PodWatcher(gateway, FAST))
    assert actions.apply(gateway, change).ok
    sim.advance(10)

    def healthy() -> bool:
        rows = [r for r in watcher.snapshot().rows.values() if r.workload == "checkout"]
        return len(rows) == 3 and all(r.status == "Running" and r.ready == "1/1" for r in rows)

    wait_for(healthy, what="checkout healthy on 2.4.0")
    _, after = rollouts.history(gateway, "shop", "checkout")
    assert [(r.number, r.current) for r in after][-1] == (5, True)
    assert after[-1].change_cause == "CI pipeline 4650: checkout 2.4.0 (saved carts)"
    assert actions.replicas(gateway, "shop", "checkout") == (3, 3)


def test_changes_seen_while_watching(
    sim: Simulator, gateway: Gateway, running: Any, wait_for: Any
) -> None:
    clock = iter(range(1, 1000))
    watcher = running(DeploymentWatcher(gateway, FAST, clock=lambda: next(clock)))
    wait_for(lambda: watcher.state == "live", what="a live deployment watch")
    sim.advance(60)  # crashes, restarts, status updates: nobody changed anything
    assert watcher.changes_after(0) == ([], 0)
    sim.state.set_replicas("shop", "frontend", 5)
    change = actions.describe_restart(gateway, "shop", "payments")
    assert isinstance(change, actions.Change) and actions.apply(gateway, change).ok
    wait_for(lambda: watcher.changes_after(0)[1] == 2, what="two changes")
    seen, total = watcher.changes_after(0)
    assert [c.text for c in seen] == [
        "deployment/frontend scaled 3 → 5 replicas",
        "deployment/payments rollout restart",
    ]
    assert all(c.at > 0 and c.namespace == "shop" for c in seen)

    sim.state.stall_watches()  # while the watch is away: re-listed, and still seen
    image = {"name": "checkout", "image": "registry.example.com/shop/checkout:2.4.1"}
    release = {
        "metadata": {"annotations": {"kubernetes.io/change-cause": "hotfix back to 2.4.1"}},
        "spec": {"template": {"spec": {"containers": [image]}}},
    }
    sim.state.patch_deployment(
        "shop", "checkout", "application/strategic-merge-patch+json", release
    )
    sim.state.compact_history()
    sim.state.drop_watches()
    wait_for(lambda: watcher.changes_after(total)[1] == 3, what="the change made while away")
    assert [c.text for c in watcher.changes_after(total)[0]] == [
        "deployment/checkout rollout: image checkout registry.example.com/shop/checkout:2.5.0 → "
        "registry.example.com/shop/checkout:2.4.1 (hotfix back to 2.4.1)"
    ]


def test_change_detection_ignores_the_controllers_writes() -> None:
    before = {
        "metadata": {
            "name": "a",
            "namespace": "n",
            "annotations": {"deployment.kubernetes.io/revision": "1"},
        },
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "c", "image": "x:1"}]}},
        },
        "status": {"replicas": 2},
    }
    after = {
        **before,
        "metadata": {
            **before["metadata"],
            "annotations": {"deployment.kubernetes.io/revision": "2"},
        },
        "status": {"replicas": 1},
    }
    assert changes(before, after, 5) == []
    assert [c.kind for c in changes(None, before, 5)] == ["created"]
    assert [c.text for c in changes(before, None, 5)] == ["deployment/a deleted"]


def test_following_every_pod_of_a_deployment(
    sim: Simulator, gateway: Gateway, running: Any, wait_for: Any
) -> None:
    session = running(PodSetSession(gateway, "shop", "app=frontend", options=QUICK, settings=FAST))
    wait_for(lambda: len(session.pods) == 3, what="three pods followed")
    got: list[tuple[int, str, str]] = []

    def drained() -> list[tuple[int, str, str]]:
        got.extend(session.buffer.drain()[0])
        return got

    wait_for(lambda: {s for s, _, _ in drained()} == {0, 1, 2}, what="lines from each pod")
    victim = session.sources[0].pod
    sim.state.delete_pod("shop", victim)
    sim.advance(5)
    wait_for(lambda: victim not in session.pods and len(session.pods) == 3, what="a replacement")
    newcomer = next(p for p in session.pods if p not in {t.pod for t in session.sources[:3]})
    index = next(i for i, t in enumerate(session.sources) if t.pod == newcomer)
    sim.advance(2)
    wait_for(lambda: any(s == index for s, _, _ in drained()), what="the newcomer's lines")
    assert (session.joined, session.left) == (4, 1)

    previous = running(
        PodSetSession(
            gateway,
            "shop",
            "app=checkout",
            options=LogOptions(previous=True, tail_lines=1, retry=Backoff(0.05, 0.2)),
            settings=FAST,
        )
    )
    wait_for(
        lambda: (
            len(previous.followers) == 3
            and all(f.state == "ended: previous run shown" for f in previous.followers)
        ),
        what="three crashes",
    )
    lines = previous.buffer.drain()[0]
    assert sorted(s for s, _, _ in lines) == [0, 1, 2]
    assert {text for _, _, text in lines} == {"KeyError: 'eu-west-3'"}
