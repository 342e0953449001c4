"""What the kubelet does with a pod: start containers, pass readiness, crash, back off, restart,
stop on deletion; and the Pod object (status included) that all of that adds up to."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from warroom.core.rfc3339 import format_seconds

from .clock import SECOND
from .logs import Instance
from .workloads import Behaviour

NOTICE_DELAY = SECOND
"""How long a crashed container shows as terminated before the kubelet backs off."""
STOP_DELAY = 2 * SECOND
"""How long a deleted pod shows as Terminating (capped by its grace period)."""
BACKOFF_BASE = 10 * SECOND

Starter = Callable[["Pod", "Container", int], Instance]
"""Creates a new container instance (ID, log script) at a time."""


Happening = tuple[str, str, str, str]
"""(type, reason, message, fieldPath): what the kubelet writes as an event about the pod."""


class LogUnavailable(Exception):
    """The kubelet has no log for this request; the message is the kubelet's own."""


@dataclass
class Container:
    """One container of a pod, with its current and previous runs."""

    name: str
    image: str
    behaviour: Behaviour
    init: bool = False
    sidecar: bool = False
    """An init container with `restartPolicy: Always`: started in init order, then it runs
    (and is restarted) beside the main containers."""
    state: str = "waiting"
    """waiting | running | terminated, as in ContainerStatus.state."""
    reason: str = "ContainerCreating"
    message: str = ""
    restart_count: int = 0
    ready: bool = False
    runs: list[Instance] = field(default_factory=list)
    due: int | None = None
    ready_at: int | None = None

    @property
    def field_path(self) -> str:
        """How events name this container (`involvedObject.fieldPath`)."""
        return f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"

    @property
    def last_terminated(self) -> Instance | None:
        """The run that `lastState.terminated` (and `previous=true` logs) refer to."""
        if self.state == "waiting":
            return self.runs[-1] if self.runs else None
        return self.runs[-2] if len(self.runs) > 1 else None

    def log_run(self, pod: str, previous: bool) -> Instance:
        """The run whose log the kubelet serves, with its error messages otherwise."""
        last = self.last_terminated
        if previous:
            if last is None:
                raise LogUnavailable(
                    f'previous terminated container "{self.name}" in pod "{pod}" not found'
                )
            return last
        if self.state != "waiting":
            return self.runs[-1]
        if last is not None:
            return last
        raise LogUnavailable(
            f'container "{self.name}" in pod "{pod}" is waiting to start: {self.reason}'
        )

    def status(self) -> dict[str, Any]:
        current = self.runs[-1] if self.runs else None
        if self.state == "running" and current:
            state: dict[str, Any] = {"running": {"startedAt": format_seconds(current.started)}}
        elif self.state == "terminated" and current:
            state = {"terminated": _terminated(current)}
        else:
            state = {"waiting": {"reason": self.reason}}
            if self.message:
                state["waiting"]["message"] = self.message
        last = self.last_terminated
        result: dict[str, Any] = {
            "name": self.name,
            "state": state,
            "lastState": {"terminated": _terminated(last)} if last else {},
            "ready": self.ready,
            "restartCount": self.restart_count,
            "image": self.image,
            "imageID": "",
            "started": self.state == "running",
        }
        if current:
            digest = hashlib.sha256(self.image.encode()).hexdigest()
            result["imageID"] = f"{self.image.rsplit(':', 1)[0]}@sha256:{digest}"
            result["containerID"] = current.container_id
        if self.init and not self.sidecar:
            del result["started"]
        return result


def _terminated(run: Instance) -> dict[str, Any]:
    assert run.finished is not None
    return {
        "exitCode": run.exit_code,
        "reason": run.reason,
        "startedAt": format_seconds(run.started),
        "finishedAt": format_seconds(run.finished),
        "containerID": run.container_id,
    }


