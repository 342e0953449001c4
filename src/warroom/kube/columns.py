"""kubectl's pod columns (NAME, READY, STATUS, RESTARTS, AGE, NODE) as a pure function of a pod.

It follows `printPod` in kubernetes/pkg/printers/internalversion, so the console's STATUS says
exactly what `kubectl get pods` would; the simulator's server-side Table prints pods with it
too, so one set of rules is tested by the console's tests and by stock kubectl. It reads the
wire form of a pod (camelCase dicts, as a watch delivers them) and imports no Kubernetes
client, so it is cheap and unit-testable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from warroom.core.rfc3339 import SECOND, parse_ns
from warroom.core.text import one_line

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PodRow:
    """One pod as kubectl prints it; times stay absolute so AGE can be rendered at any `now`."""

    uid: str
    namespace: str
    name: str
    ready: str
    status: str
    restarts: int
    last_restart: int | None
    """When the last restarted container finished (ns since the epoch), for "(3m ago)"."""
    created: int | None
    node: str
    workload: str = ""
    """What runs the pod: its Deployment's name for a ReplicaSet's pod (the ReplicaSet's name
    without the pod-template-hash), else its owner's ("" for a bare pod). Pods replaced by a
    rollout keep it, so the cursor can stay with them."""

    def restarts_text(self, now: int) -> str:
        if self.restarts and self.last_restart:
            return f"{self.restarts} ({human_duration(now - self.last_restart)} ago)"
        return str(self.restarts)

    def age(self, now: int) -> str:
        return "<unknown>" if self.created is None else human_duration(now - self.created)

    def cells(self, now: int) -> tuple[str, str, str, str, str, str]:
        """NAME, READY, STATUS, RESTARTS, AGE, NODE."""
        return (
            self.name,
            self.ready,
            self.status,
            self.restarts_text(now),
            self.age(now),
            self.node,
        )


def parse_time(text: str | None) -> int | None:
    """A `metav1.Time` to ns since the epoch; None if absent or not a time (AGE `<unknown>`)."""
    if not text:
        return None
    try:
        return parse_ns(text)
    except (TypeError, ValueError):
        return None


def human_duration(ns: int) -> str:
    """apimachinery's `duration.HumanDuration`: what AGE and "(3m ago)" show."""
    seconds = ns // SECOND
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y{rest}d" if rest else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _finished(container: Obj) -> int:
    terminated = (container.get("lastState") or {}).get("terminated") or {}
    return parse_time(terminated.get("finishedAt")) or 0


def _condition(status: Obj, kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or []
    )


def _exit_reason(terminated: Obj, prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def pod_row(pod: Obj) -> PodRow:
    """kubectl's row for a pod (wire-format dict)."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_specs = spec.get("initContainers") or []
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or []) + len(sidecars)
    ready = restarts = sidecar_restarts = 0
    last_restart = sidecar_last = 0
    initializing = False
    for index, container in enumerate(status.get("initContainerStatuses") or []):
        count, finished = container.get("restartCount", 0), _finished(container)
        restarts += count
        last_restart = max(last_restart, finished)
        sidecar = container.get("name") in sidecars
        if sidecar:
            sidecar_restarts += count
            sidecar_last = max(sidecar_last, finished)
        state = container.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        if sidecar and container.get("started"):
            ready += bool(container.get("ready"))
            continue
        if terminated:
            reason = _exit_reason(terminated, "Init:")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break
    if not initializing or _condition(status, "Initialized"):
        restarts, last_restart, running = sidecar_restarts, sidecar_last, False
        for container in reversed(status.get("containerStatuses") or []):
            restarts += container.get("restartCount", 0)
            last_restart = max(last_restart, _finished(container))
            state = container.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated:
                reason = _exit_reason(terminated)
            elif container.get("ready") and state.get("running") is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            reason = "Running" if _condition(status, "Ready") else "NotReady"
    if meta.get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return PodRow(
        uid=meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}",
        namespace=one_line(meta.get("namespace") or ""),
        name=one_line(meta.get("name") or ""),
        ready=f"{ready}/{total}",
        status=one_line(reason),
        restarts=restarts,
        last_restart=last_restart or None,
        created=parse_time(meta.get("creationTimestamp")),
        node=one_line(spec.get("nodeName") or "<none>"),
        workload=_workload(meta),
    )


def _workload(meta: Obj) -> str:
    owners = meta.get("ownerReferences") or []
    owner = next((o for o in owners if o.get("controller")), owners[0] if owners else None)
    if not owner:
        return ""
    name = str(owner.get("name") or "")
    suffix = "-" + str((meta.get("labels") or {}).get("pod-template-hash") or "")
    if owner.get("kind") == "ReplicaSet" and len(suffix) > 1 and name.endswith(suffix):
        name = name[: -len(suffix)]
    return one_line(name)
