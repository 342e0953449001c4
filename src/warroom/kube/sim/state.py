"""The simulated cluster: a deployment controller, a ReplicaSet controller, a scheduler and the
kubelets, all moved along one clock, writing what they do into the object store.

Every method takes `lock`: the server's handlers, the background ticker and tests (which use
the fault hooks at the bottom) all call in from different threads.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import threading
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from warroom.core.rfc3339 import format_seconds

from . import patch as patches
from .clock import SECOND
from .errors import ApiError, conflict, invalid, not_found
from .events import Recorder, involved
from .logs import Instance
from .notify import Notifier
from .pods import Container, LogUnavailable, Pod
from .store import Obj, Store
from .workloads import HEALTHY, Behaviour

ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""The characters Kubernetes uses for generated name suffixes."""
REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
CHANGE_CAUSE = "kubernetes.io/change-cause"
NOT_COPIED = frozenset(
    {
        REVISION,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "kubectl.kubernetes.io/last-applied-configuration",
    }
)
"""Deployment annotations the controller does not copy onto its ReplicaSets (and that
`kubectl rollout undo` does not copy back)."""

NASTY_LOG_LINES: tuple[bytes, ...] = (
    b"invalid utf-8: \xff\xfe\xc3\x28 end",
    b"ansi: \x1b[31mred\x1b[0m \x1b[2J\x1b[H cleared?",
    b"osc: \x1b]0;pwned title\x07 \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
    b"rich markup: [red]boom[/red] [link=https://evil.example]click[/link] [/]",
    b"huge: " + b"A" * (1024 * 1024),
)
"""Log lines a console must show literally without breaking: see `inject_log_lines`."""


@dataclass(frozen=True)
class Node:
    name: str
    ip: str
    subnet: int
    """Pods on this node get addresses in 10.244.<subnet>.0/24."""


def template_hash(template: Obj) -> str:
    """The pod-template-hash of a pod template (ignoring that label itself).

    Like the real hash (taken over the typed object) it does not tell null or empty fields from
    missing ones, so a template copied back by `kubectl rollout undo` finds its old ReplicaSet.
    """
    clean = _pruned(template)
    clean.get("metadata", {}).get("labels", {}).pop(HASH_LABEL, None)
    digest = hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).digest()
    return "".join(ALPHABET[byte % len(ALPHABET)] for byte in digest[:10])


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def _container_defaults(container: Obj) -> Obj:
    return {
        "imagePullPolicy": "IfNotPresent",
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        **container,
    }


