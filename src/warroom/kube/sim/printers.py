"""Server-side printing: the `meta.k8s.io/v1` Table kubectl asks for in `kubectl get`.

kubectl prints only NAME and AGE for objects it gets as plain JSON, so READY, STATUS and
RESTARTS come from here. Pods are printed by `warroom.kube.columns.pod_row`, the rules the
console's pods pane shows (the API server's `printPod`), so stock kubectl tests them too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from warroom.kube.columns import human_duration, parse_time, pod_row

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
    "events": [
        _column("Last Seen"),
        _column("Type"),
        _column("Reason"),
        _column("Object"),
        _column("Subobject", priority=1),
        _column("Source", priority=1),
        _column("Message"),
        _column("First Seen", priority=1),
        _column("Count", "integer", priority=1),
        _column("Name", priority=1, fmt="name"),
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
    created = parse_time(timestamp)
    return "<unknown>" if created is None else human_duration(now - created)


def _pod_cells(pod: Obj, now: int) -> list[Any]:
    """The API server's pod row: STATUS, READY and RESTARTS by the console's own rules."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    shown = pod_row(pod)
    ips = status.get("podIPs") or [{}]
    gates = [gate.get("conditionType") for gate in spec.get("readinessGates") or []]
    true = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
    return [
        pod["metadata"]["name"],
        shown.ready,
        shown.status,
        shown.restarts_text(now),
        shown.age(now),
        ips[0].get("ip") or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        f"{sum(gate in true for gate in gates)}/{len(gates)}" if gates else "<none>",
    ]


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


def _event_cells(obj: Obj, now: int) -> list[Any]:
    """The API server's `printEvent`: new-style events have only an eventTime and no count."""
    first = _since(obj.get("firstTimestamp"), now)
    if not obj.get("firstTimestamp"):
        first = _since(obj.get("eventTime"), now)
    last = _since(obj.get("lastTimestamp"), now) if obj.get("lastTimestamp") else first
    count = obj.get("count") or 1
    series = obj.get("series")
    if series:
        last, count = _since(series.get("lastObservedTime"), now), series.get("count", count)
    ref = obj.get("involvedObject") or {}
    kind = str(ref.get("kind", "")).lower()
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    host = source.get("host") or obj.get("reportingInstance") or ""
    return [
        last,
        obj.get("type", ""),
        obj.get("reason", ""),
        f"{kind}/{ref['name']}" if ref.get("name") else kind,
        ref.get("fieldPath", ""),
        f"{component}, {host}" if host else component,
        str(obj.get("message", "")).strip(),
        first,
        count,
        obj["metadata"]["name"],
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
    "events": _event_cells,
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
