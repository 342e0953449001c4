"""What changed in the cluster while we watched: rollouts, image changes, scales, restarts.

A watch on deployments reports each new version of one; `changes` compares it with the one
before and says, in kubectl's terms, what a person did (the controller's own writes, status
and the revision annotation, are not changes). The console offers these to the timeline, so
a postmortem's "what changed" is what the cluster saw, with its time, not what people recall.
The first list is the baseline: only what happens after it is a change.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from warroom.core.text import one_line

from .watch import Obj, Scope, Watcher, namespaced

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
CHANGE_CAUSE = "kubernetes.io/change-cause"
CONTROLLER_ANNOTATIONS = frozenset(
    {"deployment.kubernetes.io/revision", "deployment.kubernetes.io/revision-history"}
)


@dataclass(frozen=True)
class ClusterChange:
    at: int
    """When the watch saw it (ns since the epoch)."""
    namespace: str
    deployment: str
    kind: str
    """"image", "rollout", "restart", "scale", "created" or "deleted"."""
    text: str
    """kubectl's words: `deployment/checkout image checkout: …:2.4.1 → …:2.5.0`."""

    @property
    def key(self) -> tuple[str, str, str]:
        return self.namespace, self.deployment, self.kind


def _images(obj: Obj) -> dict[str, str]:
    template = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    return {
        str(c.get("name")): str(c.get("image") or "")
        for c in template.get("containers") or []
        if isinstance(c, dict)
    }


def _template(obj: Obj) -> Any:
    return (obj.get("spec") or {}).get("template")


def _annotations(obj: Obj) -> dict[str, str]:
    raw = (obj.get("metadata") or {}).get("annotations") or {}
    return {k: v for k, v in raw.items() if k not in CONTROLLER_ANNOTATIONS}


def changes(before: Obj | None, after: Obj | None, at: int) -> list[ClusterChange]:
    """What a person changed between two versions of a deployment (None: did not exist)."""
    some = after or before or {}
    meta = some.get("metadata") or {}
    namespace = one_line(str(meta.get("namespace") or ""))
    name = one_line(str(meta.get("name") or ""), 253)
    subject = f"deployment/{name}"

    def made(kind: str, text: str) -> ClusterChange:
        return ClusterChange(at, namespace, name, kind, text)

    if before is None:
        replicas = (some.get("spec") or {}).get("replicas", 1)
        images = ", ".join(one_line(i) for i in _images(some).values())
        return [made("created", f"{subject} created ({replicas} replicas, {images})")]
    if after is None:
        return [made("deleted", f"{subject} deleted")]
    found: list[ClusterChange] = []
    old_images, new_images = _images(before), _images(after)
    cause = one_line(
        str((after.get("metadata") or {}).get("annotations", {}).get(CHANGE_CAUSE, ""))
    )
    because = f" ({cause})" if cause and cause != _annotations(before).get(CHANGE_CAUSE) else ""
    if old_images != new_images:
        moved = [
            f"{one_line(c)} {one_line(old_images.get(c, '(none)'))} → "
            f"{one_line(new_images.get(c, '(none)'))}"
            for c in sorted(old_images.keys() | new_images.keys())
            if old_images.get(c) != new_images.get(c)
        ]
        found.append(made("image", f"{subject} rollout: image {'; '.join(moved)}{because}"))
    elif _template(before) != _template(after):
        old_at = ((_template(before) or {}).get("metadata") or {}).get("annotations", {})
        new_at = ((_template(after) or {}).get("metadata") or {}).get("annotations", {})
        if old_at.get(RESTARTED_AT) != new_at.get(RESTARTED_AT):
            found.append(made("restart", f"{subject} rollout restart"))
        else:
            found.append(made("rollout", f"{subject} rollout: pod template changed{because}"))
    old_n = (before.get("spec") or {}).get("replicas", 1)
    new_n = (after.get("spec") or {}).get("replicas", 1)
    if old_n != new_n:
        found.append(made("scale", f"{subject} scaled {old_n} → {new_n} replicas"))
    return found


class DeploymentWatcher(Watcher[str]):
    """Deployments kept live; what people change in them after the first list is kept in
    `changes` (bounded) for the console to offer."""

    name = "deployments-watch"

    def __init__(self, *args: Any, clock: Callable[[], int] = time.time_ns, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock
        self._changes: deque[ClusterChange] = deque(maxlen=200)
        self._seen_changes = 0
        self._changes_lock = threading.Lock()

    def scope(self) -> Scope:
        apps = self.gateway.apps()
        return namespaced(
            self.gateway, apps.list_deployment_for_all_namespaces, apps.list_namespaced_deployment
        )

    def row(self, obj: Obj) -> str:
        return str((obj.get("metadata") or {}).get("name") or "")

    def seen(self, kind: str, obj: Obj, before: Obj | None) -> None:
        found = changes(before, None if kind == "DELETED" else obj, self.clock())
        if found:
            with self._changes_lock:
                self._changes.extend(found)
                self._seen_changes += len(found)

    def changes_after(self, count: int) -> tuple[list[ClusterChange], int]:
        """The changes seen after the first `count` (as many as are still kept), and how many
        have been seen in all (pass it back next time)."""
        with self._changes_lock:
            total = self._seen_changes
            new = min(total - count, len(self._changes))
            return (list(self._changes)[len(self._changes) - new :] if new > 0 else []), total