class ClusterState:
    """The cluster's objects and the controllers that move them along `now`."""

    def __init__(self, start: int, seed: int = 7, nodes: int = 3) -> None:
        self.lock = threading.RLock()
        self.store = Store()
        self.notifier = Notifier()
        self.now = start
        """The time the cluster has been advanced to (ns)."""
        self.images: dict[str, Behaviour] = {}
        """What each container image does; unknown images run `workloads.HEALTHY`."""
        self.forbid_writes = False
        """When set, every write (patch, scale, delete) is answered with 403 Forbidden."""
        self.bookmark_interval = 30.0
        """Seconds (real time) between BOOKMARK events on watches that allow them."""
        self.backoff_cap = 300 * SECOND
        """The kubelet's crash-loop back-off ceiling."""
        self.watch_drops = self.watch_stalls = self.log_cuts = 0
        """Fault epochs: each open stream acts when one moves past the value it started with."""
        self.closed = False
        """Set when the server stops: every open stream ends."""
        self._rng = random.Random(seed)
        self._event_rng = random.Random(seed + 1)
        """Event ids come from their own generator: recording events does not change the
        names and ids of everything else."""
        self.recorder = Recorder(
            self.store, lambda: str(uuid.UUID(int=self._event_rng.getrandbits(128), version=4))
        )
        self._pulled: set[tuple[str, str]] = set()
        """(node, image) pairs already pulled: later starts find the image present."""
        self._nodes = [Node(f"worker-{i + 1}", f"10.0.1.{11 + i}", i + 1) for i in range(nodes)]
        self._next_ip = {node.name: 2 for node in self._nodes}
        self._pods: dict[tuple[str, str], Pod] = {}
        self._deployments: dict[tuple[str, str], Obj] = {}
        self._replicasets: dict[tuple[str, str], Obj] = {}

    # -- building a cluster ------------------------------------------------------------------

    def add_namespace(self, name: str) -> None:
        with self.lock:
            self.store.put(
                "namespaces",
                {
                    "kind": "Namespace",
                    "apiVersion": "v1",
                    "metadata": {
                        "name": name,
                        "uid": self._uid(),
                        "creationTimestamp": format_seconds(self.now),
                        "labels": {"kubernetes.io/metadata.name": name},
                    },
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                },
            )
        self.notifier.notify()

    def add_deployment(
        self,
        namespace: str,
        name: str,
        containers: list[Obj],
        replicas: int = 1,
        init_containers: list[Obj] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> None:
        """Create a Deployment whose pods carry `app=<name>`; containers need name and image.
        `annotations` are the deployment's (e.g. `kubernetes.io/change-cause`)."""
        labels = {"app": name}
        spec: Obj = {
            "containers": [_container_defaults(c) for c in containers],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "securityContext": {},
            "schedulerName": "default-scheduler",
        }
        if init_containers:
            spec["initContainers"] = [_container_defaults(c) for c in init_containers]
        with self.lock:
            doc: Obj = {
                "kind": "Deployment",
                "apiVersion": "apps/v1",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "uid": self._uid(),
                    "generation": 1,
                    "creationTimestamp": format_seconds(self.now),
                    "labels": dict(labels),
                    "annotations": dict(annotations or {}),
                },
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": dict(labels)},
                    "template": {"metadata": {"labels": dict(labels)}, "spec": spec},
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
                    },
                    "revisionHistoryLimit": 10,
                    "progressDeadlineSeconds": 600,
                },
                "status": {},
            }
            self._deployments[namespace, name] = doc
            self._reconcile(doc)
        self.notifier.notify()

    # -- time ---------------------------------------------------------------------------------

    def advance_to(self, t: int) -> None:
        """Run every lifecycle step due up to `t`, in time order, then wake the streams."""
        with self.lock:
            while True:
                pod, due = self._next_due()
                if pod is None or due is None or due > t:
                    break
                self.now = max(self.now, due)
                pod.step(self.now, self._start_container, self.backoff_cap)
                self._report(pod)
                if pod.terminating and pod.stop_at is None:
                    self._remove_pod(pod)
                else:
                    self.store.put("pods", pod.manifest())
                self._refresh_statuses()
            self.now = max(self.now, t)
            self.recorder.expire(self.now)
        self.notifier.notify()

    def _next_due(self) -> tuple[Pod | None, int | None]:
        best: tuple[Pod | None, int | None] = (None, None)
        for pod in self._pods.values():
            due = pod.due()
            if due is not None and (best[1] is None or due < best[1]):
                best = (pod, due)
        return best

    # -- API operations -----------------------------------------------------------------------

    def delete_pod(self, namespace: str, name: str, grace: int | None = None) -> Obj:
        """Start a graceful deletion (or remove at once with grace 0); returns the pod."""
        with self.lock:
            pod = self._pods.get((namespace, name))
            if pod is None:
                raise not_found("pods", "", name)
            if grace is None:
                grace = pod.spec.get("terminationGracePeriodSeconds", 30)
            if grace <= 0:
                pod.deletion = self.now
                pod.stop(self.now)
                self._report(pod)
                final = pod.manifest()
                self._remove_pod(pod)
            elif not pod.terminating:
                pod.delete(self.now, grace)
                final = self.store.put("pods", pod.manifest())
            else:
                final = self.store.get("pods", namespace, name) or pod.manifest()
            self._reconcile_owner(pod)
            self._refresh_statuses()
        self.notifier.notify()
        return final

    def patch_deployment(
        self, namespace: str, name: str, content_type: str, body: Any, dry_run: bool = False
    ) -> Obj:
        """Apply a client's patch: spec, labels and annotations change; status is ignored."""
        with self.lock:
            doc = self._deployment(namespace, name)
            try:
                patched = patches.apply(content_type, doc, body)
            except patches.PatchError as error:
                raise ApiError(422, str(error)) from None
            if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
                raise invalid("Deployment", "apps", name, "metadata", "Required value")
            meta = patched["metadata"]
            current_rv = doc["metadata"]["resourceVersion"]
            if meta.get("resourceVersion", current_rv) != current_rv:
                raise conflict("deployments", "apps", name)
            spec = patched.get("spec")
            self._validate(doc, spec)
            updated = copy.deepcopy(doc)
            updated["metadata"]["labels"] = meta.get("labels") or {}
            updated["metadata"]["annotations"] = meta.get("annotations") or {}
            if spec != doc["spec"]:
                updated["spec"] = copy.deepcopy(spec)
                updated["metadata"]["generation"] += 1
            if dry_run:
                return updated
            self._deployments[namespace, name] = updated
            self._reconcile(updated)
            result = self.store.get("deployments", namespace, name)
        self.notifier.notify()
        assert result is not None
        return result

    def scale(self, namespace: str, name: str) -> Obj:
        """The deployment's autoscaling/v1 Scale subresource."""
        with self.lock:
            doc = self.store.get("deployments", namespace, name)
            if doc is None:
                raise not_found("deployments", "apps", name)
            meta = doc["metadata"]
            return {
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "uid": meta["uid"],
                    "resourceVersion": meta["resourceVersion"],
                    "creationTimestamp": meta["creationTimestamp"],
                },
                "spec": {"replicas": doc["spec"]["replicas"]},
                "status": {
                    "replicas": doc["status"].get("replicas", 0),
                    "selector": ",".join(
                        f"{k}={v}"
                        for k, v in sorted(doc["spec"]["selector"]["matchLabels"].items())
                    ),
                },
            }

    def set_replicas(
        self,
        namespace: str,
        name: str,
        replicas: Any,
        resource_version: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """Write the Scale subresource; returns the new Scale."""
        with self.lock:
            doc = self._deployment(namespace, name)
            if resource_version and resource_version != doc["metadata"]["resourceVersion"]:
                raise conflict("deployments", "apps", name)
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise invalid(
                    "Scale",
                    "autoscaling",
                    name,
                    "spec.replicas",
                    f"Invalid value: {json.dumps(replicas)}: must be greater than or equal to 0",
                )
            if not dry_run and replicas != doc["spec"]["replicas"]:
                doc["spec"]["replicas"] = replicas
                doc["metadata"]["generation"] += 1
                self._reconcile(doc)
            result = self.scale(namespace, name)
            if dry_run:
                result["spec"]["replicas"] = replicas
        self.notifier.notify()
        return result

    def log_source(
        self, namespace: str, name: str, container: str | None, previous: bool
    ) -> Instance:
        """The container run a log request reads, with the API server's and kubelet's errors."""
        with self.lock:
            pod = self._pods.get((namespace, name))
            if pod is None:
                raise not_found("pods", "", name)
            chosen = _choose_container(pod, container)
            try:
                return chosen.log_run(name, previous)
            except LogUnavailable as error:
                raise ApiError(400, str(error)) from None

    # -- fault injection (for tests) ------------------------------------------------------------

    def drop_watches(self) -> None:
        """Cut every open watch connection now, without a final event or a clean end."""
        with self.lock:
            self.watch_drops += 1
        self.notifier.notify()

    def stall_watches(self) -> None:
        """Open watches go silent but stay connected: only a client read timeout notices."""
        with self.lock:
            self.watch_stalls += 1
        self.notifier.notify()

    def compact_history(self) -> None:
        """Forget the event history, so watches from any older resourceVersion get 410 Gone."""
        with self.lock:
            self.store.compact()
        self.notifier.notify()

    def end_log_streams(self) -> None:
        """End every open log stream cleanly, as a kubelet or proxy timeout does; pods run on."""
        with self.lock:
            self.log_cuts += 1
        self.notifier.notify()

    def inject_log_lines(
        self,
        namespace: str,
        pod: str,
        lines: Iterable[bytes] = NASTY_LOG_LINES,
        container: str | None = None,
    ) -> None:
        """Make a running container log `lines` now (by default: invalid UTF-8, escape codes,
        Rich markup and a 1 MiB line)."""
        with self.lock:
            found = self._pods.get((namespace, pod))
            if found is None:
                raise KeyError(f"no pod {namespace}/{pod}")
            chosen = _choose_container(found, container)
            if chosen.state != "running":
                raise ValueError(f"container {chosen.name} of {namespace}/{pod} is not running")
            chosen.runs[-1].inject(self.now, list(lines))
        self.notifier.notify()

    def close(self) -> None:
        """Tell every open stream to finish (the server is shutting down)."""
        with self.lock:
            self.closed = True
        self.notifier.notify()

    # -- controllers ----------------------------------------------------------------------------

    def _deployment(self, namespace: str, name: str) -> Obj:
        doc = self._deployments.get((namespace, name))
        if doc is None:
            raise not_found("deployments", "apps", name)
        return doc

    def _validate(self, doc: Obj, spec: Any) -> None:
        name = doc["metadata"]["name"]
        if not isinstance(spec, dict):
            raise invalid("Deployment", "apps", name, "spec", "Required value")
        replicas = spec.get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise invalid(
                "Deployment",
                "apps",
                name,
                "spec.replicas",
                f"Invalid value: {json.dumps(replicas)}: must be greater than or equal to 0",
            )
        if spec.get("selector") != doc["spec"]["selector"]:
            raise invalid(
                "Deployment", "apps", name, "spec.selector", "Invalid value: field is immutable"
            )
        template = spec.get("template")
        labels = (template or {}).get("metadata", {}).get("labels") or {}
        wanted = doc["spec"]["selector"]["matchLabels"]
        if any(labels.get(k) != v for k, v in wanted.items()):
            raise invalid(
                "Deployment",
                "apps",
                name,
                "spec.template.metadata.labels",
                f"Invalid value: {json.dumps(labels)}: `selector` does not match template `labels`",
            )
        containers = (template or {}).get("spec", {}).get("containers")
        if not containers or not all(
            isinstance(c, dict) and c.get("name") and c.get("image") for c in containers
        ):
            raise invalid(
                "Deployment",
                "apps",
                name,
                "spec.template.spec.containers",
                "Required value: every container needs a name and an image",
            )

    def _reconcile(self, deployment: Obj) -> None:
        """Point the deployment at the ReplicaSet of its current template and size them all."""
        wanted = template_hash(deployment["spec"]["template"])
        owned = self._owned_replicasets(deployment)
        top = max((_revision(rs) for rs in owned), default=0)
        current = next((rs for rs in owned if rs["metadata"]["labels"][HASH_LABEL] == wanted), None)
        if current is None:
            current = self._new_replicaset(deployment, wanted, top + 1)
            owned.append(current)
        elif _revision(current) < top:
            annotations = current["metadata"]["annotations"]
            history = annotations.get("deployment.kubernetes.io/revision-history")
            old = annotations[REVISION]
            annotations["deployment.kubernetes.io/revision-history"] = (
                f"{history},{old}" if history else old
            )
            annotations[REVISION] = str(top + 1)
        deployment["metadata"]["annotations"][REVISION] = current["metadata"]["annotations"][
            REVISION
        ]
        annotations = current["metadata"]["annotations"]
        for key, value in deployment["metadata"]["annotations"].items():
            if key not in NOT_COPIED:
                annotations[key] = value
        for rs in owned:
            replicas = deployment["spec"]["replicas"] if rs is current else 0
            before = rs["spec"]["replicas"]
            if before != replicas:
                rs["spec"]["replicas"] = replicas
                rs["metadata"]["generation"] += 1
                way = "up" if replicas > before else "down"
                said = (
                    f"Scaled {way} replica set {rs['metadata']['name']} from {before} to {replicas}"
                )
                self.recorder.record(
                    self.now,
                    involved(deployment),
                    "Normal",
                    "ScalingReplicaSet",
                    said,
                    "deployment-controller",
                )
            self._reconcile_replicaset(rs)
        self._prune_history(deployment, current)
        self._refresh_statuses()

    def _owned_replicasets(self, deployment: Obj) -> list[Obj]:
        uid = deployment["metadata"]["uid"]
        return [
            rs
            for rs in self._replicasets.values()
            if rs["metadata"]["ownerReferences"][0]["uid"] == uid
        ]

    def _new_replicaset(self, deployment: Obj, pod_hash: str, revision: int) -> Obj:
        meta = deployment["metadata"]
        template = copy.deepcopy(deployment["spec"]["template"])
        template["metadata"].setdefault("labels", {})[HASH_LABEL] = pod_hash
        name = f"{meta['name']}-{pod_hash}"
        rs: Obj = {
            "kind": "ReplicaSet",
            "apiVersion": "apps/v1",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "uid": self._uid(),
                "generation": 1,
                "creationTimestamp": format_seconds(self.now),
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {
                    REVISION: str(revision),
                    "deployment.kubernetes.io/desired-replicas": str(
                        deployment["spec"]["replicas"]
                    ),
                    "deployment.kubernetes.io/max-replicas": str(deployment["spec"]["replicas"]),
                },
                "ownerReferences": [_owner_ref("apps/v1", "Deployment", meta)],
            },
            "spec": {
                "replicas": 0,
                "selector": {
                    "matchLabels": {
                        **deployment["spec"]["selector"]["matchLabels"],
                        HASH_LABEL: pod_hash,
                    }
                },
                "template": template,
            },
            "status": {"replicas": 0},
        }
        self._replicasets[meta["namespace"], name] = rs
        return rs

    def _prune_history(self, deployment: Obj, current: Obj) -> None:
        """Delete the oldest idle ReplicaSets beyond revisionHistoryLimit."""
        limit = deployment["spec"].get("revisionHistoryLimit", 10)
        old = sorted(
            (
                rs
                for rs in self._owned_replicasets(deployment)
                if rs is not current and not self._pods_of(rs)
            ),
            key=_revision,
        )
        for rs in old[: max(0, len(old) - limit)]:
            key = (rs["metadata"]["namespace"], rs["metadata"]["name"])
            del self._replicasets[key]
            if self.store.get("replicasets", *key) is not None:
                self.store.delete("replicasets", copy.deepcopy(rs))

    def _pods_of(self, rs: Obj, active: bool = False) -> list[Pod]:
        uid = rs["metadata"]["uid"]
        return [
            pod
            for pod in self._pods.values()
            if pod.owner and pod.owner["uid"] == uid and not (active and pod.terminating)
        ]

    def _reconcile_replicaset(self, rs: Obj) -> None:
        active = self._pods_of(rs, active=True)
        missing = rs["spec"]["replicas"] - len(active)
        for _ in range(missing):
            self._create_pod(rs)
        if missing < 0:
            doomed = sorted(active, key=lambda pod: (pod.available, -pod.created))[:-missing]
            for pod in doomed:
                pod.delete(self.now, pod.spec.get("terminationGracePeriodSeconds", 30))
                self.store.put("pods", pod.manifest())
                self.recorder.record(
                    self.now,
                    involved(rs),
                    "Normal",
                    "SuccessfulDelete",
                    f"Deleted pod: {pod.name}",
                    "replicaset-controller",
                )

    def _reconcile_owner(self, pod: Pod) -> None:
        if pod.owner:
            rs = next(
                (r for r in self._replicasets.values() if r["metadata"]["uid"] == pod.owner["uid"]),
                None,
            )
            if rs is not None:
                self._reconcile_replicaset(rs)

    def _create_pod(self, rs: Obj) -> None:
        meta = rs["metadata"]
        template = rs["spec"]["template"]
        suffix = "".join(self._rng.choice(ALPHABET) for _ in range(5))
        node = min(self._nodes, key=lambda n: sum(p.node == n.name for p in self._pods.values()))
        self._next_ip[node.name] += 1
        spec = copy.deepcopy(template["spec"])
        spec.update(
            nodeName=node.name,
            serviceAccountName="default",
            priority=0,
            enableServiceLinks=True,
            preemptionPolicy="PreemptLowerPriority",
        )

        def containers(key: str, init: bool) -> list[Container]:
            return [
                Container(
                    c["name"],
                    c["image"],
                    self.images.get(c["image"], HEALTHY),
                    init=init,
                    sidecar=init and c.get("restartPolicy") == "Always",
                )
                for c in spec.get(key, [])
            ]

        pod = Pod(
            namespace=meta["namespace"],
            name=f"{meta['name']}-{suffix}",
            uid=self._uid(),
            created=self.now,
            node=node.name,
            host_ip=node.ip,
            ip=f"10.244.{node.subnet}.{self._next_ip[node.name] % 250 + 2}",
            labels=dict(template["metadata"].get("labels", {})),
            annotations=dict(template["metadata"].get("annotations", {})),
            owner=_owner_ref("apps/v1", "ReplicaSet", meta),
            generate_name=f"{meta['name']}-",
            spec=spec,
            startup=SECOND + self._rng.randrange(SECOND),
            init_containers=containers("initContainers", True),
            containers=containers("containers", False),
        )
        self._pods[pod.namespace, pod.name] = pod
        manifest = self.store.put("pods", pod.manifest())
        self.recorder.record(
            self.now,
            involved(rs),
            "Normal",
            "SuccessfulCreate",
            f"Created pod: {pod.name}",
            "replicaset-controller",
        )
        self.recorder.record_new(
            self.now,
            involved(manifest),
            "Normal",
            "Scheduled",
            "Binding",
            f"Successfully assigned {pod.namespace}/{pod.name} to {node.name}",
            "default-scheduler",
            "default-scheduler-control-plane",
        )

    def _remove_pod(self, pod: Pod) -> None:
        del self._pods[pod.namespace, pod.name]
        self.store.delete("pods", pod.manifest())

    def _report(self, pod: Pod) -> None:
        """Record what the pod's kubelet reported as events about the pod."""
        if not pod.happened:
            return
        ref = {
            "kind": "Pod",
            "namespace": pod.namespace,
            "name": pod.name,
            "uid": pod.uid,
            "apiVersion": "v1",
        }
        for kind, reason, message, path in pod.happened:
            self.recorder.record(
                self.now, {**ref, "fieldPath": path}, kind, reason, message, "kubelet", pod.node
            )
        pod.happened.clear()

    def _start_container(self, pod: Pod, container: Container, now: int) -> Instance:
        """A container starts: the kubelet pulls its image (once per node), creates and starts
        it, and a readiness probe that will never pass says why."""
        path, image = container.field_path, container.image
        if (pod.node, image) in self._pulled:
            pod.happened.append(
                ("Normal", "Pulled", f'Container image "{image}" already present on machine', path)
            )
        else:
            self._pulled.add((pod.node, image))
            took = 0.8 + zlib.crc32(f"{pod.node} {image}".encode()) % 2000 / 1000
            size = 40_000_000 + zlib.crc32(image.encode()) % 60_000_000
            pod.happened += [
                ("Normal", "Pulling", f'Pulling image "{image}"', path),
                (
                    "Normal",
                    "Pulled",
                    f'Successfully pulled image "{image}" in {took:.3f}s ({took:.3f}s including '
                    f"waiting). Image size: {size} bytes.",
                    path,
                ),
            ]
        pod.happened += [
            ("Normal", "Created", f"Created container {container.name}", path),
            ("Normal", "Started", f"Started container {container.name}", path),
        ]
        spec: Obj = next(
            (c for c in pod.spec.get("containers") or [] if c.get("name") == container.name), {}
        )
        probe = spec.get("readinessProbe")
        if probe and container.behaviour.ready_after is None and not container.init:
            pod.happened.append(("Warning", "Unhealthy", _probe_failure(pod, probe), path))
        seed = self._rng.getrandbits(32)
        return Instance(
            container_id=f"containerd://{self._rng.getrandbits(256):064x}",
            started=now,
            script=container.behaviour.script(seed, now),
        )

    def _refresh_statuses(self) -> None:
        """Recompute ReplicaSet and Deployment status; store the ones that changed."""
        for rs in self._replicasets.values():
            pods = self._pods_of(rs, active=True)
            ready = sum(pod.available for pod in pods)
            rs["status"] = {
                "replicas": len(pods),
                **_nonzero(
                    fullyLabeledReplicas=len(pods),
                    readyReplicas=ready,
                    availableReplicas=ready,
                    observedGeneration=rs["metadata"]["generation"],
                ),
            }
            self._save("replicasets", rs)
        for deployment in self._deployments.values():
            self._deployment_status(deployment)
            self._save("deployments", deployment)

    def _deployment_status(self, deployment: Obj) -> None:
        owned = self._owned_replicasets(deployment)
        wanted = template_hash(deployment["spec"]["template"])
        current = next(rs for rs in owned if rs["metadata"]["labels"][HASH_LABEL] == wanted)
        pods = [pod for rs in owned for pod in self._pods_of(rs, active=True)]
        updated = len(self._pods_of(current, active=True))
        available = sum(pod.available for pod in pods)
        desired = deployment["spec"]["replicas"]
        old = deployment["status"].get("conditions", [])
        rs_name = current["metadata"]["name"]
        enough = available >= desired - desired // 4
        done = updated == desired == len(pods) and available == desired
        deployment["status"] = _nonzero(
            observedGeneration=deployment["metadata"]["generation"],
            replicas=len(pods),
            updatedReplicas=updated,
            readyReplicas=available,
            availableReplicas=available,
            unavailableReplicas=max(0, desired - available),
        )
        deployment["status"]["conditions"] = [
            self._condition(
                old,
                "Available",
                enough,
                "MinimumReplicasAvailable" if enough else "MinimumReplicasUnavailable",
                "Deployment has minimum availability."
                if enough
                else "Deployment does not have minimum availability.",
            ),
            self._condition(
                old,
                "Progressing",
                True,
                "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
                f'ReplicaSet "{rs_name}" has successfully progressed.'
                if done
                else f'ReplicaSet "{rs_name}" is progressing.',
            ),
        ]

    def _condition(self, old: list[Obj], kind: str, status: bool, reason: str, message: str) -> Obj:
        text = "True" if status else "False"
        previous = next((c for c in old if c["type"] == kind), None)
        now = format_seconds(self.now)
        if previous and (previous["status"], previous["reason"], previous["message"]) == (
            text,
            reason,
            message,
        ):
            return previous
        return {
            "type": kind,
            "status": text,
            "lastUpdateTime": now,
            "lastTransitionTime": (
                previous["lastTransitionTime"] if previous and previous["status"] == text else now
            ),
            "reason": reason,
            "message": message,
        }

    def _save(self, resource: str, doc: Obj) -> None:
        meta = doc["metadata"]
        if self.store.get(resource, meta["namespace"], meta["name"]) != doc:
            stored = self.store.put(resource, copy.deepcopy(doc))
            meta["resourceVersion"] = stored["metadata"]["resourceVersion"]

    def _uid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


