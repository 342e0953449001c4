"""The simulated cluster without HTTP: scenario timelines, controllers, log arithmetic, patches,
selectors and time formats."""

from __future__ import annotations

import pytest

from warroom.core.rfc3339 import SECOND, format_nano, parse_ns
from warroom.kube.columns import human_duration
from warroom.kube.sim import Flood, Shop
from warroom.kube.sim import patch as patches
from warroom.kube.sim.logs import Instance, PeriodicScript, encode, start_cursor, take
from warroom.kube.sim.printers import row
from warroom.kube.sim.selectors import POD_FIELDS, Selector, SelectorError
from warroom.kube.sim.state import REVISION, ClusterState

T0 = 1_750_000_000 * SECOND


def pods(state: ClusterState, app: str) -> list[dict]:
    return [p for p in state.store.list("pods", "shop") if p["metadata"]["labels"]["app"] == app]


def status_column(state: ClusterState, pod: dict) -> str:
    return row("pods", pod, state.now)["cells"][2]


def read(state: ClusterState, pod: str, container: str | None = None, **kwargs) -> list[bytes]:
    run = state.log_source("shop", pod, container, kwargs.pop("previous", False))
    cursor = start_cursor(run, run.until(state.now), **kwargs)
    return [text for _, text in take(run, cursor, run.until(state.now), 10**6)]


def test_bad_deploy_starts_with_checkout_crash_looping_and_the_rest_healthy() -> None:
    state = Shop().build(T0)
    checkout = pods(state, "checkout")
    assert len(checkout) == 3
    for pod in checkout:
        assert status_column(state, pod) == "CrashLoopBackOff"
        status = pod["status"]["containerStatuses"][0]
        assert status["restartCount"] >= 5
        assert status["lastState"]["terminated"]["exitCode"] == 1
        assert status["lastState"]["terminated"]["reason"] == "Error"
    for app in ("frontend", "payments"):
        assert {status_column(state, p) for p in pods(state, app)} == {"Running"}
    assert {p["metadata"]["namespace"] for p in state.store.list("pods")} == {
        "default",
        "kube-system",
        "shop",
    }


def test_healthy_scenario_has_nothing_broken() -> None:
    state = Shop(broken=False).build(T0)
    state.advance_to(T0 + 60 * SECOND)
    for pod in state.store.list("pods"):
        assert status_column(state, pod) == "Running"
        assert all(c["restartCount"] == 0 for c in pod["status"]["containerStatuses"])


