"""A pod list kept live by list + watch (see `warroom.kube.watch` for the resume rules)."""

from __future__ import annotations

from typing import Any

from .columns import PodRow, pod_row
from .watch import RECONNECT, Obj, Scope, Snapshot, Watcher, WatchSettings, namespaced

__all__ = ["RECONNECT", "PodWatcher", "Snapshot", "WatchSettings"]


class PodWatcher(Watcher[PodRow]):
    """Pods of a gateway's namespace (or all) matching its selector, kept live."""

    name = "pods-watch"

    def scope(self) -> Scope:
        core = self.gateway.core()
        return namespaced(self.gateway, core.list_pod_for_all_namespaces, core.list_namespaced_pod)

    def row(self, obj: Obj) -> PodRow:
        return pod_row(obj)

    def pod(self, uid: str) -> dict[str, Any] | None:
        """The last seen wire form of a pod (for containers, labels, owner)."""
        return self.get(uid)
