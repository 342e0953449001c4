"""The simulator through the official `kubernetes` client, over HTTP, configured from the
kubeconfig the simulator wrote: what the warroom gateway will rely on."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from warroom.core.rfc3339 import SECOND, format_nano, parse_ns
from warroom.kube.sim import NASTY_LOG_LINES, Flood, ManualClock, Simulator

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


def names(pods: Any) -> list[str]:
    return [p.metadata.name for p in pods.items]


def pod_of(core: client.CoreV1Api, app: str, index: int = 0) -> str:
    return names(core.list_namespaced_pod("shop", label_selector=f"app={app}"))[index]


def events(core: client.CoreV1Api, **kwargs: Any) -> list[dict[str, Any]]:
    """A whole watch, until the server ends it (callers pass timeout_seconds)."""
    return list(watch.Watch().stream(core.list_namespaced_pod, "shop", **kwargs))


def raw_log(api: client.ApiClient, pod: str, **query: Any) -> bytes:
    """GET the log endpoint with any parameters (the generated client has no sinceTime)."""
    method, url, headers, _, _ = api.param_serialize(
        "GET",
        "/api/v1/namespaces/{namespace}/pods/{name}/log",
        path_params={"namespace": "shop", "name": pod},
        query_params=list(query.items()),
        auth_settings=["BearerToken"],
    )
    response = api.call_api(method, url, headers)
    assert response.status == 200, response.read()
    return response.read()


def stamped(body: bytes) -> list[tuple[int, bytes]]:
    """Split `timestamps=true` log output into (ns, text)."""
    result = []
    for line in body.splitlines():
        stamp, _, text = line.partition(b" ")
        result.append((parse_ns(stamp.decode()), text))
    return result


def api_error(error: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    return json.loads(error.value.body)


def test_list_pods_by_namespace_selector_and_page(core: client.CoreV1Api) -> None:
    pods = core.list_namespaced_pod("shop")
    assert len(pods.items) == 8 and pods.metadata.resource_version.isdigit()
    checkout = core.list_namespaced_pod("shop", label_selector="app=checkout").items
    assert len(checkout) == 3
    for pod in checkout:
        status = pod.status.container_statuses[0]
        assert status.state.waiting.reason == "CrashLoopBackOff"
        assert status.restart_count > 0 and status.last_state.terminated.exit_code == 1
        assert pod.metadata.owner_references[0].kind == "ReplicaSet"
        assert pod.metadata.labels["pod-template-hash"] in pod.metadata.name
    one = checkout[1].metadata.name
    assert names(core.list_namespaced_pod("shop", field_selector=f"metadata.name={one}")) == [one]
    everywhere = core.list_pod_for_all_namespaces()
    assert {p.metadata.namespace for p in everywhere.items} == {"default", "kube-system", "shop"}
    first = core.list_namespaced_pod("shop", limit=5)
    rest = core.list_namespaced_pod("shop", limit=5, _continue=first.metadata._continue)
    assert names(first) + names(rest) == names(pods) and rest.metadata._continue is None
    with pytest.raises(ApiException) as error:
        core.list_namespaced_pod("shop", field_selector="spec.bogus=1")
    assert error.value.status == 400


def test_namespaces_list_and_get(core: client.CoreV1Api) -> None:
    listed = {ns.metadata.name for ns in core.list_namespace().items}
    assert listed == {"default", "kube-public", "kube-system", "shop"}
    assert core.read_namespace("shop").status.phase == "Active"
    with pytest.raises(ApiException) as error:
        core.read_namespace("nope")
    assert api_error(error)["message"] == 'namespaces "nope" not found'


def test_watch_resumes_from_a_resource_version(sim: Simulator, core: client.CoreV1Api) -> None:
    start = core.list_namespaced_pod("shop").metadata.resource_version
    victim = pod_of(core, "frontend")
    sim.state.delete_pod("shop", victim)
    sim.advance(5)
    began = time.monotonic()
    seen = events(core, resource_version=start, timeout_seconds=1)
    assert time.monotonic() - began < 5, "timeoutSeconds was not honoured"
    victim_events = [e for e in seen if e["object"].metadata.name == victim]
    assert [e["type"] for e in victim_events][-1] == "DELETED"
    assert victim_events[0]["type"] == "MODIFIED"
    assert victim_events[0]["object"].metadata.deletion_timestamp is not None
    assert any(e["type"] == "ADDED" for e in seen), "no replacement pod was created"
    versions = [int(e["object"].metadata.resource_version) for e in seen]
    assert versions == sorted(versions) and versions[0] > int(start)

    middle = len(seen) // 2
    resumed = events(core, resource_version=str(versions[middle]), timeout_seconds=1)
    assert [(e["type"], e["object"].metadata.name) for e in resumed] == [
        (e["type"], e["object"].metadata.name) for e in seen[middle + 1 :]
    ]


def test_watch_without_a_resource_version_starts_with_the_current_state(
    core: client.CoreV1Api,
) -> None:
    seen = events(core, label_selector="app=payments", timeout_seconds=1)
    assert [e["type"] for e in seen] == ["ADDED", "ADDED"]


def test_watch_sends_bookmarks_when_allowed(sim: Simulator, core: client.CoreV1Api) -> None:
    sim.state.bookmark_interval = 0.2
    start = core.list_namespaced_pod("shop").metadata.resource_version
    sim.state.delete_pod("shop", pod_of(core, "frontend"))
    seen = events(core, resource_version=start, allow_watch_bookmarks=True, timeout_seconds=1)
    bookmarks = [e for e in seen if e["type"] == "BOOKMARK"]
    assert bookmarks, "no BOOKMARK event within a second at a 0.2 s interval"
    assert bookmarks[-1]["raw_object"]["metadata"]["resourceVersion"] == str(sim.state.store.rv)
    assert not [
        e
        for e in events(core, resource_version=start, timeout_seconds=1)
        if e["type"] == "BOOKMARK"
    ]


def test_watch_from_a_compacted_resource_version_is_410_gone(
    sim: Simulator, core: client.CoreV1Api, kubeconfig: Path
) -> None:
    old = core.list_namespaced_pod("shop").metadata.resource_version
    sim.state.delete_pod("shop", pod_of(core, "frontend"))
    sim.state.compact_history()
    with pytest.raises(ApiException) as error:
        events(core, resource_version=old, timeout_seconds=1)
    assert error.value.status == 410

    headers = {"Authorization": f"Bearer {sim.token}"}
    params = {"watch": "1", "resourceVersion": old}
    wire = httpx.get(f"{sim.url}/api/v1/namespaces/shop/pods", params=params, headers=headers)
    assert wire.status_code == 200
    event = json.loads(wire.text)
    assert event["type"] == "ERROR"
    assert event["object"] == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"too old resource version: {old} ({sim.state.store.rv})",
        "reason": "Expired",
        "code": 410,
    }
    fresh = core.list_namespaced_pod("shop").metadata.resource_version
    assert events(core, resource_version=fresh, timeout_seconds=1) == []


def test_a_dropped_watch_ends_without_a_final_event(
    sim: Simulator, core: client.CoreV1Api, wait_for: Any
) -> None:
    start = core.list_namespaced_pod("shop").metadata.resource_version
    outcome: list[Any] = []

    def consume() -> None:
        try:
            for event in watch.Watch().stream(
                core.list_namespaced_pod,
                "shop",
                resource_version=start,
                _request_timeout=(2, 10),
            ):
                outcome.append(event["type"])
            outcome.append("clean end")
        except ProtocolError as error:
            outcome.append(error)

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    sim.state.delete_pod("shop", pod_of(core, "frontend"))
    wait_for(lambda: "MODIFIED" in outcome, what="the deletion event")
    sim.state.drop_watches()
    reader.join(timeout=5)
    assert isinstance(outcome[-1], ProtocolError)
    assert "ERROR" not in outcome


def test_a_stalled_watch_is_only_noticed_by_a_read_timeout(
    sim: Simulator, core: client.CoreV1Api
) -> None:
    stream = core.list_namespaced_pod(
        "shop",
        label_selector="app=payments",
        watch=True,
        _preload_content=False,
        _request_timeout=(2, 0.5),
    )
    assert [json.loads(stream.readline())["type"] for _ in range(2)] == ["ADDED", "ADDED"]
    sim.state.stall_watches()
    sim.state.delete_pod("shop", pod_of(core, "payments"))
    with pytest.raises(ReadTimeoutError):
        stream.readline()
    stream.release_conn()


def test_logs_tail_timestamps_since_time_and_since_seconds(
    sim: Simulator, core: client.CoreV1Api, api: client.ApiClient
) -> None:
    pod = pod_of(core, "frontend")
    tail = stamped(raw_log(api, pod, tailLines=6, timestamps="true"))
    assert len(tail) == 6
    times = [at for at, _ in tail]
    assert times == sorted(times) and times[-1] <= sim.state.now
    assert core.read_namespaced_pod_log(pod, "shop", tail_lines=6).encode().splitlines() == [
        text for _, text in tail
    ]
    since = tail[2][0]
    after = stamped(raw_log(api, pod, sinceTime=format_nano(since), timestamps="true"))
    # The API server hands sinceTime to the kubelet at whole-second precision.
    whole = since // SECOND * SECOND
    assert all(at >= whole for at, _ in after)
    assert after[-4:] == tail[-4:] and after[0][0] < whole + SECOND
    assert raw_log(api, pod, tailLines=1, limitBytes=10) == tail[-1][1][:10]
    recent = stamped(raw_log(api, pod, sinceSeconds=2, timestamps="true"))
    longer = stamped(raw_log(api, pod, sinceSeconds=10, timestamps="true"))
    assert recent == [line for line in longer if line[0] >= sim.state.now - 2 * SECOND]
    assert 4 <= len(recent) <= 7


def test_logs_previous_container_and_their_errors(core: client.CoreV1Api) -> None:
    crashed = pod_of(core, "checkout")
    previous = core.read_namespaced_pod_log(crashed, "shop", previous=True)
    assert previous.splitlines()[-1] == "KeyError: 'eu-west-3'"
    payments = pod_of(core, "payments")
    with pytest.raises(ApiException) as error:
        core.read_namespaced_pod_log(payments, "shop")
    assert error.value.status == 400
    assert api_error(error)["message"] == (
        f"a container name must be specified for pod {payments}, choose one of: "
        "[payments envoy] or one of the init containers: [migrate]"
    )
    migrate = core.read_namespaced_pod_log(payments, "shop", container="migrate")
    assert migrate.splitlines()[-1].endswith("Schema is up to date (version 42)")
    assert "charge authorised" in core.read_namespaced_pod_log(
        payments, "shop", container="payments", tail_lines=1
    )
    frontend = pod_of(core, "frontend")
    with pytest.raises(ApiException) as error:
        core.read_namespaced_pod_log(frontend, "shop", previous=True)
    assert api_error(error)["message"] == (
        f'previous terminated container "frontend" in pod "{frontend}" not found'
    )
    with pytest.raises(ApiException) as error:
        core.read_namespaced_pod_log("nope", "shop")
    assert error.value.status == 404 and api_error(error)["reason"] == "NotFound"


def test_following_a_log_streams_new_lines_until_the_container_crashes(
    sim: Simulator, core: client.CoreV1Api, lines: Any
) -> None:
    pod = pod_of(core, "checkout")

    def state() -> client.V1ContainerState:
        return core.read_namespaced_pod(pod, "shop").status.container_statuses[0].state

    for _ in range(60):
        if state().running:
            break
        sim.advance(1)
    assert state().running, "checkout never restarted"
    stream = core.read_namespaced_pod_log(
        pod, "shop", follow=True, _preload_content=False, _request_timeout=(2, 10)
    )
    reader = lines(stream)
    reader.until(lambda seen: any(b"starting version=2.5.0" in line for line in seen))
    sim.advance(3)
    reader.until(lambda seen: any(b"POST /v1/checkout" in line for line in seen))
    sim.advance(10)
    everything = reader.until_end()
    assert everything[-1] == b"KeyError: 'eu-west-3'\n"
    assert state().running is None


def test_a_cut_log_stream_resumes_by_since_time_without_gaps(
    sim: Simulator, core: client.CoreV1Api, api: client.ApiClient, lines: Any
) -> None:
    pod = pod_of(core, "frontend")
    stream = core.read_namespaced_pod_log(
        pod,
        "shop",
        follow=True,
        timestamps=True,
        tail_lines=1,
        _preload_content=False,
        _request_timeout=(2, 10),
    )
    reader = lines(stream)
    sim.advance(2)
    reader.until(lambda seen: len(seen) >= 6)
    sim.state.end_log_streams()
    first = stamped(b"".join(reader.until_end()))
    sim.advance(3)
    last_seen = first[-1][0]
    resumed = stamped(raw_log(api, pod, sinceTime=format_nano(last_seen), timestamps="true"))
    combined = first + [line for line in resumed if line[0] > last_seen]
    whole = stamped(raw_log(api, pod, sinceTime=format_nano(first[0][0]), timestamps="true"))
    assert combined == [line for line in whole if line[0] >= first[0][0]]
    assert sim.state.store.get("pods", "shop", pod)["status"]["phase"] == "Running"


def test_following_the_log_of_a_deleted_pod_ends(
    sim: Simulator, core: client.CoreV1Api, lines: Any
) -> None:
    pod = pod_of(core, "frontend")
    stream = core.read_namespaced_pod_log(
        pod, "shop", follow=True, tail_lines=0, _preload_content=False, _request_timeout=(2, 10)
    )
    reader = lines(stream)
    sim.advance(1)
    reader.until(lambda seen: len(seen) >= 2)
    core.delete_namespaced_pod(pod, "shop")
    sim.advance(5)
    reader.until_end()
    with pytest.raises(ApiException):
        core.read_namespaced_pod(pod, "shop")


def test_hostile_log_lines_arrive_byte_for_byte(
    sim: Simulator, core: client.CoreV1Api, api: client.ApiClient
) -> None:
    pod = pod_of(core, "frontend")
    sim.state.inject_log_lines("shop", pod)
    body = raw_log(api, pod, tailLines=len(NASTY_LOG_LINES))
    assert body == b"".join(line + b"\n" for line in NASTY_LOG_LINES)
    assert b"\xff\xfe" in body and b"\x1b]0;" in body and b"[red]boom[/red]" in body
    assert max(len(line) for line in body.split(b"\n")) > 1024 * 1024


def test_following_a_flood_delivers_every_numbered_line() -> None:
    with Simulator(Flood(rate=50_000, width=60), clock=ManualClock()) as sim:
        sim.advance(3)
        pod = sim.state.store.list("pods", "bench")[0]["metadata"]["name"]
        url = f"{sim.url}/api/v1/namespaces/bench/pods/{pod}/log"
        received: list[bytes] = []
        with httpx.stream("GET", url, params={"follow": "true"}, timeout=10) as response:
            for line in response.iter_lines():
                received.append(line.encode())
                if len(received) == 60_000:
                    break
                if len(received) == 50_000:
                    sim.advance(1)
    assert [int(line[:10]) for line in received] == list(range(60_000))
    assert {len(line) for line in received} == {60}


def test_deployments_get_list_and_patch(sim: Simulator, apps: client.AppsV1Api) -> None:
    checkout = apps.read_namespaced_deployment("checkout", "shop")
    assert checkout.metadata.annotations["deployment.kubernetes.io/revision"] == "4"
    assert checkout.spec.template.spec.containers[0].image.endswith("checkout:2.5.0")
    assert checkout.status.unavailable_replicas == 3
    assert {d.metadata.name for d in apps.list_namespaced_deployment("shop").items} == {
        "frontend",
        "checkout",
        "payments",
    }
    apps.patch_namespaced_deployment("frontend", "shop", {"spec": {"replicas": 2}})
    sim.advance(5)
    frontend = apps.read_namespaced_deployment("frontend", "shop")
    assert (frontend.spec.replicas, frontend.status.replicas) == (2, 2)
    labelled = apps.patch_namespaced_deployment(
        "frontend", "shop", [{"op": "add", "path": "/metadata/labels/team", "value": "web"}]
    )
    assert labelled.metadata.labels == {"app": "frontend", "team": "web"}
    assert labelled.metadata.generation == frontend.metadata.generation
    with pytest.raises(ApiException) as error:
        apps.patch_namespaced_deployment("frontend", "shop", {"spec": {"replicas": -1}})
    assert error.value.status == 422 and api_error(error)["reason"] == "Invalid"
    with pytest.raises(ApiException) as error:
        apps.read_namespaced_deployment("nope", "shop")
    assert api_error(error)["message"] == 'deployments.apps "nope" not found'


def test_scale_subresource(sim: Simulator, apps: client.AppsV1Api, core: client.CoreV1Api) -> None:
    scale = apps.read_namespaced_deployment_scale("checkout", "shop")
    assert (scale.spec.replicas, scale.status.selector) == (3, "app=checkout")
    apps.patch_namespaced_deployment_scale("checkout", "shop", {"spec": {"replicas": 5}})
    live = [
        p
        for p in core.list_namespaced_pod("shop", label_selector="app=checkout").items
        if p.metadata.deletion_timestamp is None
    ]
    assert len(live) == 5
    with pytest.raises(ApiException) as error:
        apps.replace_namespaced_deployment_scale("checkout", "shop", scale)
    assert error.value.status == 409
    current = apps.read_namespaced_deployment_scale("checkout", "shop")
    current.spec.replicas = 1
    assert apps.replace_namespaced_deployment_scale("checkout", "shop", current).spec.replicas == 1
    sim.advance(5)
    assert len(core.list_namespaced_pod("shop", label_selector="app=checkout").items) == 1


def test_rollout_restart_replaces_every_pod(
    sim: Simulator, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    before = set(names(core.list_namespaced_pod("shop", label_selector="app=frontend")))
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: "now"}}}}}
    apps.patch_namespaced_deployment("frontend", "shop", patch)
    sim.advance(5)
    after = core.list_namespaced_pod("shop", label_selector="app=frontend").items
    assert len(after) == 3 and not before & {p.metadata.name for p in after}
    assert all(p.metadata.annotations[RESTARTED_AT] == "now" for p in after)
    assert all(p.status.container_statuses[0].ready for p in after)
    revisions = {
        rs.metadata.annotations["deployment.kubernetes.io/revision"]: rs.status.replicas
        for rs in apps.list_namespaced_replica_set("shop", label_selector="app=frontend").items
    }
    assert revisions == {"1": 0, "2": 3}


def test_rolling_back_checkout_makes_it_healthy(
    sim: Simulator, apps: client.AppsV1Api, core: client.CoreV1Api, api: client.ApiClient
) -> None:
    owned = apps.list_namespaced_replica_set("shop", label_selector="app=checkout").items
    first = next(
        rs for rs in owned if rs.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    )
    assert first.metadata.owner_references[0].name == "checkout"
    template = api.sanitize_for_serialization(first.spec.template)
    del template["metadata"]["labels"]["pod-template-hash"]
    apps.patch_namespaced_deployment(
        "checkout", "shop", [{"op": "replace", "path": "/spec/template", "value": template}]
    )
    sim.advance(10)
    pods = core.list_namespaced_pod("shop", label_selector="app=checkout").items
    assert len(pods) == 3
    assert all(p.status.container_statuses[0].ready for p in pods)
    assert {p.metadata.labels["pod-template-hash"] for p in pods} == {
        first.metadata.labels["pod-template-hash"]
    }
    checkout = apps.read_namespaced_deployment("checkout", "shop")
    assert checkout.status.available_replicas == 3
    assert checkout.metadata.annotations["deployment.kubernetes.io/revision"] == "5"


def test_a_token_is_required(sim: Simulator, tmp_path: Path) -> None:
    anonymous = sim.write_kubeconfig(tmp_path / "anonymous")
    text = anonymous.read_text().replace(f"token: {sim.token}", "token: wrong")
    anonymous.write_text(text)
    with (
        config.new_client_from_config(config_file=str(anonymous)) as api,
        pytest.raises(ApiException) as error,
    ):
        client.CoreV1Api(api).list_namespaced_pod("shop")
    assert error.value.status == 401
    assert api_error(error)["reason"] == "Unauthorized"
    assert httpx.get(f"{sim.url}/version").status_code == 401


def test_forbidden_writes_are_403_and_reads_still_work(
    sim: Simulator, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    sim.state.forbid_writes = True
    attempts = [
        lambda: apps.patch_namespaced_deployment("checkout", "shop", {"spec": {"replicas": 1}}),
        lambda: apps.patch_namespaced_deployment_scale(
            "checkout", "shop", {"spec": {"replicas": 1}}
        ),
        lambda: core.delete_namespaced_pod(pod_of(core, "frontend"), "shop"),
    ]
    messages = []
    for attempt in attempts:
        with pytest.raises(ApiException) as error:
            attempt()
        assert error.value.status == 403
        messages.append(api_error(error)["message"])
    assert messages[1] == (
        'deployments.apps "checkout" is forbidden: User "warroom" cannot patch resource '
        '"deployments/scale" in API group "apps" in the namespace "shop"'
    )
    assert apps.read_namespaced_deployment("checkout", "shop").spec.replicas == 3


def test_unknown_paths_and_methods_answer_with_status_objects(sim: Simulator) -> None:
    headers = {"Authorization": f"Bearer {sim.token}"}
    missing = httpx.get(f"{sim.url}/apis/batch/v1/namespaces/shop/jobs", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["kind"] == "Status" and missing.json()["reason"] == "NotFound"
    wrong = httpx.post(f"{sim.url}/api/v1/namespaces/shop/pods", headers=headers, json={})
    assert wrong.status_code == 405 and wrong.json()["reason"] == "MethodNotAllowed"
    version = httpx.get(f"{sim.url}/version", headers=headers).json()
    assert (version["major"], version["minor"]) == ("1", "32")
