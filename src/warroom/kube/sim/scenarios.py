"""Scenarios: a cluster with a history, built by replaying that history up to "now".

Replaying (rather than writing the end state by hand) makes ages, restart counts, revisions and
last-restart times consistent with each other, exactly as a real cluster would show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from . import patch, workloads
from .clock import SECOND
from .state import ClusterState
from .workloads import Behaviour

MINUTE = 60 * SECOND

FRONTEND = "registry.example.com/shop/frontend:1.8.2"
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


@dataclass(frozen=True)
class Shop:
    """The demo shop: `frontend`, `checkout` and `payments` in namespace `shop`.

    Six minutes ago `checkout` was upgraded from 2.4.1 to 2.5.0. With `broken`, 2.5.0 dies on a
    KeyError a few seconds after each start and crash-loops until rolled back to revision 1.
    """

    broken: bool = True
    namespace: str = "shop"
    crash_after: int = 8 * SECOND
    backoff_cap: int = 40 * SECOND
    """Lower than the kubelet's 5 minutes, so a demo shows restarts while you watch."""

    def build(self, now: int) -> ClusterState:
        state = ClusterState(now - 2 * 60 * MINUTE)
        state.backoff_cap = self.backoff_cap
        state.images.update(
            {
                FRONTEND: Behaviour(workloads.nginx),
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
        state.advance_to(now - 30 * MINUTE)
        ns = self.namespace
        state.add_namespace(ns)
        port = [{"containerPort": 8080, "protocol": "TCP"}]
        frontend = {"name": "frontend", "image": FRONTEND, "ports": [{"containerPort": 80}]}
        state.add_deployment(ns, "frontend", [frontend], replicas=3)
        checkout = {"name": "checkout", "image": CHECKOUT_GOOD, "ports": port}
        state.add_deployment(ns, "checkout", [checkout], replicas=3)
        payments = [
            {"name": "payments", "image": PAYMENTS, "ports": port},
            {"name": "envoy", "image": ENVOY},
        ]
        migrate = {"name": "migrate", "image": MIGRATE}
        state.add_deployment(ns, "payments", payments, replicas=2, init_containers=[migrate])
        state.advance_to(now - 6 * MINUTE)
        upgrade = {"name": "checkout", "image": CHECKOUT_BAD}
        bad = {"spec": {"template": {"spec": {"containers": [upgrade]}}}}
        state.patch_deployment(ns, "checkout", patch.STRATEGIC, bad)
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
