import os
import sqlite3
import stat
import subprocess
import sys
import textwrap

import pytest

from tests.writes import declare, foreign, note, run
from warroom.core.commands import (
    AddNote,
    ChangeSeverity,
    ChangeStatus,
    CommandError,
    Declare,
    ReleaseRole,
    make,
)
from warroom.core.events import PayloadError, normalise_payload
from warroom.core.ids import new_id
from warroom.core.state import project
from warroom.store import EventLog, StoreError, TimelineFilter
from warroom.store import projection as projection_module
from warroom.store.database import SCHEMA_VERSION


def test_execute_is_durable_and_readable_from_another_connection(log, db_path):
    incident = declare(log)
    event = note(log, incident, "hello", "bob")
    with EventLog(db_path) as other:
        assert other.timeline.get(event.id) == event
        assert [e.kind for e in other.timeline.events(incident)] == ["declared", "note"]


def test_pragmas_and_private_file(log, db_path):
    conn = log.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600


def test_a_refused_command_changes_nothing(log):
    incident = declare(log)
    before = log.timeline.head()
    with pytest.raises(CommandError, match="unknown severity"):
        run(log, incident, AddNote(text="first"), ChangeSeverity(severity="SEV0"))
    with pytest.raises(CommandError, match="nobody holds Comms Lead"):
        run(log, incident, ReleaseRole(role="comms"))
    assert log.timeline.head() == before  # the batch's note was not stored either


def test_local_writes_are_strict_about_fields():
    """A typo in an optional key used to be dropped silently (stored as pinned: False)."""
    with pytest.raises(CommandError, match="unknown field 'pined'"):
        make(AddNote, text="x", pined=True)
    with pytest.raises(PayloadError, match="pined: unknown field"):
        normalise_payload("note", {"text": "x", "pined": True}, strict=True)
    with pytest.raises(PayloadError, match="unknown event kind"):
        normalise_payload("future.thing", {}, strict=True)
    with pytest.raises(CommandError, match="title must not be blank"):
        make(Declare, title="   ", severity="SEV2")
    with pytest.raises(CommandError, match="visible text"):
        make(AddNote, text="\u200b\u200b")
    with pytest.raises(CommandError, match="U\\+0000, which cannot be stored"):
        make(AddNote, text="a\x00b")  # no backend stores it, so sync could never push it
    with pytest.raises(CommandError, match="lone surrogate, which cannot be stored"):
        make(Declare, title="lone \ud800 surrogate", severity="SEV2")


def test_unknown_kinds_from_elsewhere_are_stored_as_given(log):
    incident = declare(log)
    log.insert([foreign(incident, "future.thing", {"nested": {"a": [1, 2]}, "extra": 1})])
    assert log.timeline.events(incident)[-1].payload == {"nested": {"a": [1, 2]}, "extra": 1}


def test_replaces_is_read_inside_the_append_transaction(db_path):
    """Another process's write between our last read and our write is what we replace."""
    with EventLog(db_path) as ours, EventLog(db_path) as theirs:
        incident = declare(ours)
        ours.state(incident)  # cached: severity SEV2 from the declaration
        (their_change,) = run(theirs, incident, ChangeSeverity(severity="SEV1"))
        (our_change,) = run(ours, incident, ChangeSeverity(severity="SEV3"))
        assert our_change.payload["replaces"] == their_change.id
        assert ours.state(incident).conflicts() == []


def test_a_batch_links_its_own_writes(log):
    incident = declare(log)
    first, second = run(
        log, incident, ChangeStatus(status="identified"), ChangeStatus(status="monitoring")
    )
    assert second.payload["replaces"] == first.id
    assert log.state(incident).conflicts() == []


def test_insert_is_idempotent_and_advances_the_clock(log, tmp_path):
    incident = declare(log)
    events = log.timeline.events(incident)
    with EventLog(tmp_path / "other.db") as other:
        assert len(other.insert(events)) == 1
        assert other.insert(events) == []
        later = note(other, incident, "x", "y")
        assert later.hlc > events[-1].hlc
        assert other.outbox.pending() == 1  # only its own event waits for the server


