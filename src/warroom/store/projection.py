"""Incident states, folded from the log and cached so that opening a big incident is cheap.

A state is cached in memory per incident with the highest local sequence it has folded; a
read folds only the rows stored since. It is also saved in `snapshots` once SNAPSHOT_AFTER
events have piled up behind the saved one, so a new process opening a 100k-event incident
reads a small JSON blob plus a short tail. Because the fold is order-free (see
`warroom.core.state`), late events from sync fold in without a refold.
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress

from warroom.core.state import PROJECTION_VERSION, IncidentState
from warroom.store.database import Database, StoreError
from warroom.store.timeline import EVENT_COLUMNS, row_events

SNAPSHOT_AFTER = 256


class Projections:
    """States of incidents, cached; states handed out never change under their holders."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._states: dict[str, tuple[IncidentState, int]] = {}
        self._saved: dict[str, int] = {}
        """The last sequence each incident's stored snapshot covers."""

    def state(self, incident_id: str, *, save: bool = True) -> IncidentState:
        """The projected state: cached state plus the events stored since it.

        `save=False` inside a write transaction of another job: the snapshot is then left
        for the next read (saving commits the caller's transaction early otherwise).
        """
        with self.db.lock:
            cached = self._states.get(incident_id)
            state, last_seq = cached or self._load(incident_id)
            try:
                rows = self.db.conn.execute(
                    f"SELECT seq, {EVENT_COLUMNS} FROM events"
                    " WHERE incident_id = ? AND seq > ? ORDER BY seq",
                    (incident_id, last_seq),
                ).fetchall()
            except sqlite3.OperationalError as exc:
                raise self.db.error(exc) from None
            if rows:
                if cached:
                    state = state.copy()
                for event in row_events(row[1:] for row in rows):
                    state.apply(event)
                last_seq = rows[-1][0]
            self._states[incident_id] = (state, last_seq)
            if save and last_seq - self._saved.get(incident_id, 0) >= SNAPSHOT_AFTER:
                with suppress(StoreError):  # only a cache: a busy or full disk skips it
                    self._save(state, last_seq)
            return state

    def _load(self, incident_id: str) -> tuple[IncidentState, int]:
        row = self.db.conn.execute(
            "SELECT version, last_seq, state FROM snapshots WHERE incident_id = ?",
            (incident_id,),
        ).fetchone()
        if row and row[0] == PROJECTION_VERSION:
            try:
                state = IncidentState.from_json(row[2])
            except (ValueError, KeyError, TypeError):
                pass  # a damaged cache is only a cache: fold from the events instead
            else:
                self._saved[incident_id] = row[1]
                return state, row[1]
        self._saved[incident_id] = 0
        return IncidentState(incident_id=incident_id), 0

    def _save(self, state: IncidentState, last_seq: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO snapshots (incident_id, version, last_seq, state)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (incident_id) DO UPDATE SET"
                " version = excluded.version, last_seq = excluded.last_seq,"
                " state = excluded.state WHERE excluded.last_seq > snapshots.last_seq"
                " OR snapshots.version != excluded.version",
                (state.incident_id, PROJECTION_VERSION, last_seq, state.to_json()),
            )
        self._saved[state.incident_id] = last_seq
