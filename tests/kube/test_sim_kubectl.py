"""Stock kubectl against the simulator: if kubectl's printers, watch, logs, scale and rollout
code paths work unmodified, the wire protocol is right."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from warroom.core.rfc3339 import SECOND
from warroom.kube.columns import pod_row
from warroom.kube.sim import ManualClock, Simulator, workloads
from warroom.kube.sim.workloads import Behaviour


@pytest.fixture
def sim_token() -> None:
    """kubectl sends credentials only over TLS (clientcmd drops them for http:// servers), so
    its simulator runs without a token."""
    return None


def rows(output: str) -> dict[str, list[str]]:
    """kubectl's table output by NAME (or NAMESPACE/NAME with -A)."""
    header, *lines = output.splitlines()
    starts = [m.start() for m in re.finditer(r"\S+(?: \S+)*", header)]
    cells = [
        [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        for line in lines
    ]
    namespaced = header.startswith("NAMESPACE")
    return {"/".join(c[:2]) if namespaced else c[0]: c for c in cells}


def test_get_pods_prints_kubectl_columns(kubectl: Any) -> None:
    result = kubectl("get", "pods")
    assert result.stdout.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    table = rows(result.stdout)
    checkout = [cells for name, cells in table.items() if name.startswith("checkout-")]
    assert len(checkout) == 3
    for _, ready, status, restarts, age in checkout:
        assert (ready, status, age) == ("0/1", "CrashLoopBackOff", "34m")
        assert re.fullmatch(r"\d+ \(\d+s ago\)", restarts), restarts
    payments = [cells for name, cells in table.items() if name.startswith("payments-")]
    assert [cells[1:4] for cells in payments] == [["2/2", "Running", "0"]] * 2
    assert result.stderr == ""


def test_get_pods_wide_all_namespaces_and_json(kubectl: Any) -> None:
    table = rows(kubectl("get", "pods", "-A", "-o", "wide").stdout)
    assert {key.split("/")[0] for key in table} == {"default", "kube-system", "shop"}
    coredns = next(cells for key, cells in table.items() if "coredns" in key)
    assert coredns[7].startswith("worker-") and coredns[6].startswith("10.244.")
    listing = json.loads(kubectl("get", "pods", "-o", "json").stdout)
    assert len(listing["items"]) == 8
    assert {item["kind"] for item in listing["items"]} == {"Pod"}
    names = {item["metadata"]["name"] for item in listing["items"]}
    assert names == {key for key in rows(kubectl("get", "pods").stdout)}


def test_get_pods_watch_prints_changes(sim: Simulator, kubectl: Any, streams: list) -> None:
    process, lines = kubectl.stream("get", "pods", "-w")
    streams.append(process)
    lines.until(lambda seen: len(seen) >= 9)
    victim = next(line.split()[0].decode() for line in lines.seen if line.startswith(b"frontend"))
    sim.state.delete_pod("shop", victim)
    lines.until(lambda seen: any(victim.encode() in row and b"Terminating" in row for row in seen))
    sim.advance(3)
    lines.until(
        lambda seen: any(row.startswith(b"frontend") and b"Running" in row for row in seen[9:])
    )


def test_logs_tail_container_and_previous(kubectl: Any) -> None:
    pods = list(rows(kubectl("get", "pods").stdout))
    frontend = next(name for name in pods if name.startswith("frontend"))
    tail = kubectl("logs", frontend, "--tail=3").stdout.splitlines()
    assert len(tail) == 3 and all('"GET /' in line for line in tail)
    checkout = next(name for name in pods if name.startswith("checkout"))
    previous = kubectl("logs", checkout, "--previous").stdout.splitlines()
    assert previous[-1] == "KeyError: 'eu-west-3'"
    payments = next(name for name in pods if name.startswith("payments"))
    result = kubectl("logs", payments, "--tail=1")
    assert "charge authorised" in result.stdout
    assert 'Defaulted container "payments" out of: payments, envoy, migrate (init)' in (
        result.stderr
    )
    assert "up to date" in kubectl("logs", payments, "-c", "migrate").stdout
    missing = kubectl("logs", payments, "-c", "nope", check=False)
    assert missing.returncode != 0
    assert f"container nope is not valid for pod {payments}" in missing.stderr


def test_logs_follow_streams_lines(sim: Simulator, kubectl: Any, streams: list) -> None:
    pods = list(rows(kubectl("get", "pods").stdout))
    frontend = next(name for name in pods if name.startswith("frontend"))
    process, lines = kubectl.stream("logs", "-f", "--tail=1", "--timestamps", frontend)
    streams.append(process)
    lines.until(lambda seen: len(seen) == 1)
    sim.advance(2)
    seen = lines.until(lambda seen: len(seen) >= 7)
    stamps = [line.split()[0] for line in seen]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_get_and_scale_deployments(sim: Simulator, kubectl: Any) -> None:
    table = rows(kubectl("get", "deployments").stdout)
    assert table["checkout"][1:4] == ["0/3", "3", "0"]
    assert table["frontend"][1:4] == ["3/3", "3", "3"]
    result = kubectl("scale", "deployment/checkout", "--replicas=5")
    assert result.stdout.strip() == "deployment.apps/checkout scaled"
    pods = rows(kubectl("get", "pods", "-l", "app=checkout").stdout)
    assert len(pods) == 5
    assert rows(kubectl("get", "deployments").stdout)["checkout"][1] == "0/5"


def test_rollout_restart_and_undo(sim: Simulator, kubectl: Any) -> None:
    before = set(rows(kubectl("get", "pods", "-l", "app=frontend").stdout))
    result = kubectl("rollout", "restart", "deployment/frontend")
    assert result.stdout.strip() == "deployment.apps/frontend restarted"
    sim.advance(5)
    after = rows(kubectl("get", "pods", "-l", "app=frontend").stdout)
    assert len(after) == 3 and not before & set(after)
    assert {cells[2] for cells in after.values()} == {"Running"}

    assert kubectl("rollout", "undo", "deployment/checkout").stdout.strip() == (
        "deployment.apps/checkout rolled back"
    )
    sim.advance(10)
    checkout = rows(kubectl("get", "pods", "-l", "app=checkout").stdout)
    assert [cells[1:4] for cells in checkout.values()] == [["1/1", "Running", "0"]] * 3
    assert "checkout:2.4.1" in kubectl("get", "deployment", "checkout", "-o", "wide").stdout


def test_errors_reach_kubectl_as_the_real_server_sends_them(
    sim: Simulator, kubectl: Any, kubectl_for: Any, tmp_path: Path
) -> None:
    missing = kubectl("get", "pod", "nope", check=False)
    assert missing.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'
    sim.state.forbid_writes = True
    denied = kubectl("scale", "deployment/checkout", "--replicas=1", check=False)
    assert denied.stderr.startswith(
        'Error from server (Forbidden): deployments.apps "checkout" is forbidden: User '
        '"system:anonymous" cannot patch resource "deployments/scale"'
    )
    with Simulator(token="secret", clock=ManualClock()) as secured:
        locked_out = kubectl_for(secured.write_kubeconfig(tmp_path / "secured"))
        unauthorized = locked_out("get", "pods", check=False)
    assert "error: You must be logged in to the server" in unauthorized.stderr


PROXY, APP, JOB = "lab/proxy:1", "lab/app:1", "lab/job:1"


def lab_pod(sim: Simulator, app: str) -> dict[str, Any]:
    return next(
        p for p in sim.state.store.list("pods", "lab") if p["metadata"]["labels"]["app"] == app
    )


def advance_until(sim: Simulator, condition: Any, limit: float = 60) -> None:
    """Move the manual clock in quarter seconds (shorter than any state we look for)."""
    waited = 0.0
    while not condition():
        assert waited < limit, "the cluster never got there"
        sim.advance(0.25)
        waited += 0.25


def test_get_pods_status_follows_the_consoles_rules(sim: Simulator, kubectl: Any) -> None:
    """Sidecars count in READY and RESTARTS, a completed container beside a running one is
    NotReady, a deleted pod is Terminating: kubectl prints what `pod_row` computes."""
    sim.state.images.update(
        {
            PROXY: Behaviour(workloads.envoy, runs_for=4 * SECOND, exit_code=1),
            APP: Behaviour(workloads.generic),
            JOB: Behaviour(workloads.generic, runs_for=3 * SECOND),
        }
    )
    sim.state.add_namespace("lab")
    sidecar = {"name": "proxy", "image": PROXY, "restartPolicy": "Always"}
    app = {"name": "app", "image": APP}
    sim.state.add_deployment("lab", "mesh", [app], init_containers=[sidecar])
    sim.state.add_deployment("lab", "batch", [app, {"name": "job", "image": JOB}])

    def cells(app: str) -> list[str]:
        table = rows(kubectl("get", "pods", "-n", "lab").stdout)
        return next(cells for name, cells in table.items() if name.startswith(app))[1:4]

    def ready(pod: dict[str, Any]) -> bool:
        return any(
            c["type"] == "Ready" and c["status"] == "True" for c in pod["status"]["conditions"]
        )

    advance_until(sim, lambda: ready(lab_pod(sim, "mesh")))
    assert cells("mesh") == ["2/2", "Running", "0"]

    def job_state() -> dict[str, Any]:
        return lab_pod(sim, "batch")["status"]["containerStatuses"][1]["state"]

    advance_until(sim, lambda: "terminated" in job_state())
    assert job_state()["terminated"]["reason"] == "Completed"
    assert cells("batch") == ["1/2", "NotReady", "0"]

    def proxy() -> dict[str, Any]:
        return lab_pod(sim, "mesh")["status"]["initContainerStatuses"][0]

    advance_until(sim, lambda: proxy()["restartCount"] == 1 and proxy()["ready"])
    ready_, status, restarts = cells("mesh")
    assert (ready_, status) == ("2/2", "Running")
    assert re.fullmatch(r"1 \(\d+s ago\)", restarts), restarts

    listing = json.loads(kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]
    table = rows(kubectl("get", "pods", "-A").stdout)
    for pod in listing:
        shown = pod_row(pod).cells(sim.state.now)
        key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        assert table[key][2:6] == [shown[1], shown[2], shown[3], shown[4]], key

    mesh = lab_pod(sim, "mesh")["metadata"]["name"]
    sim.state.delete_pod("lab", mesh)
    assert rows(kubectl("get", "pods", "-n", "lab").stdout)[mesh][2] == "Terminating"


# -- why it crashes, and what changed ---------------------------------------------------------


def checkout_pods(kubectl: Any) -> dict[str, list[str]]:
    return rows(kubectl("get", "pods", "-l", "app=checkout").stdout)


def test_get_events_prints_kubectl_columns(kubectl: Any) -> None:
    result = kubectl("get", "events", "--field-selector", "type=Warning")
    header = result.stdout.splitlines()[0].split()
    assert header == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    lines = result.stdout.splitlines()[1:]
    assert len(lines) == 6  # BackOff and Unhealthy for each of the three checkout pods
    assert {line.split()[2] for line in lines} == {"BackOff", "Unhealthy"}
    assert all(line.split()[3].startswith("pod/checkout-") for line in lines)
    wide = kubectl("get", "events", "-o", "wide", "--field-selector", "reason=BackOff").stdout
    columns = wide.splitlines()[0].split()
    assert columns[-3:] == ["SEEN", "COUNT", "NAME"] and "SUBOBJECT" in columns
    restarts = {name: int(cells[3].split()[0]) for name, cells in checkout_pods(kubectl).items()}
    for line in wide.splitlines()[1:]:
        pod = line.split()[3].removeprefix("pod/")
        assert int(line.split()[-2]) == restarts[pod] + 1
        assert "spec.containers{checkout}" in line and "kubelet, worker-" in line


def test_describe_pod_arranges_state_last_state_probes_and_events(kubectl: Any) -> None:
    pod, cells = next(iter(checkout_pods(kubectl).items()))
    restarts = int(cells[3].split()[0])
    text = kubectl("describe", "pod", pod).stdout
    for expected in (
        f"Name:             {pod}",
        "Controlled By:  ReplicaSet/checkout-",
        "Image:          registry.example.com/shop/checkout:2.5.0",
        "State:          Waiting\n      Reason:       CrashLoopBackOff",
        "Last State:     Terminated\n      Reason:       Error\n      Exit Code:    1",
        f"Restart Count:  {restarts}",
        "Readiness:      http-get http://:8080/healthz delay=0s timeout=1s period=10s",
        "Ready                       False",
    ):
        assert expected in text, expected
    events = text.split("\nEvents:\n")[1]
    backoff = next(line for line in events.splitlines() if "BackOff" in line)
    assert backoff.split()[:2] == ["Warning", "BackOff"]
    assert f"(x{restarts + 1} over" in backoff and "kubelet" in backoff
    assert "Successfully assigned shop/" in events  # the scheduler's new-style event
    deployment = kubectl("describe", "deployment", "checkout").stdout
    assert "NewReplicaSet:   checkout-" in deployment and "(3/3 replicas created)" in deployment
    assert "Scaled up replica set checkout-" in deployment


def test_rollout_history_and_undo_to_a_chosen_revision(sim: Simulator, kubectl: Any) -> None:
    history = kubectl("rollout", "history", "deployment/checkout").stdout.splitlines()
    assert history[0].strip() == "deployment.apps/checkout"
    assert history[1].split() == ["REVISION", "CHANGE-CAUSE"]
    assert [line.split(maxsplit=1) for line in history[2:] if line.strip()] == [
        ["1", "CI pipeline 4522: checkout 2.3.2"],
        ["2", "CI pipeline 4650: checkout 2.4.0 (saved carts)"],
        ["3", "CI pipeline 4711: checkout 2.4.1 (retry payment timeouts)"],
        ["4", "CI pipeline 4790: checkout 2.5.0 (tax rate per region)"],
    ]
    third = kubectl("rollout", "history", "deployment/checkout", "--revision=3").stdout
    assert "with revision #3" in third and "checkout:2.4.1" in third
    missing = kubectl("rollout", "undo", "deployment/checkout", "--to-revision=9", check=False)
    assert "unable to find specified revision 9 in history" in missing.stderr

    undone = kubectl("rollout", "undo", "deployment/checkout", "--to-revision=2")
    assert undone.stdout.strip() == "deployment.apps/checkout rolled back"
    sim.advance(10)
    pods = checkout_pods(kubectl)
    assert [cells[1:4] for cells in pods.values()] == [["1/1", "Running", "0"]] * 3
    wide = kubectl("get", "deployment", "checkout", "-o", "wide").stdout
    assert "checkout:2.4.0" in wide
    after = kubectl("rollout", "history", "deployment/checkout").stdout.splitlines()[2:]
    revisions = [line.split(maxsplit=1) for line in after if line.strip()]
    assert [revision for revision, _ in revisions] == ["1", "3", "4", "5"]
    assert revisions[-1][1] == "CI pipeline 4650: checkout 2.4.0 (saved carts)"


def test_logs_of_a_deployment_and_its_crashed_runs(kubectl: Any) -> None:
    previous = kubectl("logs", "deployment/checkout", "--previous", "--tail=1")
    assert previous.stdout == "KeyError: 'eu-west-3'\n"
    assert previous.stderr.startswith("Found 3 pods, using pod/checkout-")
    frontend = kubectl("logs", "deployment/frontend", "--tail=2").stdout.splitlines()
    assert len(frontend) == 2 and all('"GET /' in line for line in frontend)
    every = kubectl("logs", "-l", "app=checkout", "--prefix", "--tail=1").stdout.splitlines()
    assert len(every) == 3
    crash = r"\[pod/checkout-\S+/checkout\] KeyError: 'eu-west-3'"
    assert all(re.fullmatch(crash, line) for line in every)


def test_the_consoles_describe_arranges_containers_as_kubectl_does(
    sim: Simulator, kubectl: Any
) -> None:
    """Stock kubectl's describe and `describe_pod` on the same pod: the container block (state,
    last state, exit code, times, restarts, probes) line for line."""
    from warroom.kube.describe import describe_pod

    pod = next(
        p
        for p in sim.state.store.list("pods", "shop")
        if p["metadata"]["name"].startswith("checkout")
    )
    theirs = kubectl("describe", "pod", pod["metadata"]["name"]).stdout.splitlines()
    ours = [fact.text for fact in describe_pod(pod, [], sim.state.now)]

    def block(lines: list[str]) -> list[str]:
        return [
            line.rstrip() for line in lines[lines.index("Containers:") : lines.index("Conditions:")]
        ]

    assert block(ours) == block(theirs)
    assert [
        line
        for line in ours
        if line.startswith(
            ("Name:", "Namespace:", "Node:", "Start Time:", "Controlled By:", "Status:")
        )
    ] == [
        line
        for line in theirs
        if line.startswith(
            ("Name:", "Namespace:", "Node:", "Start Time:", "Controlled By:", "Status:")
        )
    ]