def test_stamps_are_unique_and_increasing_across_processes(db_path):
    EventLog(db_path).close()
    incident = new_id()
    script = textwrap.dedent(
        f"""
        from warroom.core.commands import AddNote, Declare
        from warroom.store import EventLog
        from warroom.store.database import StoreError
        log = EventLog({str(db_path)!r})
        try:
            log.execute({incident!r}, [Declare(title="t", severity="SEV2")], "w")
        except Exception:
            pass  # another process declared it first
        for i in range(150):
            log.execute({incident!r}, [AddNote(text=str(i))], "w")
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    with EventLog(db_path) as log:
        rows = log.db.conn.execute("SELECT hlc FROM events WHERE kind = 'note' ORDER BY seq")
        stamps = [r[0] for r in rows.fetchall()]
    assert len(stamps) == 450
    assert len(set(stamps)) == 450
    assert stamps == sorted(stamps)  # commit order is clock order on one machine


def test_cached_state_equals_a_cold_fold(db_path, monkeypatch):
    monkeypatch.setattr(projection_module, "SNAPSHOT_AFTER", 10)
    with EventLog(db_path) as log:
        incident = declare(log)
        for i in range(25):
            note(log, incident, f"n{i}", pinned=i % 5 == 0)
        log.state(incident)  # writes a snapshot
        for i in range(3):
            run(log, incident, ChangeSeverity(severity=f"SEV{i + 1}"))
        assert log.state(incident) == project(log.timeline.events(incident), incident)
    with EventLog(db_path) as fresh:
        snap = fresh.db.conn.execute("SELECT last_seq FROM snapshots").fetchone()
        assert snap is not None
        assert fresh.state(incident) == project(fresh.timeline.events(incident), incident)


def test_snapshots_are_saved_as_events_pile_up_one_read_at_a_time(db_path):
    """What the console's poller does: one append, one read, a thousand times. The snapshot
    used to be saved only when a single read folded 256 rows, so it never was."""
    with EventLog(db_path) as log:
        incident = declare(log)
        for i in range(1000):
            note(log, incident, f"n{i}")
            log.state(incident)
        row = log.db.conn.execute(
            "SELECT last_seq FROM snapshots WHERE incident_id = ?", (incident,)
        ).fetchone()
        head = log.timeline.head()
    assert row is not None
    assert head - row[0] < projection_module.SNAPSHOT_AFTER


def test_a_damaged_snapshot_is_ignored_and_the_state_refolded(db_path, monkeypatch):
    monkeypatch.setattr(projection_module, "SNAPSHOT_AFTER", 5)
    with EventLog(db_path) as log:
        incident = declare(log)
        for i in range(10):
            note(log, incident, f"n{i}", pinned=True)
        log.state(incident)
        log.db.conn.execute("UPDATE snapshots SET state = '{\"incident_id\": 1}'")
    with EventLog(db_path) as fresh:
        assert fresh.state(incident) == project(fresh.timeline.events(incident), incident)
        assert len(fresh.state(incident).pinned_ids()) == 10


def test_states_handed_out_do_not_change_later(log):
    incident = declare(log)
    first = log.state(incident)
    run(log, incident, ChangeSeverity(severity="SEV1"))
    assert first.current_severity == "SEV2"
    assert log.state(incident).current_severity == "SEV1"


def test_filtered_pages(log):
    incident = declare(log)
    for i in range(20):
        note(log, incident, f"note {i}", "bob" if i % 2 else "alice")
    notes = TimelineFilter(kinds=("note",))
    timeline = log.timeline
    assert timeline.count(incident, notes) == 20
    assert [e.payload["text"] for e in timeline.page(incident, 5, 2, notes)] == ["note 5", "note 6"]
    assert timeline.count(incident, TimelineFilter(actor="bob")) == 10
    assert timeline.count(incident, TimelineFilter(text="note 1")) == 11  # 1, 10..19 (prefix)
    assert timeline.count(incident, TimelineFilter(text="100%")) == 0
    target = timeline.page(incident, 7, 1, notes)[0]
    assert timeline.position(incident, target, notes) == 7


def test_search_matches_what_people_read_not_the_payload_json(log):
    """Filtering on "text", "pinned" or "false" used to match every note's JSON."""
    incident = declare(log)
    note(log, incident, "db pool exhausted")
    note(log, incident, "rolled back; errors falling")
    note(log, incident, "pinned the graph", pinned=True)
    timeline = log.timeline
    assert timeline.count(incident, TimelineFilter(text="text")) == 0
    assert timeline.count(incident, TimelineFilter(text="false")) == 0
    assert timeline.count(incident, TimelineFilter(text="pinned")) == 1
    assert timeline.count(incident, TimelineFilter(text="POOL exh")) == 1
    assert timeline.count(incident, TimelineFilter(text='"quoted" (parens) AND OR')) == 0
    assert timeline.count(incident, TimelineFilter(text="alice")) == 1  # the declaration's actor


@pytest.mark.parametrize("flt", [TimelineFilter(), TimelineFilter(actor="bob")])
def test_pages_read_backwards_from_the_total_equal_pages_read_forwards(log, flt):
    incident = declare(log)
    run(log, incident, *(AddNote(text=f"n{i}") for i in range(45)), actor="bob")
    timeline = log.timeline
    total = timeline.count(incident, flt)
    for offset in range(0, total + 3):
        for limit in (1, 7, 50):
            forwards = timeline.page(incident, offset, limit, flt)
            assert timeline.page(incident, offset, limit, flt, total) == forwards, (offset, limit)


def test_resolve_by_prefix_or_suffix(log):
    a = declare(log)
    assert log.timeline.resolve(a[-6:].lower()) == a
    assert log.timeline.resolve(a[-4:]) == a
    assert log.timeline.resolve(a[:10]) == a
    with pytest.raises(StoreError, match="no incident"):
        log.timeline.resolve("ZZZZZZ")


def test_latest_open_skips_resolved(log):
    a = declare(log)
    b = declare(log)
    run(log, b, ChangeStatus(status="resolved"))
    assert log.latest_open() == a


def test_migrations_are_recorded_and_a_newer_migration_is_refused(db_path):
    EventLog(db_path).close()
    conn = sqlite3.connect(db_path)
    names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")]
    assert names == [
        "m001_event_log",
        "m002_declarations_index",
        "m003_search",
        "m004_quarantine",
        "m005_alert_board",
        "m006_deliveries",
    ]
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
        " VALUES ('warroom', 'm999_future', 'x')"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer warroom"):
        EventLog(db_path)


def test_a_database_from_a_newer_warroom_is_refused_and_left_alone(db_path):
    """It used to be opened, written and its user_version silently downgraded."""
    with EventLog(db_path) as log:
        declare(log)
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    before = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    conn.close()
    with pytest.raises(StoreError, match=r"newer warroom.*upgrade warroom"):
        EventLog(db_path)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == before
    conn.close()


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"not a usable warroom database|cannot open"):
        EventLog(path)


