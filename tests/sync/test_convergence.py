"""Responders who wrote offline at the same time end up with one record and one state."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.sync.clients import Client, all_ok

WRITER = textwrap.dedent(
    """
    import sys
    from warroom.core.commands import AddNote, ChangeSeverity
    from warroom.store import EventLog

    db, incident, actor, severity = sys.argv[1:5]
    with EventLog(db) as log:
        for i in range(40):
            log.execute(incident, [AddNote(text=f"{actor} {i}")], actor)
            if i == 20:
                log.execute(incident, [ChangeSeverity(severity=severity, reason=actor)], actor)
    """
)


def test_clients_writing_offline_at_once_converge_and_all_see_the_conflicts(server, tmp_path):
    people = ["alice", "bob", "carol"]
    clients = [
        Client(tmp_path / f"{p}.db", server.url, server.store.token(p), user=p) for p in people
    ]
    alice, bob, carol = clients
    declared = alice.run("declare", "checkout down", "-s", "SEV2", "--ic", "alice")
    incident = declared.stdout.strip()
    assert alice.run("sync").returncode == 0
    all_ok([c.start("sync") for c in (bob, carol)])

    server.kill()  # everyone is offline now
    offline = bob.run("sync", "--once")
    assert offline.returncode == 1
    assert "cannot reach" in offline.stderr and "events not pushed" not in offline.stderr
    writers = [c.start("assign", "ic", c.user) for c in (bob, carol)]  # unaware of each other
    writers += [
        subprocess.Popen([sys.executable, "-c", WRITER, str(c.db), incident, c.user, sev])
        for c, sev in zip(clients, ["SEV1", "SEV3", "SEV4"], strict=True)
    ]
    all_ok(writers[:2])
    assert all(w.wait(timeout=60) == 0 for w in writers[2:])

    server.start()
    for _round in range(2):  # the first round pushes everything, the second pulls the rest
        all_ok([c.start("sync", "--once") for c in clients])

    logs = [c.open() for c in clients]
    ids = [{e.id for e in log.timeline.events(incident)} for log in logs]
    assert len(ids[0]) == 1 + 1 + 2 + 3 * 41
    assert ids[0] == ids[1] == ids[2]
    states = [log.state(incident) for log in logs]
    assert states[0] == states[1] == states[2]
    holder = states[0].holder("incident_commander")
    assert holder is not None and holder.value in {"bob", "carol"}
    for state in states:
        conflicts = {c.field: c for c in state.conflicts()}
        ic = conflicts["role incident_commander"]
        assert {e.value for e in ic.entries} == {"bob", "carol"}
        assert ic.winner == holder
        assert {e.value for e in conflicts["severity"].entries} == {"SEV1", "SEV3", "SEV4"}
    for log in logs:
        assert log.outbox.pending() == 0
        log.close()
