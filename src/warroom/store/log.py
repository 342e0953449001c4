"""The event log: append, read, project, import.

One SQLite file per machine, shared safely by the console and CLI processes: WAL mode,
`synchronous=FULL` (a commit is on disk before `append` returns), one `BEGIN IMMEDIATE`
transaction per append, and a busy timeout so writers queue instead of failing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from warroom.core.events import Event, normalise_payload
from warroom.core.hlc import HybridClock, Stamp, wall_ms_now
from warroom.core.ids import new_id
from warroom.core.state import PROJECTION_VERSION, IncidentState

BUSY_TIMEOUT_MS = 10_000
SCHEMA_VERSION = 2  # the number of migrations in schema.py (a test keeps them equal)
SNAPSHOT_AFTER = 256  # refresh the cached projection once this many events pile up behind it
_EVENT_COLUMNS = "id, incident_id, device_id, hlc, actor, kind, payload"
_COLUMNS = f"seq, {_EVENT_COLUMNS}"


class StoreError(Exception):
    """The database cannot be used as asked; the message says why in one line."""


class IncidentNotFound(StoreError):
    pass


@dataclass(frozen=True)
class TimelineFilter:
    """What the timeline shows: kinds (empty = all), actor, and a text search."""

    kinds: tuple[str, ...] = ()
    actor: str = ""
    text: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.kinds or self.actor or self.text)

    def where(self) -> tuple[str, list[Any]]:
        sql, args = "", []
        if self.kinds:
            sql += f" AND kind IN ({','.join('?' * len(self.kinds))})"
            args += list(self.kinds)
        if self.actor:
            sql += " AND actor = ?"
            args.append(self.actor)
        if self.text:
            sql += " AND (payload LIKE ? ESCAPE '\\' OR actor LIKE ? ESCAPE '\\')"
            pattern = "%" + self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args += [pattern + "%", pattern + "%"]
        return sql, args


def _create_private(path: Path) -> None:
    """Create a new database file readable by its owner only (it holds incident details).

    An existing file is never opened here: closing any descriptor of a file drops all of
    this process's POSIX locks on it, SQLite's included, and another process would then
    take itself for the last user and delete the WAL this process still writes to.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        return
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:  # another process created it a moment ago
        return
    os.close(fd)


def _row_event(row: tuple) -> Event:
    # Rows were validated on the way in; skip validation on the way out (100k rows stay fast).
    return Event(row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]))


def _row_events(rows: list[tuple]) -> list[Event]:
    """Rows of `_EVENT_COLUMNS` (no seq) as events, in bulk."""
    loads = json.loads
    return [Event(i, n, d, h, a, k, loads(p)) for i, n, d, h, a, k, p in rows]


