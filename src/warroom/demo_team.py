"""A simulated teammate for the demo: another laptop that syncs, writes notes, takes a role.

Runs as its own process with its own database, so what it writes reaches the console only
through the shared server, exactly as a colleague's would. It follows the demo's story: while
checkout still crash-loops it reports what it sees; once someone rolls checkout back (an
`action_taken` arrives through sync) it reports the recovery, never before.
"""

from __future__ import annotations

import argparse
import random
import signal
import threading
from pathlib import Path

from warroom.core.commands import AddNote, AssignRole, Command, CommandError
from warroom.core.state import IncidentState
from warroom.store import EventLog, StoreError
from warroom.sync.engine import Syncer

BEFORE = [
    "Still seeing KeyError: 'eu-west-3' in every checkout pod's logs.",
    "Support: EU customers report failed payments at checkout.",
    "Grafana: checkout 5xx ratio holding around 12%.",
    "Only orders shipping to eu-west-3 fail; other regions look fine.",
]
AFTER = [
    "Error rate on checkout dropping since the rollback: 12% -> 0.4%.",
    "checkout pods are Running and Ready again; restarts stopped.",
    "Support confirms EU checkouts are going through again.",
    "Looking at why the canary did not catch the missing tax rate.",
]


def rolled_back(log: EventLog, incident: str) -> bool:
    return any(
        e.kind == "action_taken" and "undo" in str(e.payload.get("command", ""))
        for e in log.timeline.events(incident)
    )


def next_step(
    log: EventLog, incident: str, state: IncidentState, me: str, rng: random.Random
) -> Command:
    scribe = state.holder("scribe")
    if scribe and scribe.value != me and rng.random() < 0.2:
        return AssignRole(role="scribe", person=me)
    notes = AFTER if rolled_back(log, incident) else BEFORE
    return AddNote(text=rng.choice(notes))


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
                if state.declared_id is None or state.is_resolved:
                    continue  # not arrived from the server yet, or nothing left to say
                try:
                    command = next_step(log, args.incident, state, args.name, rng)
                    log.execute(args.incident, [command], args.name)
                except (CommandError, StoreError):
                    continue
                syncer.poke()
        finally:
            syncer.stop()


if __name__ == "__main__":
    main()
