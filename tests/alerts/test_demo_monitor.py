"""The demo's monitoring (`demo_monitor.py`) against a real server and the cluster simulator:
EU payments failing waits in the inbox, checkout's latency alert attaches itself to the demo
incident, and every alert resolves once a rollback has checkout healthy."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.alerts.notifications import auth, stored
from tests.sync.factory import body
from tests.sync.servers import ServerProcess, Store
from tests.waiting import wait_until
from warroom.core.alerts import INBOX
from warroom.core.ids import new_id
from warroom.demo import ERROR_RATE_FINGERPRINT, build
from warroom.demo_monitor import Monitor
from warroom.kube import actions
from warroom.kube.gateway import Gateway, Target
from warroom.kube.sim import ManualClock, Simulator


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Simulator, Path]]:
    with Simulator("bad-deploy", clock=ManualClock()) as sim:
        yield sim, sim.write_kubeconfig(tmp_path / "kubeconfig")


def test_the_demo_alerts_arrive_attach_and_resolve(cluster, tmp_path):
    sim, kubeconfig = cluster
    server = ServerProcess(Store("sqlite", str(tmp_path / "server.db")), tmp_path).start()
    stop = threading.Event()
    thread: threading.Thread | None = None
    try:
        client, alerting = server.store.token("you"), server.store.alert_token("alertmanager")
        seeded, incident = datetime.now(UTC), new_id()
        events = build(seeded, incident, iter(new_id, None))
        pushed = httpx.post(
            f"{server.url}/v1/events", json=body("demo", events), headers=auth(client)
        )
        assert pushed.status_code == 200
        monitor = Monitor(server.url, alerting, kubeconfig, seeded, pace=0.05)
        thread = threading.Thread(target=monitor.run, args=(stop,), daemon=True)
        thread.start()

        def where() -> dict[str, str]:
            return {
                e["payload"]["name"]: e["incident_id"]
                for e in stored(server.url, client, kinds=("alert_received",))
            }

        wait_until(lambda: len(where()) == 3, "both alerts received")
        assert where() == {
            "CheckoutHighErrorRate": incident,  # the seed's
            "PaymentsSuccessRateLow": INBOX,
            "CheckoutLatencyHigh": incident,
        }
        gateway = Gateway(Target(kubeconfig=str(kubeconfig)))
        try:
            change = actions.describe_undo(gateway, "shop", "checkout")
            assert isinstance(change, actions.Change)
            assert actions.apply(gateway, change).ok
        finally:
            gateway.close()

        def resolved() -> set[str]:
            sim.advance(5)  # the simulator's clock moves only when told: the pods come up
            ended = stored(server.url, client, kinds=("alert_resolved",))
            return {e["payload"]["name"] for e in ended}

        wait_until(lambda: len(resolved()) == 3, "every alert resolved")
        seed_ended = stored(server.url, client, ERROR_RATE_FINGERPRINT, kinds=("alert_resolved",))
        assert [e["incident_id"] for e in seed_ended] == [incident]
    finally:
        stop.set()
        if thread is not None:
            thread.join(10)
        server.stop()
