"""`kubectl rollout history`, with what kubectl leaves out: each revision's images, when its
ReplicaSet was made and how many pods it runs.

A deployment's revisions are its ReplicaSets (those it controls, by owner uid), numbered by
their `deployment.kubernetes.io/revision` annotation, with the change-cause their
`kubernetes.io/change-cause` annotation recorded (a CI pipeline or `kubectl annotate` writes
it on the deployment; the controller copies it onto the new ReplicaSet). A rollback makes an
old ReplicaSet current again under a new number, so a number can be missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from warroom.core.text import one_line

from .columns import human_duration, parse_time
from .gateway import REQUEST_TIMEOUT, Gateway, explain
from .watch import Obj

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HISTORY = "deployment.kubernetes.io/revision-history"
"""The numbers a ReplicaSet had before a rollback renumbered it ("3" or "1,3")."""


@dataclass(frozen=True)
class Revision:
    number: int
    change_cause: str
    """"" when nobody recorded one (kubectl shows <none>)."""
    images: tuple[tuple[str, str], ...]
    """(container, image) of its pod template."""
    created: int | None
    """When its ReplicaSet was created (ns); a revision rolled back to keeps its old time."""
    replicaset: str
    replicas: int
    ready: int
    current: bool
    earlier: tuple[int, ...] = ()
    """The numbers it had before rollbacks renumbered it (its time is the first one's)."""

    def when(self, now: int) -> str:
        """`34m ago`; a revision rolled back to says its time is the first one's:
        `26h ago as revision 3`."""
        if self.created is None:
            return "<unknown>"
        ago = f"{human_duration(now - self.created)} ago"
        return f"{ago} as revision {self.earlier[0]}" if self.earlier else ago

    @property
    def image_text(self) -> str:
        """`checkout:2.5.0`, or `a=x:1, b=y:2` for several containers (registry dropped)."""
        short = [(name, image.rsplit("/", 1)[-1]) for name, image in self.images]
        if len(short) == 1:
            return short[0][1]
        return ", ".join(f"{name}={image}" for name, image in short)

    def evidence(self, deployment: str) -> str:
        cause = self.change_cause or "no change-cause recorded"
        current = " (current)" if self.current else ""
        return (
            f"deployment/{deployment} revision {self.number}{current}: {self.image_text}; "
            f"{cause}; ReplicaSet {self.replicaset}"
        )


def revisions(deployment: Obj, replicasets: list[Obj]) -> list[Revision]:
    """The deployment's revisions (wire forms in), oldest first."""
    meta = deployment.get("metadata") or {}
    current = _number(meta.get("annotations") or {})
    out = []
    for rs in replicasets:
        rs_meta = rs.get("metadata") or {}
        owners = rs_meta.get("ownerReferences") or []
        if not any(o.get("uid") == meta.get("uid") and o.get("controller") for o in owners):
            continue
        annotations = rs_meta.get("annotations") or {}
        number = _number(annotations)
        template = ((rs.get("spec") or {}).get("template") or {}).get("spec") or {}
        status = rs.get("status") or {}
        out.append(
            Revision(
                number=number,
                change_cause=one_line(str(annotations.get(CHANGE_CAUSE) or ""), 500),
                images=tuple(
                    (one_line(str(c.get("name") or ""), 253), one_line(str(c.get("image") or "")))
                    for c in template.get("containers") or []
                ),
                created=parse_time(rs_meta.get("creationTimestamp")),
                replicaset=one_line(str(rs_meta.get("name") or ""), 253),
                replicas=int((rs.get("spec") or {}).get("replicas") or 0),
                ready=int(status.get("readyReplicas") or 0),
                current=number == current,
                earlier=_earlier(annotations),
            )
        )
    return sorted(out, key=lambda r: r.number)


def history(gateway: Gateway, namespace: str, name: str) -> tuple[Obj, list[Revision]]:
    """The deployment and its revisions (a worker thread's job); GatewayError if unreadable."""
    deployment, replicasets = read(gateway, namespace, name)
    return deployment, revisions(deployment, replicasets)


def read(gateway: Gateway, namespace: str, name: str) -> tuple[Obj, list[Obj]]:
    """The deployment and the ReplicaSets its selector matches (wire forms), as `kubectl
    rollout history` and `describe` read them."""
    apps = gateway.apps()
    try:
        response = apps.read_namespaced_deployment(
            name, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
        )
        deployment: Obj = json.loads(response.data)
        selector = ",".join(
            f"{k}={v}"
            for k, v in sorted(
                ((deployment.get("spec") or {}).get("selector") or {})
                .get("matchLabels", {})
                .items()
            )
        )
        listed = apps.list_namespaced_replica_set(
            namespace,
            label_selector=selector,
            _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT,
        )
        replicasets = json.loads(listed.data).get("items") or []
    except Exception as error:
        raise explain(error) from None
    return deployment, replicasets


def _earlier(annotations: dict[str, str]) -> tuple[int, ...]:
    numbers = str(annotations.get(HISTORY) or "").split(",")
    return tuple(int(n) for n in numbers if n.strip().isdigit() and n.isascii())


def _number(annotations: dict[str, str]) -> int:
    try:
        return int(annotations.get(REVISION, "0"))
    except ValueError:
        return 0
