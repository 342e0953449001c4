"""A simulated teammate for the demo: another laptop that syncs, writes notes, takes a role.

Runs as its own process with its own database, so what it writes reaches the console only
through the shared server, exactly as a colleague's would.
"""

from __future__ import annotations

import argparse
import random
import signal
import threading
from pathlib import Path

from warroom.store import EventLog
from warroom.sync.engine import Syncer

NOTES = [
    "Error rate on checkout dropping since the rollback: 31% -> 4%.",
    "payments-gateway p99 back under 300 ms.",
    "Support reports fewer failed-checkout tickets in the last 10 minutes.",
    "Grafana: 5xx ratio for checkout-api now 0.8%.",
    "Looking at why the canary did not catch the timeout change.",
    "Customer success asks for an ETA for enterprise customers.",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--incident", required=True)
    parser.add_argument("--name", default="erin")
    parser.add_argument("--every", type=float, default=25.0, help="mean seconds between writes")
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    rng = random.Random()
    with EventLog(args.db) as log:
        syncer = Syncer(log, args.server, args.token)
        syncer.start()
        try:
            while not stop.wait(rng.uniform(0.5, 1.5) * args.every):
                state = log.state(args.incident)
                if state.declared_id is None:
                    continue  # the incident has not arrived from the server yet
                scribe = state.holder("scribe")
                if scribe and scribe.value != args.name and rng.random() < 0.3:
                    payload = {"role": "scribe", "person": args.name}
                    log.append(
                        args.incident,
                        "role_assigned",
                        state.with_replaces("role_assigned", payload),
                        args.name,
                    )
                else:
                    log.append(args.incident, "note", {"text": rng.choice(NOTES)}, args.name)
                syncer.poke()
        finally:
            syncer.stop()


if __name__ == "__main__":
    main()
