"""kubectl's STATUS / READY / RESTARTS rules (printPod) as a pure function, and the same rows
as stock `kubectl get pods` prints them against the simulator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from warroom.core.rfc3339 import SECOND
from warroom.kube.columns import human_duration, parse_time, pod_row
from warroom.kube.sim import ManualClock, Simulator

T0 = "2026-11-22T14:00:00Z"
NOW = parse_time("2026-11-22T14:10:00Z") or 0


def pod(
    containers: list[dict[str, Any]],
    init: list[dict[str, Any]] | None = None,
    phase: str = "Running",
    deleting: bool = False,
    conditions: list[dict[str, str]] | None = None,
    init_specs: list[dict[str, Any]] | None = None,
    reason: str = "",
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "namespace": "ns", "uid": "u", "creationTimestamp": T0}
    if deleting:
        meta["deletionTimestamp"] = T0
    status: dict[str, Any] = {"phase": phase, "containerStatuses": containers}
    if init is not None:
        status["initContainerStatuses"] = init
    if conditions:
        status["conditions"] = conditions
    if reason:
        status["reason"] = reason
    spec: dict[str, Any] = {
        "containers": [{"name": f"c{i}"} for i in range(len(containers) or 1)],
        "nodeName": "worker-1",
    }
    if init_specs or init:
        spec["initContainers"] = init_specs or [{"name": f"i{i}"} for i in range(len(init or []))]
    return {"metadata": meta, "spec": spec, "status": status}


def running(ready: bool = True, restarts: int = 0, finished: str | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": "c",
        "ready": ready,
        "restartCount": restarts,
        "state": {"running": {"startedAt": T0}},
    }
    if finished:
        c["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": finished}}
    return c


def waiting(reason: str, restarts: int = 0, finished: str | None = None) -> dict[str, Any]:
    c = running(False, restarts, finished)
    c["state"] = {"waiting": {"reason": reason}}
    return c


def terminated(code: int, reason: str = "", signal: int = 0) -> dict[str, Any]:
    c = running(False)
    c["state"] = {"terminated": {"exitCode": code, "reason": reason, "signal": signal}}
    return c


INITIALIZED = [{"type": "Initialized", "status": "True"}]

CASES = [
    ("running", pod([running()]), "1/1", "Running", "0"),
    ("not ready", pod([running(ready=False)]), "0/1", "Running", "0"),
    (
        "crash loop",
        pod([waiting("CrashLoopBackOff", 3, "2026-11-22T14:07:00Z")]),
        "0/1",
        "CrashLoopBackOff",
        "3 (3m ago)",
    ),
    (
        "creating",
        pod([waiting("ContainerCreating")], phase="Pending"),
        "0/1",
        "ContainerCreating",
        "0",
    ),
    ("pending", pod([], phase="Pending"), "0/1", "Pending", "0"),
    ("exit code", pod([terminated(137)]), "0/1", "ExitCode:137", "0"),
    ("signal", pod([terminated(0, signal=9)]), "0/1", "Signal:9", "0"),
    ("completed", pod([terminated(0, "Completed")], phase="Succeeded"), "0/1", "Completed", "0"),
    ("error", pod([terminated(1, "Error")], phase="Failed"), "0/1", "Error", "0"),
    ("oom", pod([terminated(137, "OOMKilled")]), "0/1", "OOMKilled", "0"),
    (
        "one completed, one running and ready",
        pod(
            [terminated(0, "Completed"), running()],
            conditions=[{"type": "Ready", "status": "True"}],
        ),
        "1/2",
        "Running",
        "0",
    ),
    (
        "one completed, one running, pod not ready",
        pod([terminated(0, "Completed"), running()]),
        "1/2",
        "NotReady",
        "0",
    ),
    ("terminating", pod([running()], deleting=True), "1/1", "Terminating", "0"),
    (
        "deleted but finished",
        pod([terminated(0, "Completed")], phase="Succeeded", deleting=True),
        "0/1",
        "Completed",
        "0",
    ),
    ("node lost", pod([running()], deleting=True, reason="NodeLost"), "1/1", "Unknown", "0"),
    ("evicted", pod([], phase="Failed", reason="Evicted"), "0/1", "Evicted", "0"),
    (
        "init running",
        pod([waiting("PodInitializing")], init=[terminated(0, "Completed"), running(False)]),
        "0/1",
        "Init:1/2",
        "0",
    ),
    (
        "init crash loop",
        pod(
            [waiting("PodInitializing")],
            init=[waiting("CrashLoopBackOff", 4, "2026-11-22T14:09:30Z")],
        ),
        "0/1",
        "Init:CrashLoopBackOff",
        "4 (30s ago)",
    ),
    (
        "init failed",
        pod([waiting("PodInitializing")], init=[terminated(2)]),
        "0/1",
        "Init:ExitCode:2",
        "0",
    ),
    (
        "init error",
        pod([waiting("PodInitializing")], init=[terminated(1, "Error")]),
        "0/1",
        "Init:Error",
        "0",
    ),
    (
        "initialized: restarts of init containers no longer count",
        pod(
            [running()],
            init=[terminated(0, "Completed") | {"restartCount": 2}],
            conditions=INITIALIZED,
        ),
        "1/1",
        "Running",
        "0",
    ),
    (
        "sidecar init container counts as a container",
        pod(
            [running()],
            init=[running() | {"name": "side", "started": True, "restartCount": 1}],
            init_specs=[{"name": "side", "restartPolicy": "Always"}],
            conditions=INITIALIZED,
        ),
        "2/2",
        "Running",
        "1",
    ),
    (
        "scheduling gated",
        pod(
            [], phase="Pending", conditions=[{"type": "PodScheduled", "reason": "SchedulingGated"}]
        ),
        "0/1",
        "SchedulingGated",
        "0",
    ),
]


@pytest.mark.parametrize(
    ("case", "obj", "ready", "status", "restarts"), CASES, ids=[c[0] for c in CASES]
)
def test_kubectl_status_rules(case: str, obj: dict, ready: str, status: str, restarts: str) -> None:
    row = pod_row(obj)
    assert (row.ready, row.status, row.restarts_text(NOW)) == (ready, status, restarts)
    assert (row.age(NOW), row.node) == ("10m", "worker-1")


def test_human_duration_matches_apimachinery() -> None:
    expected = {
        0: "0s",
        119: "119s",
        120: "2m",
        150: "2m30s",
        600: "10m",
        3 * 3600: "3h",
        3 * 3600 + 60: "3h1m",
        10 * 3600: "10h",
        50 * 3600: "2d2h",
        9 * 86400: "9d",
        800 * 86400: "2y70d",
    }
    for seconds, text in expected.items():
        assert human_duration(seconds * SECOND) == text


def test_hostile_pod_fields_are_cleaned() -> None:
    obj = pod([waiting("\x1b]0;pwned\x07Crash\x1b[31mLoop")])
    obj["metadata"]["name"] = "evil\x1b[2Jpod"
    row = pod_row(obj)
    assert (row.name, row.status) == ("evilpod", "CrashLoop")
    bidi = pod([waiting("Crash\u202eLoop\tBack\u200bOff")])
    bidi["spec"]["nodeName"] = "node\u2066-1"
    row = pod_row(bidi)
    assert row.status == "Crash⟨U+202E⟩Loop Back⟨U+200B⟩Off" and row.node == "node⟨U+2066⟩-1"
    assert all(cell.isprintable() for cell in row.cells(NOW))


def _kubectl_rows(output: str) -> dict[str, list[str]]:
    header, *lines = output.splitlines()
    starts = [m.start() for m in re.finditer(r"\S+(?: \S+)*", header)]
    ends = [*starts[1:], None]
    cells = [[line[a:b].strip() for a, b in zip(starts, ends, strict=True)] for line in lines]
    return {f"{c[0]}/{c[1]}": c[2:] for c in cells}


def test_rows_match_kubectl_get_pods(tmp_path: Path, kubectl_for: Any) -> None:
    """Stock kubectl -A -o wide against the simulator: every pod, same cells."""
    with Simulator("bad-deploy", clock=ManualClock()) as sim:
        sim.advance(1)
        kubectl = kubectl_for(sim.write_kubeconfig(tmp_path / "kc"))
        printed = _kubectl_rows(kubectl("get", "pods", "-A", "-o", "wide").stdout)
        now = sim.state.now
        ours = {}
        for obj in sim.state.store.list("pods", None):
            r = pod_row(obj)
            name, ready, status, restarts, age, node = r.cells(now)
            ours[f"{r.namespace}/{name}"] = [ready, status, restarts, age, node]
    assert len(printed) == len(ours) == 12
    theirs = {key: [c[0], c[1], c[2], c[3], c[5]] for key, c in printed.items()}
    assert theirs == ours
    assert any(row[1] == "CrashLoopBackOff" and "ago)" in row[2] for row in ours.values())