def test_checkout_cycles_running_error_backoff_with_rising_restarts() -> None:
    state = Shop().build(T0)
    name = pods(state, "checkout")[0]["metadata"]["name"]
    seen: list[tuple[str, int]] = []
    for step in range(1, 121):
        state.advance_to(T0 + step * SECOND // 2)
        pod = state.store.get("pods", "shop", name)
        entry = (status_column(state, pod), pod["status"]["containerStatuses"][0]["restartCount"])
        if not seen or seen[-1] != entry:
            seen.append(entry)
    statuses = [status for status, _ in seen]
    first = statuses.index("Running")
    assert statuses[first : first + 3] == ["Running", "Error", "CrashLoopBackOff"]
    restarts = [count for _, count in seen]
    assert restarts == sorted(restarts) and restarts[-1] > restarts[0]


def test_crashed_run_logs_errors_and_a_stack_trace_before_it_dies() -> None:
    state = Shop().build(T0)
    name = pods(state, "checkout")[0]["metadata"]["name"]
    lines = read(state, name, previous=True)
    assert b"status=500" in b"\n".join(lines)
    assert lines[-1] == b"KeyError: 'eu-west-3'"
    assert lines[-8].endswith(b"ERROR checkout.worker unhandled exception in worker, shutting down")
    # In back-off the kubelet serves the last run's log, like --previous.
    assert read(state, name) == lines


def test_payments_pods_start_through_their_init_container() -> None:
    state = Shop().build(T0)
    before = {p["metadata"]["name"] for p in pods(state, "payments")}
    state.set_replicas("shop", "payments", 3)
    new = next(p for p in pods(state, "payments") if p["metadata"]["name"] not in before)
    name = new["metadata"]["name"]
    assert status_column(state, new) == "Init:0/1"
    state.advance_to(T0 + 10 * SECOND)
    pod = state.store.get("pods", "shop", name)
    assert status_column(state, pod) == "Running"
    assert row("pods", pod, state.now)["cells"][1] == "2/2"
    init = pod["status"]["initContainerStatuses"][0]["state"]["terminated"]
    assert (init["reason"], init["exitCode"]) == ("Completed", 0)
    assert read(state, name, "migrate")[-1].endswith(b"Schema is up to date (version 42)")


def test_rolling_back_checkout_to_revision_three_makes_it_healthy() -> None:
    state = Shop().build(T0)
    replicasets = {
        rs["metadata"]["annotations"][REVISION]: rs
        for rs in state.store.list("replicasets", "shop")
        if rs["metadata"]["name"].startswith("checkout-")
    }
    assert set(replicasets) == {"1", "2", "3", "4"}
    template = replicasets["3"]["spec"]["template"]
    undo = [{"op": "replace", "path": "/spec/template", "value": template}]
    state.patch_deployment("shop", "checkout", patches.JSON_PATCH, undo)
    state.advance_to(T0 + 10 * SECOND)
    checkout = pods(state, "checkout")
    assert len(checkout) == 3
    assert {status_column(state, p) for p in checkout} == {"Running"}
    assert all(p["status"]["containerStatuses"][0]["ready"] for p in checkout)
    reused = state.store.get("replicasets", "shop", replicasets["3"]["metadata"]["name"])
    assert reused["metadata"]["annotations"][REVISION] == "5"
    assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "3"
    deployment = state.store.get("deployments", "shop", "checkout")
    assert deployment["status"]["availableReplicas"] == 3


def test_deleted_pod_terminates_then_disappears_and_is_replaced() -> None:
    state = Shop().build(T0)
    victim = pods(state, "frontend")[0]["metadata"]["name"]
    deleted = state.delete_pod("shop", victim)
    assert status_column(state, deleted) == "Terminating"
    assert len(pods(state, "frontend")) == 4
    state.advance_to(T0 + 5 * SECOND)
    names = {p["metadata"]["name"] for p in pods(state, "frontend")}
    assert victim not in names and len(names) == 3


def test_flood_logs_numbered_lines_at_its_rate() -> None:
    state = Flood(rate=1000, width=40).build(T0)
    name = state.store.list("pods", "bench")[0]["metadata"]["name"]
    state.advance_to(T0 + 5 * SECOND)
    run = state.log_source("bench", name, None, False)
    lines = take(run, start_cursor(run, state.now), state.now, 10**6)
    assert len(lines) == (state.now - run.started) * 1000 // SECOND
    assert [text[:10] for _, text in lines[:3]] == [b"0000000000", b"0000000001", b"0000000002"]
    assert {len(text) for _, text in lines} == {40}
    assert lines[1][0] - lines[0][0] == SECOND // 1000


def test_log_reads_take_the_tail_then_apply_since_and_merge_injected_lines() -> None:
    script = PeriodicScript((), SECOND, lambda i, offset: b"line %d" % i)
    run = Instance("containerd://x", started=0, script=script)
    run.inject(5 * SECOND, [b"injected"])
    cursor = start_cursor(run, until=10 * SECOND, tail=4)
    assert [t for _, t in take(run, cursor, 10 * SECOND, 100)] == [
        b"injected",
        b"line 5",
        b"line 6",
        b"line 7",
        b"line 8",
        b"line 9",
    ][-4:]
    cursor = start_cursor(run, until=10 * SECOND, since=4 * SECOND + 1, tail=8)
    got = take(run, cursor, 10 * SECOND, 3)
    assert [t for _, t in got] == [b"line 4", b"injected", b"line 5"]
    assert [t for _, t in take(run, cursor, 10 * SECOND, 100)] == [
        b"line 6",
        b"line 7",
        b"line 8",
        b"line 9",
    ]
    assert encode([(1_500_000_000 * SECOND + 120_000_000, b"x")], timestamps=True) == (
        b"2017-07-14T02:40:00.12Z x\n"
    )


def test_kubelet_time_formats() -> None:
    assert format_nano(1_500_000_000 * SECOND) == "2017-07-14T02:40:00Z"
    assert format_nano(1_500_000_000 * SECOND + 5) == "2017-07-14T02:40:00.000000005Z"
    assert parse_ns("2017-07-14T02:40:00.000000005Z") == 1_500_000_000 * SECOND + 5
    assert parse_ns("2017-07-14T04:40:00+02:00") == 1_500_000_000 * SECOND
    assert [human_duration(s * SECOND) for s in (59, 119, 120, 185, 600, 11000, 90000)] == [
        "59s",
        "119s",
        "2m",
        "3m5s",
        "10m",
        "3h3m",
        "25h",
    ]


def test_patch_formats() -> None:
    doc = {
        "spec": {
            "replicas": 1,
            "template": {
                "spec": {
                    "containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]
                }
            },
        },
        "metadata": {"annotations": {"x": "1"}},
    }
    merged = patches.apply(patches.MERGE, doc, {"metadata": {"annotations": {"x": None}}})
    assert merged["metadata"]["annotations"] == {}
    strategic = patches.apply(
        patches.STRATEGIC,
        doc,
        {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}}},
    )
    images = [c["image"] for c in strategic["spec"]["template"]["spec"]["containers"]]
    assert images == ["a:1", "b:2"]
    replaced = patches.apply(
        patches.JSON_PATCH, doc, [{"op": "replace", "path": "/spec/replicas", "value": 4}]
    )
    assert replaced["spec"]["replicas"] == 4 and doc["spec"]["replicas"] == 1
    with pytest.raises(patches.PatchError):
        patches.apply(patches.JSON_PATCH, doc, [{"op": "replace", "path": "/nope/x", "value": 1}])


def test_selectors() -> None:
    pod = {
        "metadata": {"name": "p", "labels": {"app": "web", "tier": "fe"}},
        "status": {"phase": "Running"},
    }

    def match(labels: str = "", fields: str = "") -> bool:
        return Selector.parse(labels, fields, POD_FIELDS).matches(pod)

    assert match("app=web,tier in (fe, be)")
    assert not match("app notin (web)")
    assert match("!canary,tier")
    assert match(fields="metadata.name=p,status.phase!=Pending")
    assert not match(fields="metadata.name==q")
    with pytest.raises(SelectorError, match=r"field label not supported: spec\.bogus"):
        match(fields="spec.bogus=1")
