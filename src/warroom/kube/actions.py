"""The playbook's deployment actions: rollout restart, rollout undo and scale.

Each is two steps, both meant for a worker thread: `describe_*` reads the deployment and
returns the exact `Change` (what the confirmation dialog shows), and `apply` sends that very
patch. Undo's patch carries a resourceVersion test, so if the deployment moved after the user
confirmed, the server answers 409 and nothing happens. Failures come back as results with a
plain message, never as exceptions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from warroom.core.text import one_line

from .gateway import REQUEST_TIMEOUT, Gateway, GatewayError, explain

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
REVISION = "deployment.kubernetes.io/revision"
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
"""Annotations that stay the deployment's own through a rollback (kubectl's skip list)."""
HASH_LABEL = "pod-template-hash"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
MERGE = "application/merge-patch+json"


@dataclass(frozen=True)
class Change:
    """One patch, described for a human and ready to send."""

    action: str
    """"rollout restart" | "rollout undo" | "scale"."""
    namespace: str
    deployment: str
    summary: list[str]
    """Lines the confirmation dialog shows: what will be different afterwards."""
    patch: Any = field(repr=False)
    content_type: str = STRATEGIC
    subresource: str = ""
    """"scale" for the Scale subresource, else the deployment itself."""
    to_revision: int | None = None
    """The revision an undo goes back to."""

    @property
    def command(self) -> str:
        """The kubectl command with the same effect, for the timeline."""
        base = f"kubectl -n {self.namespace}"
        if self.action == "scale":
            replicas = self.patch["spec"]["replicas"]
            return f"{base} scale deployment/{self.deployment} --replicas={replicas}"
        if self.to_revision is not None:
            return (
                f"{base} {self.action} deployment/{self.deployment}"
                f" --to-revision={self.to_revision}"
            )
        return f"{base} {self.action} deployment/{self.deployment}"


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str
    change: Change | None
    status: int | None = None
    """The HTTP status of a failure (403, 404, 409...), None on success or network errors."""


def describe_restart(gateway: Gateway, namespace: str, name: str) -> Change | ActionResult:
    """`kubectl rollout restart`: a new restartedAt annotation on the pod template."""
    try:
        deployment = _read(gateway, namespace, name)
    except GatewayError as problem:
        return _failed("rollout restart", problem)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = (deployment["spec"]["template"].get("metadata") or {}).get("annotations") or {}
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
    summary = [
        f"template annotation {RESTARTED_AT}: {old.get(RESTARTED_AT, '(none)')} → {now}",
        f"replaces all {deployment['spec'].get('replicas', 1)} pods, rolling",
    ]
    return Change("rollout restart", namespace, name, summary, patch)


def describe_undo(
    gateway: Gateway, namespace: str, name: str, to_revision: int | None = None
) -> Change | ActionResult:
    """`kubectl rollout undo [--to-revision=N]`: the pod template of that revision's
    ReplicaSet (the previous one if none is named) and, as kubectl does, its annotations (so
    the change-cause comes back with it)."""
    try:
        deployment = _read(gateway, namespace, name)
        replicasets = _owned_replicasets(gateway, deployment)
    except GatewayError as problem:
        return _failed("rollout undo", problem)
    current = int(deployment["metadata"].get("annotations", {}).get(REVISION, "0"))
    if to_revision is None:
        older = [rs for rs in replicasets if _revision(rs) < current]
        if not older:
            return ActionResult(False, f"{name}: no previous revision to roll back to", None)
        target = max(older, key=_revision)
    else:
        found = [rs for rs in replicasets if _revision(rs) == to_revision]
        if not found:
            known = ", ".join(str(n) for n in sorted(map(_revision, replicasets))) or "none"
            return ActionResult(
                False, f"{name}: no revision {to_revision} in its history (it has {known})", None
            )
        target = found[0]
        if to_revision == current:
            return ActionResult(False, f"{name}: revision {current} is the current one", None)
    template = _without_hash(target["spec"]["template"])
    summary = [f"revision {current} → {_revision(target)} (from {target['metadata']['name']})"]
    summary += _template_diff(deployment["spec"]["template"], template)
    cause = (target["metadata"].get("annotations") or {}).get(CHANGE_CAUSE)
    if cause:
        summary.append(f"change-cause: {one_line(str(cause), 200)}")
    patch = [
        {
            "op": "test",
            "path": "/metadata/resourceVersion",
            "value": deployment["metadata"]["resourceVersion"],
        },
        {"op": "replace", "path": "/spec/template", "value": template},
        {
            "op": "replace",
            "path": "/metadata/annotations",
            "value": _undo_annotations(deployment, target),
        },
    ]
    return Change(
        "rollout undo", namespace, name, summary, patch, JSON_PATCH, to_revision=_revision(target)
    )


def _undo_annotations(deployment: dict[str, Any], target: dict[str, Any]) -> dict[str, str]:
    """kubectl's rollback annotations: the deployment's own bookkeeping kept, the rest taken
    from the revision's ReplicaSet."""
    own = deployment["metadata"].get("annotations") or {}
    kept = {k: v for k, v in own.items() if k in NOT_COPIED}
    kept.update(
        {
            k: v
            for k, v in (target["metadata"].get("annotations") or {}).items()
            if k not in NOT_COPIED
        }
    )
    return kept


