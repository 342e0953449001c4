"""A writer killed with SIGKILL loses no event whose append had returned."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from tests.writes import declare, note
from warroom.store import EventLog

WRITER = textwrap.dedent(
    """
    import sys
    from warroom.core.commands import AddNote, Declare
    from warroom.store import EventLog
    log = EventLog(sys.argv[1])
    incident = sys.argv[2]
    if log.state(incident).declared_id is None:
        log.execute(incident, [Declare(title="durable", severity="SEV3")], "w")
    i = 0
    while True:
        (event,) = log.execute(incident, [AddNote(text="x" * (1 + i % 300))], "w")
        sys.stdout.write(event.id + "\\n")
        sys.stdout.flush()
        i += 1
    """
)


def _read_acknowledged(proc: subprocess.Popen, want: int, deadline: float) -> list[str]:
    ids: list[str] = []
    while len(ids) < want and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        ids.append(line.strip())
    return ids


def test_sigkill_at_random_moments_loses_nothing_acknowledged(tmp_path):
    db = tmp_path / "durable.db"
    incident = "01JZ0000000000000000000000"
    EventLog(db).close()
    rng = random.Random(1234)
    acknowledged: list[str] = []
    for _ in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), incident],
            stdout=subprocess.PIPE,
            text=True,
        )
        got = _read_acknowledged(proc, rng.randint(5, 120), time.monotonic() + 60)
        os.kill(proc.pid, signal.SIGKILL)
        rest = proc.stdout.read()  # ids printed before the kill landed were acknowledged too
        proc.wait(timeout=30)
        acknowledged += got + [line for line in rest.split() if line]
        assert got, "writer produced nothing"

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {row[0] for row in conn.execute("SELECT id FROM events")}
    conn.close()
    missing = [i for i in acknowledged if i not in stored]
    assert missing == []
    assert len(acknowledged) >= 5


def test_a_second_log_in_one_process_keeps_the_first_ones_locks(tmp_path):
    """Opening another EventLog on the same file must not drop this process's SQLite locks.

    (Closing any descriptor of a file releases all of the process's POSIX locks on it; if
    EventLog touched the file outside SQLite, another process closing its connection would
    think it was the last one and delete the WAL that this process is still writing to.)
    """
    db = tmp_path / "shared.db"
    incident = "01JZ0000000000000000000000"
    first = EventLog(db)
    declare(first, incident=incident)
    note(first, incident, "before")
    second = EventLog(db)  # e.g. the console's writer thread
    probe = (
        "import sys; from warroom.store import EventLog;"
        "log = EventLog(sys.argv[1]); log.timeline.head(); log.close()"
    )
    subprocess.run([sys.executable, "-c", probe, str(db)], check=True, timeout=60)
    event = note(second, incident, "after")
    check = sqlite3.connect(db)
    ids = {row[0] for row in check.execute("SELECT id FROM events")}
    check.close()
    first.close()
    second.close()
    assert event.id in ids
    assert (tmp_path / "shared.db-wal").exists() or len(ids) == 3