def _choose_container(pod: Pod, name: str | None) -> Container:
    """The API server's container defaulting for logs, with its exact error messages."""
    if name:
        found = pod.container(name)
        if found is None:
            raise ApiError(400, f"container {name} is not valid for pod {pod.name}")
        return found
    if len(pod.containers) == 1:
        return pod.containers[0]
    message = (
        f"a container name must be specified for pod {pod.name}, choose one of: "
        f"[{' '.join(c.name for c in pod.containers)}]"
    )
    if pod.init_containers:
        message += (
            f" or one of the init containers: [{' '.join(c.name for c in pod.init_containers)}]"
        )
    raise ApiError(400, message)


def _probe_failure(pod: Pod, probe: Obj) -> str:
    """What the kubelet says when a readiness probe finds nobody listening."""
    http = probe.get("httpGet")
    if http:
        port = http.get("port", 80)
        return (
            f'Readiness probe failed: Get "http://{pod.ip}:{port}{http.get("path", "/")}": '
            f"dial tcp {pod.ip}:{port}: connect: connection refused"
        )
    port = (probe.get("tcpSocket") or {}).get("port", 80)
    return f"Readiness probe failed: dial tcp {pod.ip}:{port}: connect: connection refused"


def _revision(rs: Obj) -> int:
    return int(rs["metadata"]["annotations"][REVISION])


def _owner_ref(api_version: str, kind: str, meta: Obj) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _nonzero(**fields: int) -> Obj:
    """Status integers as the API serialises them: zero values are omitted."""
    return {key: value for key, value in fields.items() if value}