def test_a_full_disk_is_a_clear_error_and_stores_nothing(log):
    incident = declare(log)
    before = log.timeline.head()
    pages = log.db.conn.execute("PRAGMA page_count").fetchone()[0]
    log.db.conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL, as on a full disk
    with pytest.raises(StoreError, match=r"is full: free some space.*nothing was saved"):
        run(log, incident, *(AddNote(text="x" * 5000) for _ in range(20)))
    log.db.conn.execute("PRAGMA max_page_count = 1073741823")
    assert log.timeline.head() == before
    note(log, incident, "after")  # and the log still works


def test_outbox_holds_local_events_until_acknowledged(log):
    incident = declare(log)
    event = note(log, incident, "x")
    assert [e.kind for e in log.outbox.batch()] == ["declared", "note"]
    assert log.outbox.acknowledge([event.id, "unknown-id"]) == 1
    assert [e.kind for e in log.outbox.batch()] == ["declared"]
    assert log.outbox.pending() == 1


def test_cursors(log):
    assert log.outbox.cursor("cursor:x") is None
    log.outbox.set_cursor("cursor:x", "41")
    log.outbox.set_cursor("cursor:x", "42")
    assert log.outbox.cursor("cursor:x") == "42"


def test_schema_version_counts_the_migrations(db_path):
    from warroom.store.schema import migrations

    assert len(migrations._migrations) == SCHEMA_VERSION
    EventLog(db_path).close()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_a_version_2_database_is_migrated_forward_and_searchable(db_path):
    """A file from before m003 gets the search index, filled from its events."""
    with EventLog(db_path) as log:
        incident = declare(log, title="payments down")
        note(log, incident, "db pool exhausted")
    conn = sqlite3.connect(db_path)
    conn.executescript(
        """
        DROP TRIGGER events_ai; DROP TRIGGER events_ad; DROP TRIGGER events_au;
        DROP TABLE events_fts;
        ALTER TABLE events DROP COLUMN text;
        DELETE FROM _sqlite_migrations WHERE name = 'm003_search';
        PRAGMA user_version = 2;
        """
    )
    conn.close()
    with EventLog(db_path) as log:
        assert log.timeline.count(incident, TimelineFilter(text="pool")) == 1
        assert log.timeline.count(incident, TimelineFilter(text="payments")) == 1
        note(log, incident, "pool resized")
        assert log.timeline.count(incident, TimelineFilter(text="pool")) == 2


def test_events_stamped_in_other_digits_are_quarantined_on_upgrade(db_path):
    """A stamp in Arabic-Indic digits (which `\\d` once accepted) sorts after every real one:
    it won every last-writer-wins field and broke every later append. The upgrade moves such
    events out of the log, the outbox and the snapshots, and keeps them for inspection."""
    with EventLog(db_path) as log:
        incident = declare(log)
        run(log, incident, ChangeStatus(status="identified"))
        log.state(incident)
    bad_stamp = "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in "1764000000000-000000")
    conn = sqlite3.connect(db_path)
    conn.execute(
        "INSERT INTO events (id, incident_id, device_id, hlc, actor, kind, payload)"
        " VALUES ('01JZ00000000000000000BAD00', ?, 'peer', ?, 'x', 'status_changed',"
        ' \'{"status": "resolved", "replaces": null}\')',
        (incident, bad_stamp),
    )
    conn.execute("INSERT INTO outbox (seq) SELECT max(seq) FROM events")
    conn.execute("INSERT OR REPLACE INTO snapshots VALUES (?, 0, 0, 'x')", (incident,))
    conn.executescript(
        "DROP TABLE quarantine; DELETE FROM _sqlite_migrations WHERE name = 'm004_quarantine';"
        " PRAGMA user_version = 3;"
    )
    conn.close()
    with EventLog(db_path) as log:
        assert log.state(incident).current_status == "identified"
        assert all(e.hlc.isascii() for e in log.timeline.events(incident))
        assert log.outbox.pending() == 2  # the declaration and the status, not the quarantined
        run(log, incident, ChangeStatus(status="monitoring"))  # appends work again
        assert log.state(incident).current_status == "monitoring"
        kept = log.db.query("SELECT id, reason FROM quarantine")
    assert kept == [("01JZ00000000000000000BAD00", "stamp or id not in ASCII")]
