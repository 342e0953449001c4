"""Kubernetes events kept live, as rows kubectl would print, for a pod and what runs it.

Events come in two shapes: the kubelet and most controllers still write core/v1 events with
`firstTimestamp`, `lastTimestamp` and a `count` that grows; newer writers (the scheduler) use
events.k8s.io, seen here with only `eventTime` and perhaps a `series`. A row reads both as
kubectl does (`printEvent`, and describe's "16s (x44 over 34m)").

One watch covers the namespace (events carry no labels to select by); the panes pick the rows
of the selected pod, its ReplicaSet and its Deployment (`about`), Warning first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from warroom.core.text import one_line

from .columns import human_duration, parse_time
from .watch import Obj, Scope, Watcher


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event as kubectl prints it; times stay absolute (ns) so ages render at any `now`."""

    uid: str
    namespace: str
    type: str
    reason: str
    kind: str
    """involvedObject.kind: Pod, ReplicaSet, Deployment..."""
    name: str
    object_uid: str
    field_path: str
    message: str
    count: int
    first: int | None
    last: int | None
    source: str
    """The component that wrote it (and its host), as `-o wide` shows SOURCE."""

    @property
    def object(self) -> str:
        """`pod/checkout-…`, kubectl's OBJECT column."""
        return f"{self.kind.lower()}/{self.name}" if self.name else self.kind.lower()

    @property
    def warning(self) -> bool:
        return self.type == "Warning"

    def last_seen(self, now: int) -> str:
        """LAST SEEN."""
        return "<unknown>" if self.last is None else human_duration(now - self.last)

    def age(self, now: int) -> str:
        """describe's Age: `16s (x44 over 34m)` for a repeated event, else `34m`."""
        first = "<unknown>" if self.first is None else human_duration(now - self.first)
        if self.count > 1:
            return f"{self.last_seen(now)} (x{self.count} over {first})"
        return first

    def evidence(self) -> str:
        """What pinning it records: kubectl's words, count included."""
        times = f" ×{self.count}" if self.count > 1 else ""
        return f"{self.type} {self.reason}{times}: {self.message}"


def event_row(obj: Obj) -> EventRow:
    """An event (wire form, either shape) as a row; outside text made safe to draw."""
    meta = obj.get("metadata") or {}
    ref = obj.get("involvedObject") or {}
    first = parse_time(obj.get("firstTimestamp")) or parse_time(obj.get("eventTime"))
    last = parse_time(obj.get("lastTimestamp")) or first
    count = obj.get("count") or 1
    series = obj.get("series")
    if isinstance(series, dict):
        last = parse_time(series.get("lastObservedTime")) or last
        count = series.get("count") or count
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    host = source.get("host") or obj.get("reportingInstance") or ""
    return EventRow(
        uid=meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}",
        namespace=one_line(meta.get("namespace") or ""),
        type=one_line(obj.get("type") or "", 20),
        reason=one_line(obj.get("reason") or "", 80),
        kind=one_line(ref.get("kind") or "", 60),
        name=one_line(ref.get("name") or "", 253),
        object_uid=str(ref.get("uid") or ""),
        field_path=one_line(ref.get("fieldPath") or "", 200),
        message=one_line(str(obj.get("message") or "").strip(), 2000),
        count=count if isinstance(count, int) and count > 0 else 1,
        first=first,
        last=last,
        source=one_line(f"{component}, {host}" if host else component, 200),
    )


@dataclass(frozen=True)
class Subject:
    """What the events pane is about: a pod, and what runs it."""

    namespace: str
    pod: str = ""
    pod_uid: str = ""
    replicaset: str = ""
    deployment: str = ""

    @classmethod
    def of_pod(cls, pod: Obj) -> Subject:
        """A pod (wire form) and its owners, read from its owner reference and labels."""
        meta = pod.get("metadata") or {}
        owners = meta.get("ownerReferences") or []
        rs = next((o.get("name", "") for o in owners if o.get("kind") == "ReplicaSet"), "")
        suffix = "-" + str((meta.get("labels") or {}).get("pod-template-hash") or "")
        deployment = rs[: -len(suffix)] if len(suffix) > 1 and rs.endswith(suffix) else ""
        return cls(
            meta.get("namespace") or "",
            meta.get("name") or "",
            meta.get("uid") or "",
            rs,
            deployment,
        )

    def covers(self, row: EventRow) -> bool:
        if row.namespace != self.namespace:
            return False
        if row.kind == "Pod":
            return bool(self.pod) and (row.object_uid == self.pod_uid or row.name == self.pod)
        if row.kind == "ReplicaSet":
            return bool(self.replicaset) and row.name == self.replicaset
        if row.kind == "Deployment":
            return bool(self.deployment) and row.name == self.deployment
        return False

    @property
    def label(self) -> str:
        parts = [f"pod/{self.pod}"] if self.pod else []
        if self.deployment:
            parts.append(f"deployment/{self.deployment}")
        return " + ".join(parts) or self.namespace


def ordered(rows: Iterable[EventRow]) -> list[EventRow]:
    """Warning first, then the most recently seen first."""
    return sorted(rows, key=lambda r: (not r.warning, -(r.last or 0), r.reason, r.uid))


def about(rows: Iterable[EventRow], subject: Subject) -> list[EventRow]:
    """The events of `subject` (pod, ReplicaSet, Deployment), ordered."""
    return ordered(r for r in rows if subject.covers(r))


class EventWatcher(Watcher[EventRow]):
    """Events of a gateway's namespace (or all of them), kept live with the pods' rules.

    The target's label selector is the pods': events have no such labels, so it is not sent.
    """

    name = "events-watch"

    def __init__(self, *args: Any, field_selector: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.field_selector = field_selector

    def scope(self) -> Scope:
        core = self.gateway.core()
        kwargs: dict[str, Any] = {}
        if self.field_selector:
            kwargs["field_selector"] = self.field_selector
        if self.gateway.target.all_namespaces:
            return core.list_event_for_all_namespaces, (), kwargs
        return core.list_namespaced_event, (self.gateway.namespace(),), kwargs

    def row(self, obj: Obj) -> EventRow:
        return event_row(obj)
