"""`kubectl describe pod` and `kubectl describe deployment`, as lines a pane can show and pin.

Pure functions of the wire form (and the events rows): no client. The arrangement follows
kubectl's describers: the pod's identity, each container with State, Last State (reason, exit
code, started, finished), Ready, Restart Count and its probes, the Conditions table and the
Events table ("16s (x44 over 34m)"); the deployment's replicas, strategy, template,
conditions, old and new ReplicaSets and events. Every line knows what pinning it records
(`Fact.evidence`): "Exit Code: 1" alone says little, so a container's state lines pin the
whole state ("checkout last state: Terminated, reason Error, exit code 1, finished ...").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from warroom.core.text import one_line

from .columns import parse_time, pod_row
from .events import EventRow
from .watch import Obj

LABEL = 18
"""kubectl's first column: `Service Account:  `."""
FIELD = 16
"""A container's field column: `Container ID:   `."""


@dataclass(frozen=True)
class Fact:
    """One line of a describe, and what pinning it records ("" for a heading)."""

    text: str
    evidence: str = ""
    bad: bool = False
    """Something wrong: a crash, a failed probe, a Warning event, not ready."""


def _s(value: Any, limit: int = 500) -> str:
    return one_line("" if value is None else str(value), limit)


def _time(text: str | None, tz: tzinfo) -> str:
    """kubectl's describe times (RFC 1123 with a numeric zone), in `tz`."""
    ns = parse_time(text)
    if ns is None:
        return "<unknown>"
    moment = datetime.fromtimestamp(ns // 1_000_000_000, UTC).astimezone(tz)
    return moment.strftime("%a, %d %b %Y %H:%M:%S %z")


def _pairs(mapping: Any) -> list[str]:
    if not isinstance(mapping, dict) or not mapping:
        return ["<none>"]
    return [f"{_s(k, 200)}={_s(v)}" for k, v in sorted(mapping.items())]


def _annotations(mapping: Any) -> list[str]:
    if not isinstance(mapping, dict) or not mapping:
        return ["<none>"]
    return [f"{_s(k, 200)}: {_s(v)}" for k, v in sorted(mapping.items())]


class _Lines:
    """Describe's output being built: `field` aligns labels, `more` continues a value."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.facts: list[Fact] = []

    def field(
        self, label: str, value: Any, indent: int = 0, width: int = LABEL, evidence: str = ""
    ) -> None:
        values = value if isinstance(value, list) else [_s(value)]
        pad = " " * indent
        head = f"{pad}{label}:".ljust(indent + width)
        said = evidence or f"{self.subject}: {label}: {', '.join(values)}"
        bad = False
        for index, text in enumerate(values):
            prefix = head if index == 0 else " " * len(head)
            self.facts.append(Fact(f"{prefix}{text}", said, bad))

    def heading(self, text: str) -> None:
        self.facts.append(Fact(text))

    def line(self, text: str, evidence: str = "", bad: bool = False) -> None:
        self.facts.append(Fact(text, evidence, bad))

    def mark_bad(self, count: int) -> None:
        """The last `count` lines show something wrong."""
        for index in range(len(self.facts) - count, len(self.facts)):
            fact = self.facts[index]
            self.facts[index] = Fact(fact.text, fact.evidence, True)


def _probe(probe: Any) -> str:
    """kubectl's probe line: `http-get http://:8080/healthz delay=0s timeout=1s period=10s
    #success=1 #failure=3`."""
    if not isinstance(probe, dict):
        return "<unknown>"
    if isinstance(probe.get("httpGet"), dict):
        http = probe["httpGet"]
        scheme = _s(http.get("scheme") or "HTTP").lower()
        what = f"http-get {scheme}://{_s(http.get('host') or '')}:{_s(http.get('port'))}"
        what += _s(http.get("path") or "")
    elif isinstance(probe.get("tcpSocket"), dict):
        what = f"tcp-socket :{_s(probe['tcpSocket'].get('port'))}"
    elif isinstance(probe.get("exec"), dict):
        what = "exec [" + " ".join(_s(a, 100) for a in probe["exec"].get("command") or []) + "]"
    elif isinstance(probe.get("grpc"), dict):
        what = f"grpc <pod>:{_s(probe['grpc'].get('port'))}"
    else:
        what = "unknown"
    return (
        f"{what} delay={_s(probe.get('initialDelaySeconds', 0))}s "
        f"timeout={_s(probe.get('timeoutSeconds', 1))}s "
        f"period={_s(probe.get('periodSeconds', 10))}s "
        f"#success={_s(probe.get('successThreshold', 1))} "
        f"#failure={_s(probe.get('failureThreshold', 3))}"
    )


def _state(lines: _Lines, label: str, state: Any, name: str, tz: tzinfo) -> None:
    """A container's State or Last State block, pinned as one sentence."""
    state = state if isinstance(state, dict) else {}
    indent, said = 4, label.lower()
    if isinstance(state.get("running"), dict):
        started = _time(state["running"].get("startedAt"), tz)
        evidence = f"container {name} {said}: Running since {started}"
        lines.field(label, "Running", indent, FIELD, evidence)
        lines.field("Started", started, indent + 2, FIELD - 2, evidence)
    elif isinstance(state.get("waiting"), dict):
        waiting = state["waiting"]
        reason = _s(waiting.get("reason"))
        evidence = f"container {name} {said}: Waiting ({reason})"
        if waiting.get("message"):
            evidence += f": {_s(waiting['message'])}"
        lines.field(label, "Waiting", indent, FIELD, evidence)
        if reason:
            lines.field("Reason", reason, indent + 2, FIELD - 2, evidence)
            lines.mark_bad(2 if reason not in ("ContainerCreating", "PodInitializing") else 0)
    elif isinstance(state.get("terminated"), dict):
        done = state["terminated"]
        code = done.get("exitCode", 0)
        reason = _s(done.get("reason"))
        evidence = (
            f"container {name} {said}: Terminated, reason {reason or 'none'}, exit code {code}, "
            f"started {_time(done.get('startedAt'), tz)}, "
            f"finished {_time(done.get('finishedAt'), tz)}"
        )
        lines.field(label, "Terminated", indent, FIELD, evidence)
        rows = 1
        if reason:
            lines.field("Reason", reason, indent + 2, FIELD - 2, evidence)
            rows += 1
        if done.get("message"):
            lines.field("Message", _s(done["message"]), indent + 2, FIELD - 2, evidence)
            rows += 1
        lines.field("Exit Code", code, indent + 2, FIELD - 2, evidence)
        if done.get("signal"):
            lines.field("Signal", done["signal"], indent + 2, FIELD - 2, evidence)
            rows += 1
        lines.field("Started", _time(done.get("startedAt"), tz), indent + 2, FIELD - 2, evidence)
        lines.field("Finished", _time(done.get("finishedAt"), tz), indent + 2, FIELD - 2, evidence)
        rows += 3
        if code != 0 or reason in ("OOMKilled", "Error"):
            lines.mark_bad(rows)
    else:
        lines.field(label, "<none>" if label == "Last State" else "Unknown", indent, FIELD)


def _containers(
    lines: _Lines, specs: list[Obj], statuses: list[Obj], tz: tzinfo, heading: str
) -> None:
    if not specs:
        return
    lines.heading(f"{heading}:")
    by_name = {s.get("name"): s for s in statuses if isinstance(s, dict)}
    for spec in specs:
        name = _s(spec.get("name"), 253)
        status = by_name.get(spec.get("name")) or {}
        lines.heading(f"  {name}:")
        lines.subject = f"container {name}"
        if status.get("containerID"):
            lines.field("Container ID", _s(status["containerID"]), 4, FIELD)
        lines.field("Image", _s(spec.get("image")), 4, FIELD)
        if status.get("imageID"):
            lines.field("Image ID", _s(status["imageID"]), 4, FIELD)
        ports = spec.get("ports") or []
        ports_text = ", ".join(
            f"{_s(p.get('containerPort'))}/{_s(p.get('protocol') or 'TCP')}" for p in ports
        )
        lines.field("Port", ports_text or "<none>", 4, FIELD)
        host_ports = ", ".join(
            f"{_s(p.get('hostPort', 0))}/{_s(p.get('protocol') or 'TCP')}" for p in ports
        )
        lines.field("Host Port", host_ports or "<none>", 4, FIELD)
        _state(lines, "State", status.get("state"), name, tz)
        _state(lines, "Last State", status.get("lastState"), name, tz)
        ready = bool(status.get("ready"))
        lines.field("Ready", "True" if ready else "False", 4, FIELD)
        if not ready:
            lines.mark_bad(1)
        restarts = status.get("restartCount", 0)
        lines.field("Restart Count", restarts, 4, FIELD)
        if restarts:
            lines.mark_bad(1)
        for probe in ("liveness", "readiness", "startup"):
            if spec.get(f"{probe}Probe"):
                lines.field(probe.title(), _probe(spec[f"{probe}Probe"]), 4, FIELD)
        env = [
            f"{_s(e.get('name'))}: {_s(e.get('value', '<set from a source>'))}"
            for e in spec.get("env") or []
            if isinstance(e, dict)
        ]
        lines.field("Environment", env or "<none>", 4, FIELD)
        mounts = [
            f"{_s(m.get('mountPath'))} from {_s(m.get('name'))} "
            f"({'ro' if m.get('readOnly') else 'rw'})"
            for m in spec.get("volumeMounts") or []
            if isinstance(m, dict)
        ]
        lines.field("Mounts", mounts or "<none>", 4, FIELD)


def _events(lines: _Lines, events: Iterable[EventRow], now: int) -> None:
    """describe's Events table, oldest first as kubectl sorts it."""
    rows = sorted(events, key=lambda r: (r.last or 0, r.uid))
    if not rows:
        lines.line("Events:           <none>")
        return
    lines.heading("Events:")
    ages = [r.age(now) for r in rows]
    widths = [
        max(4, *(len(r.type) for r in rows)),
        max(6, *(len(r.reason) for r in rows)),
        max(3, *(len(a) for a in ages)),
        max(4, *(len(r.source.split(",")[0]) for r in rows)),
    ]
    header = ("Type", "Reason", "Age", "From")
    lines.heading(
        "  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  Message"
    )
    lines.heading(
        "  "
        + "  ".join(("-" * len(h)).ljust(w) for h, w in zip(header, widths, strict=True))
        + "  -------"
    )
    for row, age in zip(rows, ages, strict=True):
        cells = (row.type, row.reason, age, row.source.split(",")[0])
        text = "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        lines.line(f"{text}  {row.message}", f"{row.object}: {row.evidence()}", row.warning)


def describe_pod(pod: Obj, events: Iterable[EventRow], now: int, tz: tzinfo = UTC) -> list[Fact]:
    """`kubectl describe pod`: the pod (wire form) and its events."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    name = _s(meta.get("name"), 253)
    lines = _Lines(f"pod/{name}")
    lines.field("Name", name)
    lines.field("Namespace", _s(meta.get("namespace")))
    lines.field("Priority", spec.get("priority", 0))
    lines.field("Service Account", _s(spec.get("serviceAccountName") or "default"))
    node = _s(spec.get("nodeName") or "<none>")
    lines.field("Node", f"{node}/{_s(status.get('hostIP'))}" if status.get("hostIP") else node)
    lines.field("Start Time", _time(status.get("startTime"), tz))
    lines.field("Labels", _pairs(meta.get("labels")))
    lines.field("Annotations", _annotations(meta.get("annotations")))
    shown = pod_row(pod).status
    phase = "Terminating" if meta.get("deletionTimestamp") else _s(status.get("phase"))
    lines.field("Status", phase, evidence=f"pod/{name}: Status {phase} (STATUS {shown})")
    for key in ("reason", "message"):
        if status.get(key):
            lines.field(key.title(), _s(status[key]))
            lines.mark_bad(1)
    lines.field("IP", _s(status.get("podIP") or "<none>"))
    owners = meta.get("ownerReferences") or []
    if owners:
        owner = owners[0]
        controller = f"{_s(owner.get('kind'))}/{_s(owner.get('name'), 253)}"
        lines.field("Controlled By", controller, width=16)  # kubectl's next tab block
    _containers(
        lines,
        spec.get("initContainers") or [],
        status.get("initContainerStatuses") or [],
        tz,
        "Init Containers",
    )
    _containers(
        lines, spec.get("containers") or [], status.get("containerStatuses") or [], tz, "Containers"
    )
    lines.subject = f"pod/{name}"
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    if conditions:
        lines.heading("Conditions:")
        width = max(len("Type"), *(len(_s(c.get("type"))) for c in conditions)) + 3
        lines.heading("  " + "Type".ljust(width) + "Status")
        for condition in conditions:
            kind, value = _s(condition.get("type")), _s(condition.get("status"))
            said = f"pod/{name}: condition {kind} {value}"
            if condition.get("reason"):
                said += f" ({_s(condition['reason'])})"
            lines.line("  " + kind.ljust(width) + value, said, value == "False")
    lines.field("QoS Class", _s(status.get("qosClass") or "<none>"))
    lines.field("Node-Selectors", _pairs(spec.get("nodeSelector")))
    _events(lines, events, now)
    return lines.facts


def describe_deployment(
    deployment: Obj,
    replicasets: list[Obj],
    events: Iterable[EventRow],
    now: int,
    tz: tzinfo = UTC,
) -> list[Fact]:
    """`kubectl describe deployment`: replicas, strategy, template, conditions, ReplicaSets."""
    meta, spec = deployment.get("metadata") or {}, deployment.get("spec") or {}
    status = deployment.get("status") or {}
    name = _s(meta.get("name"), 253)
    lines = _Lines(f"deployment/{name}")
    lines.field("Name", name, width=24)
    lines.field("Namespace", _s(meta.get("namespace")), width=24)
    lines.field("CreationTimestamp", _time(meta.get("creationTimestamp"), tz), width=24)
    lines.field("Annotations", _annotations(meta.get("annotations")), width=24)
    selector = (spec.get("selector") or {}).get("matchLabels")
    lines.field("Selector", ",".join(_pairs(selector)), width=24)
    desired = spec.get("replicas", 1)
    available = status.get("availableReplicas", 0)
    lines.field(
        "Replicas",
        f"{desired} desired | {status.get('updatedReplicas', 0)} updated | "
        f"{status.get('replicas', 0)} total | {available} available | "
        f"{status.get('unavailableReplicas', 0)} unavailable",
        width=24,
    )
    if available < desired:
        lines.mark_bad(1)
    strategy = spec.get("strategy") or {}
    lines.field("StrategyType", _s(strategy.get("type") or "RollingUpdate"), width=24)
    rolling = strategy.get("rollingUpdate") or {}
    if rolling:
        lines.field(
            "RollingUpdateStrategy",
            f"{_s(rolling.get('maxUnavailable'))} max unavailable, "
            f"{_s(rolling.get('maxSurge'))} max surge",
            width=24,
        )
    template = (spec.get("template") or {}).get("spec") or {}
    lines.heading("Pod Template:")
    for container in template.get("containers") or []:
        cname = _s(container.get("name"), 253)
        lines.heading(f"  {cname}:")
        lines.field("Image", _s(container.get("image")), 4, FIELD)
        for probe in ("liveness", "readiness", "startup"):
            if container.get(f"{probe}Probe"):
                lines.field(probe.title(), _probe(container[f"{probe}Probe"]), 4, FIELD)
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    if conditions:
        lines.heading("Conditions:")
        lines.heading("  Type           Status  Reason")
        for c in conditions:
            kind, value, reason = _s(c.get("type")), _s(c.get("status")), _s(c.get("reason"))
            lines.line(
                f"  {kind.ljust(15)}{value.ljust(8)}{reason}",
                f"deployment/{name}: condition {kind} {value} ({reason})",
                value == "False",
            )
    uid = meta.get("uid")
    owned = [
        rs
        for rs in replicasets
        if any(o.get("uid") == uid for o in (rs.get("metadata") or {}).get("ownerReferences") or [])
    ]
    current = _revision(deployment)
    new = [rs for rs in owned if _revision(rs) == current]
    old = [
        rs for rs in owned if _revision(rs) != current and (rs.get("spec") or {}).get("replicas")
    ]

    def created(rs: Obj) -> str:
        rs_status = rs.get("status") or {}
        return (
            f"{_s((rs.get('metadata') or {}).get('name'), 253)} "
            f"({rs_status.get('replicas', 0)}/{(rs.get('spec') or {}).get('replicas', 0)}"
            " replicas created)"
        )

    lines.field("OldReplicaSets", ", ".join(map(created, old)) or "<none>", width=17)
    lines.field("NewReplicaSet", ", ".join(map(created, new)) or "<none>", width=17)
    _events(lines, events, now)
    return lines.facts


def _revision(obj: Obj) -> int:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    try:
        return int(annotations.get("deployment.kubernetes.io/revision", "0"))
    except ValueError:
        return 0
