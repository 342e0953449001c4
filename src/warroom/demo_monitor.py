"""Monitoring for the demo: a simulated Alertmanager that watches the simulated cluster.

It posts what a real Alertmanager posts (webhook version 4: one group per notification, the
whole group every time, firing alerts with the zero `endsAt`) to `warroom serve`'s
`/v1/alerts/alertmanager` with an alert-only token, following the demo's story (`demo.py`):

- a few seconds in, EU-West-3 payments fail (their orders never get through checkout): an
  alert for service `payments`, which no open incident has as a component, so it waits in
  the inbox;
- a few seconds later checkout's latency alert fires: service `checkout` is the demo
  incident's component, so it attaches itself;
- while they fire, every group is sent again now and then (as `group_interval` and
  `repeat_interval` do; warroom stores nothing twice);
- once the rollback has every checkout pod ready on 2.4.1, each alert is sent resolved,
  the seeded `CheckoutHighErrorRate` included (same fingerprint and start as the seed).

The demo runs on machines without Alertmanager, so this stands in for it; the tests drive the
real one (`tests/alerts/test_alertmanager.py`).
"""

from __future__ import annotations

import argparse
import signal
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from warroom.demo import ALERTMANAGER, ERROR_RATE_FINGERPRINT, PROMETHEUS, error_rate_alert

ZERO = "0001-01-01T00:00:00Z"
RESEND_EVERY = 15.0
GOOD_IMAGE = "registry.example.com/shop/checkout:2.4.1"


@dataclass
class Alert:
    labels: dict[str, str]
    annotations: dict[str, str]
    fingerprint: str
    starts_at: datetime
    url: str
    ends_at: datetime | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "status": "resolved" if self.ends_at else "firing",
            "labels": self.labels,
            "annotations": self.annotations,
            "startsAt": self.starts_at.isoformat().replace("+00:00", "Z"),
            "endsAt": self.ends_at.isoformat().replace("+00:00", "Z") if self.ends_at else ZERO,
            "generatorURL": self.url,
            "fingerprint": self.fingerprint,
        }


@dataclass
class Group:
    """One Alertmanager group (grouped by alertname), sent `after` seconds into the demo."""

    after: float
    alerts: list[Alert]
    sent: bool = False
    flushed: bool = False
    """Resolved and sent: Alertmanager forgets the group."""

    @property
    def name(self) -> str:
        return self.alerts[0].labels["alertname"]

    def notification(self) -> dict[str, Any]:
        firing = any(a.ends_at is None for a in self.alerts)
        common = dict(self.alerts[0].labels)
        return {
            "receiver": "warroom",
            "status": "firing" if firing else "resolved",
            "alerts": [a.wire() for a in self.alerts],
            "groupLabels": {"alertname": self.name},
            "commonLabels": common,
            "commonAnnotations": dict(self.alerts[0].annotations),
            "externalURL": ALERTMANAGER,
            "version": "4",
            "groupKey": f'{{}}:{{alertname="{self.name}"}}',
            "truncatedAlerts": 0,
        }


@dataclass
class Monitor:
    server: str
    token: str
    kubeconfig: Path
    seeded: datetime
    """When the demo incident was seeded (`warroom.demo.seed`'s now)."""
    pace: float = 1.0
    """Seconds per story second: the story's delays (and each look at the cluster) scale."""
    groups: list[Group] = field(default_factory=list)
    recovered: bool = False

    def __post_init__(self) -> None:
        now = datetime.now(UTC)
        seed = error_rate_alert(self.seeded - timedelta(minutes=32))
        assert seed.fired_at is not None
        expr = "/graph?g0.expr="
        self.groups = [
            Group(
                0,
                [
                    Alert(
                        dict(seed.labels),
                        dict(seed.annotations),
                        ERROR_RATE_FINGERPRINT,
                        seed.fired_at,
                        seed.url,
                    )
                ],
            ),
            Group(
                4,
                [
                    Alert(
                        {
                            "alertname": "PaymentsSuccessRateLow",
                            "service": "payments",
                            "region": "eu-west-3",
                            "severity": "warning",
                        },
                        {
                            "summary": "Payment success rate in eu-west-3 at 61% (normal > 97%)",
                            "description": "Orders shipping to eu-west-3 stop before payment.",
                        },
                        "7a91d3c2e0b4f615",
                        now - timedelta(minutes=1),
                        f"{PROMETHEUS}{expr}payments%3Asuccess_ratio%7Bregion%3D%22eu-west-3%22%7D",
                    )
                ],
            ),
            Group(
                9,
                [
                    Alert(
                        {
                            "alertname": "CheckoutLatencyHigh",
                            "service": "checkout",
                            "namespace": "shop",
                            "severity": "warning",
                        },
                        {
                            "summary": "checkout p99 latency 4.2s > 2s for 5m: the pods left"
                            " standing are saturated",
                        },
                        "3b58e07c91d2a4f0",
                        now,
                        f"{PROMETHEUS}{expr}histogram_quantile%280.99%2C+checkout_latency%29",
                    )
                ],
            ),
        ]
        self.groups[0].sent = True  # the seed holds its first notification already

    def run(self, stop: threading.Event) -> None:
        start = datetime.now(UTC)
        last_resend = start
        with httpx.Client(timeout=10) as http:
            while not stop.wait(self.pace):
                now = datetime.now(UTC)
                elapsed = (now - start).total_seconds() / self.pace if self.pace else 1e9
                for group in self.groups:
                    if not group.sent and elapsed >= group.after:
                        group.sent = self.send(http, group)
                if not self.recovered and self.checkout_healthy():
                    self.recovered = True
                    for group in self.groups:
                        for alert in group.alerts:
                            alert.ends_at = now
                if self.recovered:
                    for group in self.groups:
                        if group.sent and not group.flushed:
                            group.flushed = self.send(http, group)
                elif (now - last_resend).total_seconds() >= RESEND_EVERY * self.pace:
                    last_resend = now
                    for group in self.groups[1:]:
                        if group.sent:
                            self.send(http, group)

    def send(self, http: httpx.Client, group: Group) -> bool:
        try:
            answer = http.post(
                f"{self.server}/v1/alerts/alertmanager",
                json=group.notification(),
                headers={"Authorization": f"Bearer {self.token}"},
            )
        except httpx.HTTPError as exc:
            print(f"monitor: {group.name}: {exc} (retrying)", flush=True)
            return False
        print(f"monitor: {group.name}: {answer.status_code} {answer.text}", flush=True)
        return answer.status_code == 200

    def checkout_healthy(self) -> bool:
        """Every checkout replica ready, on 2.4.1 again: the rollback worked."""
        try:
            from kubernetes import client, config

            api_client = config.new_client_from_config(str(self.kubeconfig))
            deployment = client.AppsV1Api(api_client).read_namespaced_deployment("checkout", "shop")
        except Exception as exc:  # the simulator may be restarting: ask again next time
            print(f"monitor: cannot read the cluster: {exc}", flush=True)
            return False
        spec, status = deployment.spec, deployment.status
        if spec is None or status is None or spec.template.spec is None:
            return False
        images = {c.image for c in spec.template.spec.containers}
        return images == {GOOD_IMAGE} and (status.ready_replicas or 0) >= (spec.replicas or 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--seeded", required=True, help="the demo seed's now, ISO 8601")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    Monitor(args.server, args.token, args.kubeconfig, datetime.fromisoformat(args.seeded)).run(stop)


if __name__ == "__main__":
    main()
