import os
import sqlite3
import stat
import subprocess
import sys
import textwrap

import pytest

from warroom.core.events import PayloadError
from warroom.core.ids import new_id
from warroom.core.state import project
from warroom.store import EventLog, StoreError, TimelineFilter
from warroom.store import log as log_module


def declare(log: EventLog) -> str:
    incident = new_id()
    log.append(incident, "declared", {"title": "t", "severity": "SEV2"}, "alice")
    return incident


def test_append_is_durable_and_readable_from_another_connection(log, db_path):
    incident = declare(log)
    event = log.append(incident, "note", {"text": "hello"}, "bob")
    with EventLog(db_path) as other:
        assert other.get(event.id) == event
        assert [e.kind for e in other.events(incident)] == ["declared", "note"]


def test_pragmas_and_private_file(log, db_path):
    assert log.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert log.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600


def test_invalid_payload_changes_nothing(log):
    incident = declare(log)
    before = log.head()
    with pytest.raises(PayloadError, match="severity"):
        log.append(incident, "severity_changed", {"severity": "SEV0"}, "x")
    assert log.head() == before


def test_unknown_kinds_are_stored_as_given(log):
    incident = declare(log)
    log.append(incident, "future.thing", {"nested": {"a": [1, 2]}}, "x")
    assert log.events(incident)[-1].payload == {"nested": {"a": [1, 2]}}


def test_insert_is_idempotent_and_advances_the_clock(log, tmp_path):
    incident = declare(log)
    events = log.events(incident)
    with EventLog(tmp_path / "other.db") as other:
        assert len(other.insert(events)) == 1
        assert other.insert(events) == []
        later = other.append(incident, "note", {"text": "x"}, "y")
        assert later.hlc > events[-1].hlc
        assert other.pending() == 1  # only its own event waits for the server


