"""The object store: what etcd plus the watch cache give the real API server.

One global resourceVersion counter orders every change; a bounded history of change events lets
watches resume from a resourceVersion until it is compacted away (then: 410 Gone).
"""

from __future__ import annotations

import bisect
import builtins
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Event:
    """One change, as a watch reports it. `prev` lets a selector see objects leave its set."""

    rv: int
    type: str
    resource: str
    obj: Obj
    prev: Obj | None


class Expired(Exception):
    """The requested resourceVersion is older than the retained history."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")


def key_of(obj: Obj) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


class Store:
    """Objects by resource, each stored snapshot treated as immutable once put."""

    def __init__(self, first_rv: int = 1000, history: int = 2000) -> None:
        self.rv = first_rv
        self.history_limit = history
        self.compacted = first_rv
        """Events at or before this resourceVersion are no longer retained."""
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self._events: list[Event] = []
        self._event_rvs: list[int] = []

    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        return self._objects.get(resource, {}).get((namespace, name))

    def list(self, resource: str, namespace: str | None = None) -> list[Obj]:
        objects = self._objects.get(resource, {})
        return [objects[key] for key in sorted(objects) if namespace is None or key[0] == namespace]

    def put(self, resource: str, obj: Obj) -> Obj:
        """Store a new version of `obj` (which the store now owns) under a new resourceVersion."""
        key = key_of(obj)
        prev = self._objects.setdefault(resource, {}).get(key)
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self._objects[resource][key] = obj
        self._record(Event(self.rv, "MODIFIED" if prev else "ADDED", resource, obj, prev))
        return obj

    def delete(self, resource: str, obj: Obj) -> None:
        """Remove the object; the DELETED event carries `obj`, its final state."""
        prev = self._objects[resource].pop(key_of(obj))
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self._record(Event(self.rv, "DELETED", resource, obj, prev))

    def events_since(self, rv: int) -> builtins.list[Event]:
        """Every retained change after `rv`; Expired if some of them were compacted away."""
        if rv < self.compacted:
            raise Expired(rv, self.compacted)
        return self._events[bisect.bisect_right(self._event_rvs, rv) :]

    def compact(self, keep: int = 0) -> None:
        """Forget all but the last `keep` events, as etcd compaction does."""
        drop = max(0, len(self._events) - keep)
        if drop:
            self.compacted = self._event_rvs[drop - 1]
            del self._events[:drop], self._event_rvs[:drop]
        elif not self._events:
            self.compacted = self.rv

    def _record(self, event: Event) -> None:
        self._events.append(event)
        self._event_rvs.append(event.rv)
        if len(self._events) > 2 * self.history_limit:
            self.compact(self.history_limit)