class EventLog:
    """The local event log. Thread-safe: one connection, one lock, short transactions."""

    def __init__(self, path: str | Path, *, now_ms=wall_ms_now) -> None:
        self.path = Path(path).expanduser()
        try:
            if str(self.path) != ":memory:":
                _create_private(self.path)
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from None
        self.conn = conn
        self._lock = threading.RLock()
        self._states: dict[str, tuple[IncidentState, int]] = {}
        try:
            self._migrate()
            self.device_id = self._meta("device_id", lambda: new_id().lower())
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable warroom database: {exc}") from None
        self.clock = HybridClock(now_ms)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: take the write lock up front, commit or roll back."""
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"database is busy: {exc}") from None
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def _migrate(self) -> None:
        """Bring the schema up to date; a current file costs one PRAGMA, no sqlite-utils."""
        if self.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        from sqlite_utils import Database

        from warroom.store.schema import KNOWN, migrations

        db = Database(self.conn, execute_plugins=False, recursive_triggers=False)
        with self._write():
            applied = {m.name for m in migrations.applied(db)}
            newer = applied - KNOWN
            if newer:
                raise StoreError(
                    f"{self.path} was written by a newer warroom (migration {sorted(newer)[0]});"
                    " upgrade warroom to open it"
                )
            migrations.apply(db)
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _meta(self, key: str, make) -> str:
        with self._write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row:
                return row[0]
            value = make()
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
            return value

    # -- writing --------------------------------------------------------------------------

    def append(self, incident_id: str, kind: str, payload: Any, actor: str) -> Event:
        """Validate, stamp and durably store one event; returns it once it is on disk."""
        return self.append_many(incident_id, [(kind, payload)], actor)[0]

    def append_many(
        self,
        incident_id: str,
        items: Iterable[tuple[str, Any]],
        actor: str,
    ) -> list[Event]:
        """Several events in one transaction: all are stored, or none."""
        prepared = [(kind, normalise_payload(kind, payload)) for kind, payload in items]
        with self._write() as conn:
            top = conn.execute("SELECT max(hlc) FROM events").fetchone()[0]
            if top:
                self.clock.observe(Stamp.parse(top))
            events = []
            for kind, body in prepared:
                event = Event(
                    id=new_id(),
                    incident_id=incident_id,
                    device_id=self.device_id,
                    hlc=self.clock.tick().encode(),
                    actor=actor,
                    kind=kind,
                    payload=body,
                )
                cur = conn.execute(
                    "INSERT INTO events (id, incident_id, device_id, hlc, actor, kind, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        event.id,
                        incident_id,
                        self.device_id,
                        event.hlc,
                        actor,
                        kind,
                        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                    ),
                )
                conn.execute("INSERT INTO outbox (seq) VALUES (?)", (cur.lastrowid,))
                events.append(event)
        return events

    def insert(self, events: Iterable[Event], *, outbox: bool = False) -> list[Event]:
        """Store events made elsewhere (import, sync), skipping ids already here.

        Returns the events that were new. Their clock stamps are folded into ours so that
        what we write next orders after what we have seen.
        """
        added = []
        with self._write() as conn:
            for event in events:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO events"
                    " (id, incident_id, device_id, hlc, actor, kind, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        event.id,
                        event.incident_id,
                        event.device_id,
                        event.hlc,
                        event.actor,
                        event.kind,
                        json.dumps(event.payload, ensure_ascii=False, separators=(",", ":")),
                    ),
                )
                if cur.rowcount:
                    added.append(event)
                    self.clock.observe(Stamp.parse(event.hlc))
                    if outbox:
                        conn.execute("INSERT INTO outbox (seq) VALUES (?)", (cur.lastrowid,))
        return added

    # -- reading --------------------------------------------------------------------------

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        with self._lock:
            return self.conn.execute(sql, tuple(args)).fetchall()

    def head(self) -> int:
        """The highest local sequence number: a cheap "has anything changed?" probe."""
        return self._query("SELECT coalesce(max(seq), 0) FROM events")[0][0]

    def events(self, incident_id: str) -> list[Event]:
        """Every event of an incident in causal order (clock stamp, then id)."""
        rows = self._query(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE incident_id = ? ORDER BY hlc, id",
            (incident_id,),
        )
        return _row_events(rows)

    def events_after(self, seq: int) -> list[tuple[int, Event]]:
        """Events stored after a local sequence number, in storage order (for live views)."""
        rows = self._query(f"SELECT {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq", (seq,))
        return [(r[0], _row_event(r)) for r in rows]

    def get(self, event_id: str) -> Event | None:
        rows = self._query(f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,))
        return _row_events(rows)[0] if rows else None

    def count(self, incident_id: str, flt: TimelineFilter | None = None) -> int:
        where, args = (flt or TimelineFilter()).where()
        sql = f"SELECT count(*) FROM events WHERE incident_id = ?{where}"
        return self._query(sql, [incident_id, *args])[0][0]

    def page(
        self,
        incident_id: str,
        offset: int,
        limit: int,
        flt: TimelineFilter | None = None,
        total: int | None = None,
    ) -> list[Event]:
        """A window of the (filtered) timeline, for a virtualised view.

        SQLite walks an OFFSET row by row; given the timeline's `total`, a window in its
        second half is read backwards from the end (the newest page of 100k events: 10 ms
        -> under 1 ms). Events stored since `total` was counted may shift that window.
        """
        where, args = (flt or TimelineFilter()).where()
        select = f"SELECT {_EVENT_COLUMNS} FROM events WHERE incident_id = ?{where}"
        if total is not None and offset > total // 2:
            count = max(0, min(limit, total - offset))
            sql = f"{select} ORDER BY hlc DESC, id DESC LIMIT ? OFFSET ?"
            rows = self._query(sql, [incident_id, *args, count, total - offset - count])
            return _row_events(rows[::-1])
        sql = f"{select} ORDER BY hlc, id LIMIT ? OFFSET ?"
        return _row_events(self._query(sql, [incident_id, *args, limit, offset]))

    def position(self, incident_id: str, event: Event, flt: TimelineFilter | None = None) -> int:
        """Where an event sits in the (filtered) timeline."""
        where, args = (flt or TimelineFilter()).where()
        sql = (
            f"SELECT count(*) FROM events WHERE incident_id = ?{where}"
            " AND (hlc < ? OR (hlc = ? AND id < ?))"
        )
        return self._query(sql, [incident_id, *args, event.hlc, event.hlc, event.id])[0][0]

    def position_at(
        self, incident_id: str, moment: datetime, flt: TimelineFilter | None = None
    ) -> int:
        """Index of the first (filtered) event at or after a moment, for "jump to time"."""
        where, args = (flt or TimelineFilter()).where()
        stamp = Stamp(int(moment.timestamp() * 1000), 0).encode()
        sql = f"SELECT count(*) FROM events WHERE incident_id = ?{where} AND hlc < ?"
        return self._query(sql, [incident_id, *args, stamp])[0][0]

    def incident_ids(self) -> list[str]:
        """Every incident with a declaration, newest first."""
        rows = self._query(
            "SELECT incident_id FROM events WHERE kind = 'declared'"
            " GROUP BY incident_id ORDER BY min(hlc) DESC"
        )
        return [r[0] for r in rows]

    def resolve(self, ref: str) -> str:
        """A full incident id from a unique prefix or suffix (case-insensitive)."""
        ref = ref.strip().upper()
        ids = self.incident_ids()
        if ref in ids:
            return ref
        hits = [i for i in ids if len(ref) >= 4 and (i.startswith(ref) or i.endswith(ref))]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise IncidentNotFound(f"no incident matches {ref!r} (see `warroom list`)")
        raise IncidentNotFound(f"{ref!r} matches {len(hits)} incidents; give more characters")

    def state(self, incident_id: str) -> IncidentState:
        """The projected state: cached snapshot plus the events stored since it."""
        with self._lock:
            cached = self._states.get(incident_id)
            state, last_seq = cached or self._load_snapshot(incident_id)
            rows = self.conn.execute(
                f"SELECT {_COLUMNS} FROM events WHERE incident_id = ? AND seq > ? ORDER BY seq",
                (incident_id, last_seq),
            ).fetchall()
            if rows:
                if cached:  # states handed out earlier never change under their holders
                    state = state.copy()
                for row in rows:
                    state.apply(_row_event(row))
                last_seq = rows[-1][0]
                if len(rows) >= SNAPSHOT_AFTER:
                    self._save_snapshot(state, last_seq)
            self._states[incident_id] = (state, last_seq)
            return state

    def _load_snapshot(self, incident_id: str) -> tuple[IncidentState, int]:
        row = self.conn.execute(
            "SELECT version, last_seq, state FROM snapshots WHERE incident_id = ?",
            (incident_id,),
        ).fetchone()
        if row and row[0] == PROJECTION_VERSION:
            try:
                return IncidentState.from_json(row[2]), row[1]
            except (ValueError, KeyError, TypeError):
                pass  # a damaged cache is only a cache: fold from the events instead
        return IncidentState(incident_id=incident_id), 0

    def _save_snapshot(self, state: IncidentState, last_seq: int) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO snapshots (incident_id, version, last_seq, state)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (incident_id) DO UPDATE SET"
                " version = excluded.version, last_seq = excluded.last_seq,"
                " state = excluded.state WHERE excluded.last_seq > snapshots.last_seq"
                " OR snapshots.version != excluded.version",
                (state.incident_id, PROJECTION_VERSION, last_seq, state.to_json()),
            )

    def latest_open(self) -> str | None:
        """The most recently declared incident that is not resolved."""
        for incident_id in self.incident_ids():
            if not self.state(incident_id).is_resolved:
                return incident_id
        return None

    # -- outbox and cursors (sync) ----------------------------------------------------------

    def pending(self) -> int:
        """How many local events the server has not acknowledged yet."""
        return self._query("SELECT count(*) FROM outbox")[0][0]

    def outbox(self, limit: int = 500) -> list[Event]:
        """The oldest unacknowledged events, in the order they were stored."""
        rows = self._query(
            f"SELECT {', '.join('e.' + c for c in _EVENT_COLUMNS.split(', '))}"
            " FROM outbox o JOIN events e ON e.seq = o.seq ORDER BY o.seq LIMIT ?",
            (limit,),
        )
        return _row_events(rows)

    def acknowledge(self, event_ids: Iterable[str]) -> int:
        """Drop events the server has stored from the outbox; returns how many were dropped."""
        ids = list(event_ids)
        dropped = 0
        with self._write() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                cur = conn.execute(
                    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM events WHERE id IN"
                    f" ({','.join('?' * len(chunk))}))",
                    chunk,
                )
                dropped += cur.rowcount
        return dropped

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
