"""Scenarios: a cluster with a history, built by replaying that history up to "now".

Replaying (rather than writing the end state by hand) makes ages, restart counts, revisions and
last-restart times consistent with each other, exactly as a real cluster would show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from . import patch, workloads
from .clock import SECOND
from .state import CHANGE_CAUSE, ClusterState
from .workloads import Behaviour

MINUTE = 60 * SECOND

FRONTEND = "registry.example.com/shop/frontend:1.8.2"
CHECKOUT_OLDEST = "registry.example.com/shop/checkout:2.3.2"
CHECKOUT_OLD = "registry.example.com/shop/checkout:2.4.0"
CHECKOUT_GOOD = "registry.example.com/shop/checkout:2.4.1"
CHECKOUT_BAD = "registry.example.com/shop/checkout:2.5.0"
PAYMENTS = "registry.example.com/shop/payments:3.1.0"
MIGRATE = "registry.example.com/shop/payments-migrate:3.1.0"
ENVOY = "docker.io/envoyproxy/envoy:v1.30.1"
COREDNS = "registry.k8s.io/coredns/coredns:v1.11.3"
NGINX = "docker.io/library/nginx:1.27.0"
FLOOD = "registry.example.com/bench/flood:1.0"


class Scenario(Protocol):
    @property
    def namespace(self) -> str:
        """Where the action is: the kubeconfig's default namespace."""
        ...

    def build(self, now: int) -> ClusterState:
        """A cluster whose history has been replayed up to `now`."""
        ...


def _base(state: ClusterState) -> None:
    """What every scenario has: system and default namespaces with a few pods."""
    state.images.update({COREDNS: Behaviour(workloads.coredns), NGINX: Behaviour(workloads.nginx)})
    for namespace in ("default", "kube-system", "kube-public"):
        state.add_namespace(namespace)
    state.add_deployment(
        "kube-system",
        "coredns",
        [{"name": "coredns", "image": COREDNS, "args": ["-conf", "/etc/coredns/Corefile"]}],
        replicas=2,
    )
    state.add_deployment("default", "web", [{"name": "nginx", "image": NGINX}], replicas=2)


DEPLOYED_AGO = 34
"""Minutes since checkout 2.5.0 rolled out: the demo incident (`warroom.demo.DEPLOYED_AGO`)
tells the same story. The layers keep kube and the demo apart, so a test holds them equal."""
HOUR = 60 * MINUTE
DAY = 24 * HOUR

CHECKOUT_RELEASES = (
    # (image, when before now, change-cause): the deployment's revisions 1 to 4
    (CHECKOUT_OLDEST, 5 * DAY, "CI pipeline 4522: checkout 2.3.2"),
    (CHECKOUT_OLD, 3 * DAY, "CI pipeline 4650: checkout 2.4.0 (saved carts)"),
    (CHECKOUT_GOOD, 26 * HOUR, "CI pipeline 4711: checkout 2.4.1 (retry payment timeouts)"),
    (CHECKOUT_BAD, DEPLOYED_AGO * MINUTE, "CI pipeline 4790: checkout 2.5.0 (tax rate per region)"),
)
READINESS: dict[str, Any] = {
    "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "successThreshold": 1,
    "failureThreshold": 3,
}


@dataclass(frozen=True)
class Shop:
    """The demo shop: `frontend`, `checkout` and `payments` in namespace `shop`, up for five
    days; checkout has been released four times since (its revisions 1 to 4, each with a
    change-cause, as a CI pipeline records them).

    DEPLOYED_AGO (34) minutes ago checkout went from 2.4.1 (revision 3) to 2.5.0 (revision 4).
    With `broken`, 2.5.0 dies on a KeyError a few seconds after each start and crash-loops
    (the events say BackOff and Unhealthy) until rolled back to revision 3.
    """

    broken: bool = True
    namespace: str = "shop"
    crash_after: int = 8 * SECOND
    backoff_cap: int = 40 * SECOND
    """Lower than the kubelet's 5 minutes, so a demo shows restarts while you watch."""

    def build(self, now: int) -> ClusterState:
        state = ClusterState(now - 12 * DAY)
        state.backoff_cap = self.backoff_cap
        state.images.update(
            {
                FRONTEND: Behaviour(workloads.nginx),
                CHECKOUT_OLDEST: Behaviour(workloads.checkout("2.3.2")),
                CHECKOUT_OLD: Behaviour(workloads.checkout("2.4.0")),
                CHECKOUT_GOOD: Behaviour(workloads.checkout("2.4.1")),
                CHECKOUT_BAD: Behaviour(workloads.checkout("2.5.0")),
                PAYMENTS: Behaviour(workloads.payments, ready_after=5 * SECOND),
                MIGRATE: Behaviour(workloads.migrate, runs_for=2 * SECOND),
                ENVOY: Behaviour(workloads.envoy),
            }
        )
        if self.broken:
            state.images[CHECKOUT_BAD] = Behaviour(
                workloads.crashing_checkout("2.5.0", self.crash_after),
                runs_for=self.crash_after,
                exit_code=1,
                ready_after=None,
            )
        _base(state)
        ns = self.namespace
        (first, since, cause), *later = CHECKOUT_RELEASES
        state.advance_to(now - since)
        state.add_namespace(ns)
        port = [{"containerPort": 8080, "protocol": "TCP"}]
        frontend: dict[str, Any] = {
            "name": "frontend",
            "image": FRONTEND,
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "readinessProbe": {**READINESS, "httpGet": {**READINESS["httpGet"], "port": 80}},
        }
        state.add_deployment(ns, "frontend", [frontend], replicas=3)
        checkout = {"name": "checkout", "image": first, "ports": port, "readinessProbe": READINESS}
        state.add_deployment(
            ns, "checkout", [checkout], replicas=3, annotations={CHANGE_CAUSE: cause}
        )
        payments: list[dict[str, Any]] = [
            {"name": "payments", "image": PAYMENTS, "ports": port},
            {"name": "envoy", "image": ENVOY},
        ]
        migrate = {"name": "migrate", "image": MIGRATE}
        state.add_deployment(ns, "payments", payments, replicas=2, init_containers=[migrate])
        for image, since, cause in later:
            state.advance_to(now - since)
            release = {
                "metadata": {"annotations": {CHANGE_CAUSE: cause}},
                "spec": {
                    "template": {"spec": {"containers": [{"name": "checkout", "image": image}]}}
                },
            }
            state.patch_deployment(ns, "checkout", patch.STRATEGIC, release)
        state.advance_to(now)
        return state


@dataclass(frozen=True)
class Flood:
    """`pods` pods (`bench/flood-*`) that each log numbered lines at `rate` lines/s from "now"
    on."""

    namespace: str = "bench"
    rate: int = 100_000
    total: int | None = None
    """Stop logging after this many lines (the container keeps running)."""
    width: int = 100
    """Bytes per line, including the 10-digit line number and a space."""
    pods: int = 1

    def build(self, now: int) -> ClusterState:
        state = ClusterState(now - 60 * MINUTE)
        _base(state)
        state.advance_to(now)
        state.images[FLOOD] = Behaviour(
            workloads.flood(self.rate, self.total, max(0, self.width - 11))
        )
        state.add_namespace(self.namespace)
        flood = [{"name": "flood", "image": FLOOD}]
        state.add_deployment(self.namespace, "flood", flood, replicas=self.pods)
        return state


SCENARIOS: dict[str, Scenario] = {
    "bad-deploy": Shop(broken=True),
    "healthy": Shop(broken=False),
    "flood": Flood(),
}