def test_stamps_are_unique_and_increasing_across_processes(db_path):
    EventLog(db_path).close()
    incident = new_id()
    script = textwrap.dedent(
        f"""
        from warroom.store import EventLog
        log = EventLog({str(db_path)!r})
        for i in range(150):
            log.append({incident!r}, "note", {{"text": str(i)}}, "w")
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    with EventLog(db_path) as log:
        rows = log.conn.execute("SELECT hlc FROM events ORDER BY seq").fetchall()
    stamps = [r[0] for r in rows]
    assert len(stamps) == 450
    assert len(set(stamps)) == 450
    assert stamps == sorted(stamps)  # commit order is clock order on one machine


def test_cached_state_equals_a_cold_fold(db_path, monkeypatch):
    monkeypatch.setattr(log_module, "SNAPSHOT_AFTER", 10)
    with EventLog(db_path) as log:
        incident = declare(log)
        for i in range(25):
            log.append(incident, "note", {"text": f"n{i}", "pinned": i % 5 == 0}, "a")
        log.state(incident)  # writes a snapshot
        for i in range(3):
            log.append(incident, "severity_changed", {"severity": f"SEV{i + 1}"}, "a")
        assert log.state(incident) == project(log.events(incident), incident)
    with EventLog(db_path) as fresh:
        snap = fresh.conn.execute("SELECT last_seq FROM snapshots").fetchone()
        assert snap is not None
        assert fresh.state(incident) == project(fresh.events(incident), incident)


def test_a_damaged_snapshot_is_ignored_and_the_state_refolded(db_path, monkeypatch):
    monkeypatch.setattr(log_module, "SNAPSHOT_AFTER", 5)
    with EventLog(db_path) as log:
        incident = declare(log)
        for i in range(10):
            log.append(incident, "note", {"text": f"n{i}", "pinned": True}, "a")
        log.state(incident)
        log.conn.execute("UPDATE snapshots SET state = '{\"incident_id\": 1}'")
    with EventLog(db_path) as fresh:
        assert fresh.state(incident) == project(fresh.events(incident), incident)
        assert len(fresh.state(incident).pinned_ids()) == 10


def test_states_handed_out_do_not_change_later(log):
    incident = declare(log)
    first = log.state(incident)
    log.append(incident, "severity_changed", {"severity": "SEV1"}, "a")
    assert first.current_severity == "SEV2"
    assert log.state(incident).current_severity == "SEV1"


def test_filtered_pages(log):
    incident = declare(log)
    for i in range(20):
        log.append(incident, "note", {"text": f"note {i}"}, "bob" if i % 2 else "alice")
    notes = TimelineFilter(kinds=("note",))
    assert log.count(incident, notes) == 20
    assert [e.payload["text"] for e in log.page(incident, 5, 2, notes)] == ["note 5", "note 6"]
    assert log.count(incident, TimelineFilter(actor="bob")) == 10
    assert log.count(incident, TimelineFilter(text="note 1")) == 11  # 1, 10..19
    assert log.count(incident, TimelineFilter(text="100%")) == 0
    target = log.page(incident, 7, 1, notes)[0]
    assert log.position(incident, target, notes) == 7


@pytest.mark.parametrize("flt", [TimelineFilter(), TimelineFilter(actor="bob")])
def test_pages_read_backwards_from_the_total_equal_pages_read_forwards(log, flt):
    incident = declare(log)
    log.append_many(incident, [("note", {"text": f"n{i}"}) for i in range(45)], "bob")
    total = log.count(incident, flt)
    for offset in range(0, total + 3):
        for limit in (1, 7, 50):
            forwards = log.page(incident, offset, limit, flt)
            assert log.page(incident, offset, limit, flt, total) == forwards, (offset, limit)


def test_resolve_by_prefix_or_suffix(log):
    a = declare(log)
    assert log.resolve(a[-6:].lower()) == a
    with pytest.raises(StoreError, match="no incident"):
        log.resolve("ZZZZZZ")


def test_latest_open_skips_resolved(log):
    a = declare(log)
    b = declare(log)
    log.append(b, "status_changed", {"status": "resolved"}, "x")
    assert log.latest_open() == a


def test_migrations_are_recorded_and_a_newer_database_is_refused(db_path):
    EventLog(db_path).close()
    conn = sqlite3.connect(db_path)
    names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")]
    assert names == ["m001_event_log", "m002_declarations_index"]
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
        " VALUES ('warroom', 'm999_future', 'x')"
    )
    conn.execute("PRAGMA user_version = 3")  # what a newer warroom would have left
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer warroom"):
        EventLog(db_path)


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"not a usable warroom database|cannot open"):
        EventLog(path)


def test_outbox_holds_local_events_until_acknowledged(log):
    incident = declare(log)
    note = log.append(incident, "note", {"text": "x"}, "a")
    assert [e.kind for e in log.outbox()] == ["declared", "note"]
    assert log.acknowledge([note.id, "unknown-id"]) == 1
    assert [e.kind for e in log.outbox()] == ["declared"]
    assert log.pending() == 1


def test_meta_values(log):
    assert log.get_meta("cursor:x") is None
    log.set_meta("cursor:x", "41")
    log.set_meta("cursor:x", "42")
    assert log.get_meta("cursor:x") == "42"


def test_schema_version_counts_the_migrations(db_path):
    from warroom.store.log import SCHEMA_VERSION
    from warroom.store.schema import migrations

    assert len(migrations._migrations) == SCHEMA_VERSION
    EventLog(db_path).close()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_a_version_1_database_is_migrated_forward(db_path):
    """A file from before m002 gets the new index and keeps its events."""
    with EventLog(db_path) as log:
        incident = declare(log)
    conn = sqlite3.connect(db_path)
    conn.execute("DROP INDEX events_declarations")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm002_declarations_index'")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with EventLog(db_path) as log:
        assert log.incident_ids() == [incident]
        plan = log.conn.execute(
            "EXPLAIN QUERY PLAN SELECT incident_id FROM events WHERE kind = 'declared'"
            " GROUP BY incident_id ORDER BY min(hlc) DESC"
        ).fetchall()
        assert "events_declarations" in str(plan)
