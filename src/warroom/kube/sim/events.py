"""Kubernetes events as the cluster's components write them, into the object store.

The kubelet and the controllers write core/v1 events the old way: `source`, `firstTimestamp`,
`lastTimestamp` and a `count` that grows when the same thing happens again (client-go's event
correlator patches the existing event instead of creating one). The scheduler writes them the
new way (events.k8s.io): only `eventTime`, `reportingComponent` and `reportingInstance`, no
count. Both shapes reach clients, so both are made here. Events live an hour after their last
update (the API server's `--event-ttl`), then disappear as etcd's lease expires them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from warroom.core.rfc3339 import format_micro, format_seconds

from .clock import SECOND
from .store import Obj, Store

EVENT_TTL = 3600 * SECOND
"""The API server's default `--event-ttl`."""

Key = tuple[Any, ...]


def involved(obj: Obj, field_path: str = "") -> Obj:
    """An object reference (`involvedObject`) to a stored object or a pod manifest."""
    meta = obj["metadata"]
    ref: Obj = {
        "kind": obj["kind"],
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
        "uid": meta["uid"],
        "apiVersion": obj["apiVersion"],
    }
    if field_path:
        ref["fieldPath"] = field_path
    return ref


class Recorder:
    """Writes and correlates events; `expire` deletes those past their time to live."""

    def __init__(self, store: Store, new_uid: Callable[[], str]) -> None:
        self.store = store
        self.new_uid = new_uid
        self._names: dict[Key, str] = {}
        """Correlation key -> the event's name (namespace is part of the key)."""
        self._seen: dict[tuple[str, str], int] = {}
        """(namespace, name) -> when it was last updated (ns), for the time to live."""
        self._due = 0
        """No event expires before this (ns)."""

    def record(
        self,
        now: int,
        ref: Obj,
        kind: str,
        reason: str,
        message: str,
        component: str,
        host: str = "",
    ) -> Obj:
        """An old-style event; the same one again bumps its count and last timestamp."""
        key = (tuple(sorted(ref.items())), kind, reason, message, component, host)
        namespace: str = ref.get("namespace") or "default"
        name = self._names.get(key)
        existing = self.store.get("events", namespace, name) if name else None
        if name is not None and existing is not None:
            doc = copy.deepcopy(existing)
            doc["count"] = doc.get("count", 1) + 1
            doc["lastTimestamp"] = format_seconds(now)
        else:
            name = self._name(ref, now)
            self._names[key] = name
            source: Obj = {"component": component}
            if host:
                source["host"] = host
            doc = {
                **self._meta(namespace, name, now),
                "involvedObject": dict(ref),
                "reason": reason,
                "message": message,
                "source": source,
                "firstTimestamp": format_seconds(now),
                "lastTimestamp": format_seconds(now),
                "count": 1,
                "type": kind,
                "eventTime": None,
                "reportingComponent": component,
                "reportingInstance": host,
            }
        self._seen[namespace, name] = now
        self._due = min(self._due, now + EVENT_TTL) if self._due else now + EVENT_TTL
        return self.store.put("events", doc)

    def record_new(
        self,
        now: int,
        ref: Obj,
        kind: str,
        reason: str,
        action: str,
        message: str,
        controller: str,
        instance: str,
    ) -> Obj:
        """A new-style (events.k8s.io) event as core/v1 shows it: eventTime, no count."""
        namespace = ref.get("namespace") or "default"
        name = self._name(ref, now)
        doc = {
            **self._meta(namespace, name, now),
            "involvedObject": dict(ref),
            "reason": reason,
            "message": message,
            "source": {},
            "firstTimestamp": None,
            "lastTimestamp": None,
            "type": kind,
            "eventTime": format_micro(now),
            "action": action,
            "reportingComponent": controller,
            "reportingInstance": instance,
        }
        self._seen[namespace, name] = now
        self._due = min(self._due, now + EVENT_TTL) if self._due else now + EVENT_TTL
        return self.store.put("events", doc)

    def expire(self, now: int) -> None:
        """Delete the events not updated for EVENT_TTL."""
        if now < self._due:
            return
        gone = [key for key, at in self._seen.items() if now - at >= EVENT_TTL]
        for key in gone:
            del self._seen[key]
            doc = self.store.get("events", *key)
            if doc is not None:
                self.store.delete("events", copy.deepcopy(doc))
        if gone:
            self._names = {k: n for k, n in self._names.items() if (_ns(k), n) in self._seen}
        self._due = min(self._seen.values(), default=now) + EVENT_TTL

    def _name(self, ref: Obj, now: int) -> str:
        """`<object>.<hex nanoseconds>`, as client-go names events (unique here)."""
        namespace = ref.get("namespace") or "default"
        at = now
        while self.store.get("events", namespace, f"{ref['name']}.{at:x}") is not None:
            at += 1
        return f"{ref['name']}.{at:x}"

    def _meta(self, namespace: str, name: str, now: int) -> Obj:
        return {
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": self.new_uid(),
                "creationTimestamp": format_seconds(now),
            },
        }


def _ns(key: Key) -> str:
    """The namespace of a correlation key's object reference."""
    return dict(key[0]).get("namespace") or "default"
