"""Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for in `kubectl get`.

kubectl prints only NAME and AGE for objects it gets as plain JSON, so READY, STATUS and
RESTARTS come from here, computed with the same rules as the API server's own printers
(`pkg/printers/internalversion`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from warroom.core.rfc3339 import parse_ns
from warroom.kube.columns import human_duration

Obj = dict[str, Any]


def _column(name: str, kind: str = "string", priority: int = 0, fmt: str = "") -> Obj:
    return {"name": name, "type": kind, "format": fmt, "description": "", "priority": priority}


_NAME = _column("Name", fmt="name")
_AGE = _column("Age")
_WIDE_TEMPLATE = [
    _column("Containers", priority=1),
    _column("Images", priority=1),
    _column("Selector", priority=1),
]

COLUMNS: dict[str, list[Obj]] = {
    "namespaces": [_NAME, _column("Status"), _AGE],
    "pods": [
        _NAME,
        _column("Ready"),
        _column("Status"),
        _column("Restarts"),
        _AGE,
        _column("IP", priority=1),
        _column("Node", priority=1),
        _column("Nominated Node", priority=1),
        _column("Readiness Gates", priority=1),
    ],
    "deployments": [
        _NAME,
        _column("Ready"),
        _column("Up-to-date"),
        _column("Available"),
        _AGE,
        *_WIDE_TEMPLATE,
    ],
    "replicasets": [
        _NAME,
        _column("Desired", "integer"),
        _column("Current", "integer"),
        _column("Ready", "integer"),
        _AGE,
        *_WIDE_TEMPLATE,
    ],
}


def _since(timestamp: str | None, now: int) -> str:
    if not timestamp:
        return "<unknown>"
    return human_duration(now - parse_ns(timestamp))


def _pod_cells(pod: Obj, now: int) -> list[Any]:
    spec, status = pod["spec"], pod.get("status", {})
    reason = status.get("reason") or status.get("phase", "")
    ready, total, restarts, last_restart = 0, len(spec.get("containers", [])), 0, 0
    init_specs = spec.get("initContainers", [])
    initializing = False
    for index, container in enumerate(status.get("initContainerStatuses", [])):
        restarts += container.get("restartCount", 0)
        last_restart = max(last_restart, _finished(container.get("lastState", {})))
        state = container.get("state", {})
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        if terminated:
            reason = "Init:" + (terminated.get("reason") or f"ExitCode:{terminated['exitCode']}")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break
    initialized = any(
        c["type"] == "Initialized" and c["status"] == "True" for c in status.get("conditions", [])
    )
    if not initializing or initialized:
        restarts, last_restart, running = 0, 0, False
        for container in reversed(status.get("containerStatuses", [])):
            restarts += container.get("restartCount", 0)
            last_restart = max(last_restart, _finished(container.get("lastState", {})))
            state = container.get("state", {})
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated:
                reason = f"ExitCode:{terminated.get('exitCode', 0)}"
            elif container.get("ready") and "running" in state:
                running = True
                ready += 1
        if reason == "Completed" and running:
            reason = "Running"
    if pod["metadata"].get("deletionTimestamp") and status.get("phase") not in (
        "Succeeded",
        "Failed",
    ):
        reason = "Terminating"
    restarts_text = str(restarts)
    if restarts and last_restart:
        restarts_text = f"{restarts} ({human_duration(now - last_restart)} ago)"
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        reason,
        restarts_text,
        _since(pod["metadata"].get("creationTimestamp"), now),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        "<none>",
    ]


def _finished(last_state: Obj) -> int:
    finished = (last_state.get("terminated") or {}).get("finishedAt")
    return parse_ns(finished) if finished else 0


def _template_cells(obj: Obj) -> list[str]:
    containers = obj["spec"]["template"]["spec"].get("containers", [])
    match = obj["spec"].get("selector", {}).get("matchLabels", {})
    return [
        ",".join(c["name"] for c in containers),
        ",".join(c.get("image", "") for c in containers),
        ",".join(f"{k}={v}" for k, v in sorted(match.items())),
    ]


def _deployment_cells(obj: Obj, now: int) -> list[Any]:
    status = obj.get("status", {})
    return [
        obj["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{obj['spec'].get('replicas', 1)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        _since(obj["metadata"].get("creationTimestamp"), now),
        *_template_cells(obj),
    ]


def _replicaset_cells(obj: Obj, now: int) -> list[Any]:
    status = obj.get("status", {})
    return [
        obj["metadata"]["name"],
        obj["spec"].get("replicas", 1),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        _since(obj["metadata"].get("creationTimestamp"), now),
        *_template_cells(obj),
    ]


def _namespace_cells(obj: Obj, now: int) -> list[Any]:
    return [
        obj["metadata"]["name"],
        obj.get("status", {}).get("phase", "Active"),
        _since(obj["metadata"].get("creationTimestamp"), now),
    ]


_CELLS: dict[str, Callable[[Obj, int], list[Any]]] = {
    "pods": _pod_cells,
    "deployments": _deployment_cells,
    "replicasets": _replicaset_cells,
    "namespaces": _namespace_cells,
}


def row(resource: str, obj: Obj, now: int, include: str = "Metadata") -> Obj:
    """One Table row; `include` is the request's includeObject (None, Metadata, Object)."""
    result: Obj = {"cells": _CELLS[resource](obj, now)}
    if include == "Object":
        result["object"] = obj
    elif include != "None":
        result["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"],
        }
    return result


def table(resource: str, objects: list[Obj], metadata: Obj, now: int, include: str) -> Obj:
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": COLUMNS[resource],
        "rows": [row(resource, obj, now, include) for obj in objects],
    }