@dataclass
class Pod:
    """A scheduled pod as its kubelet sees it."""

    namespace: str
    name: str
    uid: str
    created: int
    node: str
    host_ip: str
    ip: str
    labels: dict[str, str]
    spec: dict[str, Any]
    init_containers: list[Container]
    containers: list[Container]
    startup: int = SECOND
    """From creation to the first container start (image pulled, sandbox up)."""
    annotations: dict[str, str] = field(default_factory=dict)
    owner: dict[str, Any] | None = None
    generate_name: str = ""
    deletion: int | None = None
    """deletionTimestamp: when the grace period runs out."""
    stop_at: int | None = None
    sandbox_ready: bool = False
    conditions: dict[str, tuple[bool, int]] = field(default_factory=dict)
    happened: list[Happening] = field(default_factory=list)
    """What the kubelet reported since the cluster last took these (as events)."""

    def __post_init__(self) -> None:
        first = self.init_containers[:1] or self.containers
        for container in first:
            container.due = self.created + self.startup
        if self.init_containers:
            for container in [*self.init_containers, *self.containers]:
                container.reason = "PodInitializing"
        self._refresh_conditions(self.created)

    @property
    def all_containers(self) -> list[Container]:
        return [*self.init_containers, *self.containers]

    @property
    def terminating(self) -> bool:
        return self.deletion is not None

    @property
    def available(self) -> bool:
        """Counted as ready by ReplicaSets and Deployments (minReadySeconds is 0)."""
        return not self.terminating and self.conditions["Ready"][0]

    def container(self, name: str) -> Container | None:
        return next((c for c in self.all_containers if c.name == name), None)

    def due(self) -> int | None:
        """The time of this pod's next lifecycle step."""
        times = [self.stop_at] if self.stop_at is not None else []
        for container in self.all_containers:
            times += [t for t in (container.due, container.ready_at) if t is not None]
        return min(times, default=None)

    def delete(self, now: int, grace: int) -> None:
        self.deletion = now + grace * SECOND
        self.stop_at = now + min(grace * SECOND, STOP_DELAY)

    def step(self, now: int, start: Starter, backoff_cap: int) -> None:
        """Run every lifecycle step that is due at `now`."""
        if self.stop_at is not None and self.stop_at <= now:
            self.stop(now)
            return
        for container in self.all_containers:
            if container.ready_at is not None and container.ready_at <= now:
                container.ready, container.ready_at = True, None
            if container.due is not None and container.due <= now:
                container.due = None
                self._advance(container, now, start, backoff_cap)
        self._refresh_conditions(now)

    def stop(self, now: int) -> None:
        """The kubelet kills the containers of a deleted pod."""
        self.stop_at = None
        for container in self.all_containers:
            container.due = container.ready_at = None
            container.ready = False
            if container.state == "running":
                message = f"Stopping container {container.name}"
                self.happened.append(("Normal", "Killing", message, container.field_path))
                _finish(container, now, 0, "Completed")
        self._refresh_conditions(now)

    def _advance(self, container: Container, now: int, start: Starter, backoff_cap: int) -> None:
        if container.state == "waiting":
            self._start(container, now, start)
        elif container.state == "running":
            code = container.behaviour.exit_code
            _finish(container, now, code, "Completed" if code == 0 else "Error")
            if container.init and not container.sidecar and code == 0:
                self._start_next(container, now, start)
            else:
                container.due = now + NOTICE_DELAY
        else:
            finished = container.runs[-1].finished or now
            backoff = min(backoff_cap, BACKOFF_BASE * 2 ** min(container.restart_count, 16))
            container.state, container.reason = "waiting", "CrashLoopBackOff"
            container.message = (
                f"back-off {backoff // SECOND}s restarting failed container={container.name} "
                f"pod={self.name}_{self.namespace}({self.uid})"
            )
            container.due = max(now, finished + backoff)
            message = (
                f"Back-off restarting failed container {container.name} in pod "
                f"{self.name}_{self.namespace}({self.uid})"
            )
            self.happened.append(("Warning", "BackOff", message, container.field_path))

    def _start(self, container: Container, now: int, start: Starter) -> None:
        if container.runs:
            container.restart_count += 1
        container.runs = [*container.runs[-1:], start(self, container, now)]
        container.state, container.reason, container.message = "running", "", ""
        self.sandbox_ready = True
        behaviour = container.behaviour
        if behaviour.runs_for is not None:
            container.due = now + behaviour.runs_for
        if behaviour.ready_after is not None and (container.sidecar or not container.init):
            container.ready_at = now + behaviour.ready_after
        if container.sidecar and len(container.runs) == 1:
            self._start_next(container, now, start)  # a sidecar's first start ends its init step

    def _start_next(self, done: Container, now: int, start: Starter) -> None:
        index = self.init_containers.index(done)
        for container in self.init_containers[index + 1 : index + 2] or self.containers:
            self._start(container, now, start)

    def _refresh_conditions(self, now: int) -> None:
        initialized = all(self._initialized(c) for c in self.init_containers)
        ready = all(c.ready for c in self._serving)
        for kind, status in (
            ("PodReadyToStartContainers", self.sandbox_ready),
            ("Initialized", initialized),
            ("Ready", ready),
            ("ContainersReady", ready),
            ("PodScheduled", True),
        ):
            previous = self.conditions.get(kind)
            if previous is None or previous[0] != status:
                self.conditions[kind] = (status, now)

    @staticmethod
    def _initialized(container: Container) -> bool:
        """Done with its init step: exited 0, or (a sidecar) started."""
        if container.sidecar:
            return bool(container.runs)
        return container.state == "terminated" and container.runs[-1].exit_code == 0

    @property
    def _serving(self) -> list[Container]:
        """What the pod's readiness needs: the main containers and the sidecars."""
        return [*(c for c in self.init_containers if c.sidecar), *self.containers]

    def manifest(self) -> dict[str, Any]:
        """The Pod object as the API server returns it (without resourceVersion)."""
        metadata: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "uid": self.uid,
            "creationTimestamp": format_seconds(self.created),
            "labels": dict(self.labels),
        }
        if self.generate_name:
            metadata["generateName"] = self.generate_name
        if self.annotations:
            metadata["annotations"] = dict(self.annotations)
        if self.owner:
            metadata["ownerReferences"] = [dict(self.owner)]
        if self.deletion is not None:
            metadata["deletionTimestamp"] = format_seconds(self.deletion)
            metadata["deletionGracePeriodSeconds"] = self.spec["terminationGracePeriodSeconds"]
        status: dict[str, Any] = {
            "phase": self._phase(),
            "conditions": [self._condition(kind) for kind in self.conditions],
            "hostIP": self.host_ip,
            "hostIPs": [{"ip": self.host_ip}],
            "startTime": format_seconds(self.created),
            "qosClass": "Burstable",
        }
        if self.sandbox_ready:
            status["podIP"] = self.ip
            status["podIPs"] = [{"ip": self.ip}]
        if self.init_containers:
            status["initContainerStatuses"] = [c.status() for c in self.init_containers]
        status["containerStatuses"] = [c.status() for c in self.containers]
        return {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": metadata,
            "spec": copy.deepcopy(self.spec),
            "status": status,
        }

    def _phase(self) -> str:
        if self.conditions["Initialized"][0] and any(c.runs for c in self.containers):
            return "Running"
        return "Pending"

    def _condition(self, kind: str) -> dict[str, Any]:
        status, since = self.conditions[kind]
        condition: dict[str, Any] = {
            "type": kind,
            "status": "True" if status else "False",
            "lastProbeTime": None,
            "lastTransitionTime": format_seconds(since),
        }
        if not status and kind == "Initialized":
            pending = [c.name for c in self.init_containers if not self._initialized(c)]
            condition["reason"] = "ContainersNotInitialized"
            condition["message"] = f"containers with incomplete status: [{' '.join(pending)}]"
        elif not status and kind in ("Ready", "ContainersReady"):
            unready = [c.name for c in self._serving if not c.ready]
            condition["reason"] = "ContainersNotReady"
            condition["message"] = f"containers with unready status: [{' '.join(unready)}]"
        return condition


def _finish(container: Container, now: int, exit_code: int, reason: str) -> None:
    run = container.runs[-1]
    run.finished, run.exit_code, run.reason = now, exit_code, reason
    container.state, container.reason, container.ready = "terminated", reason, False
    container.ready_at = None
