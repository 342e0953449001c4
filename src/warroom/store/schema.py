"""Schema migrations, applied in order and recorded by sqlite-utils' migration tracker.

Append-only: a released migration is never edited; a change is a new function below it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlite_utils import Database, Migrations

if TYPE_CHECKING:
    from warroom.core.events import Event

migrations = Migrations("warroom")


@migrations()
def m001_event_log(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            incident_id TEXT NOT NULL,
            device_id TEXT NOT NULL,
            hlc TEXT NOT NULL,
            actor TEXT NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX events_by_incident ON events (incident_id, hlc, id)")
    db.execute("CREATE INDEX events_by_hlc ON events (hlc)")
    db.execute("CREATE INDEX events_by_incident_seq ON events (incident_id, seq)")
    # Local events the shared server has not acknowledged yet.
    db.execute("CREATE TABLE outbox (seq INTEGER PRIMARY KEY REFERENCES events(seq))")
    # Cached projections, so opening a 100k-event incident does not refold it.
    db.execute(
        """
        CREATE TABLE snapshots (
            incident_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            state TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@migrations()
def m002_declarations_index(db: Database) -> None:
    """Listing incidents reads only declarations, not every event."""
    db.execute(
        "CREATE INDEX events_declarations ON events (incident_id, hlc) WHERE kind = 'declared'"
    )


@migrations()
def m003_search(db: Database) -> None:
    """Timeline search reads what people see (each event's one-line summary) through FTS5,
    not the raw payload JSON, where "text" or "false" matched every note."""
    from warroom.core.describe import searchable

    db.execute("ALTER TABLE events ADD COLUMN text TEXT NOT NULL DEFAULT ''")
    rows = db.execute(
        "SELECT seq, id, incident_id, device_id, hlc, actor, kind, payload FROM events"
    ).fetchall()
    db.conn.executemany(
        "UPDATE events SET text = ? WHERE seq = ?",
        [(searchable(_event(row[1:])), row[0]) for row in rows],
    )
    db.table("events").enable_fts(["text", "actor"], fts_version="FTS5", create_triggers=True)


@migrations()
def m004_quarantine(db: Database) -> None:
    """Events whose stamp or id is not ASCII (`\\d` once let Arabic-Indic digits through)
    sort after every real stamp and would win every last-writer-wins field forever. They
    move to `quarantine`, kept for inspection, out of the log, the outbox and the snapshots."""
    stamp = "[0-9]" * 13 + "-" + "[0-9]" * 6
    ulid = "[0-7]" + "[0-9A-HJKMNP-TV-Z]" * 25
    bad = f"NOT (hlc GLOB '{stamp}' AND id GLOB '{ulid}' AND incident_id GLOB '{ulid}')"
    db.execute(
        "CREATE TABLE quarantine (seq INTEGER PRIMARY KEY, id TEXT, incident_id TEXT,"
        " device_id TEXT, hlc TEXT, actor TEXT, kind TEXT, payload TEXT, reason TEXT)"
    )
    db.execute(
        "INSERT INTO quarantine SELECT seq, id, incident_id, device_id, hlc, actor, kind,"
        f" payload, 'stamp or id not in ASCII' FROM events WHERE {bad}"
    )
    db.execute(f"DELETE FROM outbox WHERE seq IN (SELECT seq FROM events WHERE {bad})")
    if db.execute("SELECT count(*) FROM quarantine").fetchone()[0]:
        db.execute("DELETE FROM snapshots")
    db.execute(f"DELETE FROM events WHERE {bad}")


@migrations()
def m005_alert_board(db: Database) -> None:
    """The alert board (`store/alerts.py`) reads alert events of every incident, and the
    declarations, status and component changes it matches them against, without a scan."""
    from warroom.store.alerts import BOARD_SQL

    db.execute(f"CREATE INDEX events_board ON events (seq) WHERE {BOARD_SQL}")


@migrations()
def m006_deliveries(db: Database) -> None:
    """The delivery queue (`store/deliveries.py`): one row per (event, channel) due, with
    its attempts, next attempt and lease; each channel's pace; and the scan cursor, which
    starts at the newest event: what was recorded before delivery existed is not sent."""
    from warroom.store.deliveries import TABLES

    for statement in TABLES:
        db.execute(statement)
    # Each incident's delivery results, for the per-channel state the console shows.
    db.execute(
        "CREATE INDEX events_delivery_results ON events (incident_id, hlc)"
        " WHERE kind IN ('delivery_sent', 'delivery_failed')"
    )


def _event(row: tuple[str, ...]) -> Event:
    from warroom.core.events import Event

    i, n, d, h, a, k, p = row
    return Event(i, n, d, h, a, k, json.loads(p))


KNOWN = {m.name for m in migrations._migrations}