def describe_scale(
    gateway: Gateway, namespace: str, name: str, replicas: int
) -> Change | ActionResult:
    """`kubectl scale --replicas=N`: the Scale subresource."""
    if replicas < 0:
        return ActionResult(False, f"replicas must be 0 or more, not {replicas}", None)
    try:
        deployment = _read(gateway, namespace, name)
    except GatewayError as problem:
        return _failed("scale", problem)
    now = deployment["spec"].get("replicas", 1)
    summary = [f"replicas {now} → {replicas}"]
    patch = {"spec": {"replicas": replicas}}
    return Change("scale", namespace, name, summary, patch, MERGE, subresource="scale")


def replicas(gateway: Gateway, namespace: str, name: str) -> tuple[int, int]:
    """A deployment's desired and available replicas (what the scale dialog starts from)."""
    deployment = _read(gateway, namespace, name)
    status = deployment.get("status") or {}
    return int(deployment["spec"].get("replicas", 1)), int(status.get("availableReplicas") or 0)


def apply(gateway: Gateway, change: Change) -> ActionResult:
    """Send the described patch; every failure is a result with a plain message."""
    try:
        apps = gateway.apps()
        send = (
            apps.patch_namespaced_deployment_scale
            if change.subresource == "scale"
            else apps.patch_namespaced_deployment
        )
        send(
            change.deployment,
            change.namespace,
            change.patch,
            _content_type=change.content_type,
            _request_timeout=REQUEST_TIMEOUT,
        )
    except Exception as error:
        problem = explain(error)
        if problem.status == 422 and "resourceVersion" in problem.reason:
            problem = GatewayError(
                "409 the deployment changed after it was described",
                "look at it again and retry",
                409,
            )
        return _failed(change.action, problem, change)
    return ActionResult(True, f"{change.command}: done ({'; '.join(change.summary)})", change)


def deployments(gateway: Gateway, namespace: str) -> list[str]:
    """Deployment names for the picker."""
    try:
        listed = gateway.apps().list_namespaced_deployment(
            namespace, _request_timeout=REQUEST_TIMEOUT
        )
    except Exception as error:
        raise explain(error) from None
    return sorted(d.metadata.name for d in listed.items)


def owning_deployment(gateway: Gateway, pod: dict[str, Any]) -> str | None:
    """The deployment a pod (wire form) belongs to, through its ReplicaSet; None if none."""
    meta = pod.get("metadata") or {}
    owner = next(
        (o for o in meta.get("ownerReferences") or [] if o.get("kind") == "ReplicaSet"), None
    )
    if owner is None:
        return None
    try:
        rs = gateway.apps().read_namespaced_replica_set(
            owner["name"], meta["namespace"], _request_timeout=REQUEST_TIMEOUT
        )
    except Exception as error:
        raise explain(error) from None
    return next(
        (o.name for o in rs.metadata.owner_references or [] if o.kind == "Deployment"), None
    )


def pod_deployment(gateway: Gateway, namespace: str, pod: str) -> tuple[str, str] | None:
    """The deployment a pod belongs to and its label selector (`app=checkout`), read from the
    cluster: a pod's own labels may say more than the selector (a version label that differs
    between revisions), so guessing from them would miss the other revisions' pods."""
    try:
        response = gateway.core().read_namespaced_pod(
            pod, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
        )
    except Exception as error:
        raise explain(error) from None
    name = owning_deployment(gateway, json.loads(response.data))
    if name is None:
        return None
    deployment = _read(gateway, namespace, name)
    labels = (deployment["spec"].get("selector") or {}).get("matchLabels") or {}
    return name, ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _failed(action: str, problem: GatewayError, change: Change | None = None) -> ActionResult:
    return ActionResult(False, f"{action} failed: {problem}", change, problem.status)


def _read(gateway: Gateway, namespace: str, name: str) -> dict[str, Any]:
    """The deployment in wire form (the template goes back to the server verbatim)."""
    try:
        response = gateway.apps().read_namespaced_deployment(
            name, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
        )
    except Exception as error:
        raise explain(error) from None
    data: dict[str, Any] = json.loads(response.data)
    return data


def _owned_replicasets(gateway: Gateway, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    meta = deployment["metadata"]
    selector = ",".join(
        f"{k}={v}" for k, v in sorted(deployment["spec"]["selector"]["matchLabels"].items())
    )
    try:
        response = gateway.apps().list_namespaced_replica_set(
            meta["namespace"],
            label_selector=selector,
            _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT,
        )
    except Exception as error:
        raise explain(error) from None
    return [
        rs
        for rs in json.loads(response.data).get("items") or []
        if any(o.get("uid") == meta["uid"] for o in rs["metadata"].get("ownerReferences") or [])
    ]


def _revision(rs: dict[str, Any]) -> int:
    return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    labels.pop(HASH_LABEL, None)
    return {**template, "metadata": {**(template.get("metadata") or {}), "labels": labels}}


def _template_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Image changes per container (what a rollback usually is), or a generic line."""

    def images(template: dict[str, Any]) -> dict[str, str]:
        spec = template.get("spec") or {}
        return {c["name"]: c.get("image", "") for c in spec.get("containers") or []}

    before, after = images(old), images(new)
    lines = [
        f"container {one_line(name)}: {one_line(before.get(name, '(none)'))} → "
        f"{one_line(after.get(name, '(none)'))}"
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]
    return lines or ["pod template restored (no image change)"]
