"""The delivery queue in SQLite: one row per (event, channel) that is due, with its lease.

`warroom.delivery.engine` drives it; this module only says how the rows change, in SQL that
the local event log and the server's SQLite backend share (both have the same `events` and
`meta` tables). Times are milliseconds since the epoch, passed in by the engine.

- `scan` reads events after the `delivery.cursor` in `meta` and inserts a row for each
  channel that carries one (the cursor moves in the same transaction).
- `claim` takes the first delivery of a channel that is due: per incident only the earliest
  unfinished one (so a Slack thread stays in order), not leased by a live holder, and only
  once the channel's pace allows (`delivery_channels.next_at`, shared by every deliverer).
- `start` marks an attempt as on its way (`sending_since`) before the request goes out; a
  row claimed with it set had an attempt whose outcome nobody knows.
- `finish` records the outcome, only for the holder of the lease (compare-and-set).

Rows of the local log: `LocalDeliveries` below, which writes result events with the row in
one transaction. The server's backends have their own (`warroom.server`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from warroom.core.events import Event
from warroom.store.database import Database

if TYPE_CHECKING:
    from warroom.core.commands import Command
    from warroom.core.deliveries import Deliveries
    from warroom.store.append import Appender

CURSOR_KEY = "delivery.cursor"
UNFINISHED = ("pending", "retrying")
COLUMNS = (
    "d.id, d.event_id, d.incident_id, d.channel, d.position, d.state, d.attempts, d.next_at,"
    " d.lease_owner, d.lease_until, d.sending_since, d.ref, d.permalink, d.extra, d.reason,"
    " d.reported, d.created_at, d.updated_at, d.sent_at"
)
EVENT_COLUMNS = "e.id, e.incident_id, e.device_id, e.hlc, e.actor, e.kind, e.payload"
TABLES = (
    """
    CREATE TABLE IF NOT EXISTS deliveries (
        id INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        position TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER NOT NULL,
        lease_owner TEXT,
        lease_until INTEGER,
        sending_since INTEGER,
        ref TEXT NOT NULL DEFAULT '',
        permalink TEXT NOT NULL DEFAULT '',
        extra TEXT NOT NULL DEFAULT '{}',
        reason TEXT NOT NULL DEFAULT '',
        reported TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        sent_at INTEGER,
        UNIQUE (event_id, channel)
    )
    """,
    "CREATE INDEX IF NOT EXISTS deliveries_unfinished"
    " ON deliveries (channel, incident_id, position) WHERE state IN ('pending', 'retrying')",
    "CREATE INDEX IF NOT EXISTS deliveries_sent ON deliveries (incident_id, channel, position)",
    "CREATE TABLE IF NOT EXISTS delivery_channels"
    " (name TEXT PRIMARY KEY, next_at INTEGER NOT NULL)",
    # the scan starts at the newest event: what was stored before delivery existed is not sent
    "INSERT OR IGNORE INTO meta (key, value)"
    f" SELECT '{CURSOR_KEY}', coalesce(max(seq), 0) FROM events",
)
"""The queue's tables in SQLite, shared by the local log's migration and the server's."""


@dataclass(frozen=True, slots=True)
class Row:
    """One delivery as stored."""

    id: int
    event_id: str
    incident_id: str
    channel: str
    position: str
    state: str
    attempts: int
    next_at: int
    lease_owner: str | None
    lease_until: int | None
    sending_since: int | None
    ref: str
    permalink: str
    extra: dict[str, str]
    reason: str
    reported: str
    """The last failure reason recorded as an event (a repeat is not recorded again)."""
    created_at: int
    updated_at: int
    sent_at: int | None
    event_kind: str = ""


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery this deliverer holds the lease of, with its event.

    A claim of a delivery whose last attempt has a known outcome is also the start of the
    next attempt (`started`: `sending_since` set, attempts counted, in the claim's own
    transaction): one write fewer per delivery. Otherwise the engine asks the channel
    first, and then `start`s."""

    row: Row
    event: Event
    started: bool = False

    @property
    def unknown(self) -> bool:
        """An earlier attempt went out and nobody recorded what became of it."""
        return not self.started and self.row.sending_since is not None


@dataclass(frozen=True, slots=True)
class Idle:
    """Nothing to claim now; `until`: when something may be (the pace, a retry, a lease)."""

    until: int | None = None
    paced: bool = False
    """Only the channel's pace holds it back: something is due once `until` comes."""


@dataclass(frozen=True, slots=True)
class Finish:
    """The outcome of a claim, as the row keeps it."""

    state: str
    """sent, retrying or failed"""
    now: int
    next_at: int = 0
    ref: str = ""
    permalink: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    reported: str | None = None
    """The reason now recorded as an event (None: unchanged)."""
    pause_until: int | None = None
    """The channel asked to be left alone until then (429 Retry-After)."""
    unknown: bool = False
    """The attempt may have arrived: the next one checks first (`sending_since` is kept)."""


def row_of(values: Sequence[Any], kind: str = "") -> Row:
    """A row of COLUMNS (`extra` as JSON text from SQLite, or a dict from PostgreSQL)."""
    extra = values[13]
    return Row(
        id=values[0],
        event_id=values[1],
        incident_id=values[2],
        channel=values[3],
        position=values[4],
        state=values[5],
        attempts=values[6],
        next_at=values[7],
        lease_owner=values[8],
        lease_until=values[9],
        sending_since=values[10],
        ref=values[11],
        permalink=values[12],
        extra=json.loads(extra) if isinstance(extra, str) else dict(extra or {}),
        reason=values[14],
        reported=values[15],
        created_at=values[16],
        updated_at=values[17],
        sent_at=values[18],
        event_kind=kind,
    )


def unscanned_row(event: Event, channel: str, now: int) -> Row:
    """A delivery not queued yet, as a dry run shows it (id 0)."""
    return Row(
        id=0,
        event_id=event.id,
        incident_id=event.incident_id,
        channel=channel,
        position=f"{event.hlc} {event.id}",
        state="pending",
        attempts=0,
        next_at=now,
        lease_owner=None,
        lease_until=None,
        sending_since=None,
        ref="",
        permalink="",
        extra={},
        reason="",
        reported="",
        created_at=now,
        updated_at=now,
        sent_at=None,
        event_kind=event.kind,
    )


def event_of(values: Sequence[Any]) -> Event:
    """An event from its seven columns (payload as JSON text, or a dict from PostgreSQL)."""
    payload = values[6]
    return Event(
        values[0],
        values[1],
        values[2],
        values[3],
        values[4],
        values[5],
        json.loads(payload) if isinstance(payload, str) else payload,
    )


# -- the SQL both SQLite stores share -----------------------------------------------------------


class SqliteQueue:
    """The queue's statements on one SQLite connection, inside the caller's transaction."""

    @staticmethod
    def register(conn: sqlite3.Connection, channels: Iterable[str]) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO delivery_channels (name, next_at) VALUES (?, 0)",
            [(name,) for name in channels],
        )

    @staticmethod
    def unscanned(
        conn: sqlite3.Connection,
        route: Callable[[Event], Sequence[str]],
        now: int,
        stale_before: int,
        *,
        device_id: str | None = None,
        limit: int = 1000,
    ) -> tuple[list[tuple[Event, str, str]], int | None, bool]:
        """The (event, channel, state) deliveries of a page of events after the cursor, the
        page's last sequence (None: no page) and whether more events wait."""
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (CURSOR_KEY,)).fetchone()
        cursor = int(row[0]) if row else 0
        rows = conn.execute(
            "SELECT seq, id, incident_id, device_id, hlc, actor, kind, payload FROM events"
            " WHERE seq > ? ORDER BY seq LIMIT ?",
            (cursor, limit),
        ).fetchall()
        due = []
        for values in rows:
            event = event_of(values[1:])
            if device_id is not None and event.device_id != device_id:
                continue
            channels = route(event)
            if channels:
                stale = event.time.timestamp() * 1000 < stale_before
                due += [(event, channel, "failed" if stale else "pending") for channel in channels]
        return due, (rows[-1][0] if rows else None), len(rows) == limit

    @staticmethod
    def scan(
        conn: sqlite3.Connection,
        route: Callable[[Event], Sequence[str]],
        now: int,
        stale_before: int,
        *,
        device_id: str | None = None,
        limit: int = 1000,
    ) -> tuple[int, bool]:
        """Queue the deliveries of the events after the cursor (a page of them); how many,
        and whether more events wait. `device_id`: only events recorded by that device."""
        due, last, more = SqliteQueue.unscanned(
            conn, route, now, stale_before, device_id=device_id, limit=limit
        )
        if last is None:
            return 0, False
        conn.executemany(
            "INSERT OR IGNORE INTO deliveries (event_id, incident_id, channel, position, state,"
            " next_at, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    event.id,
                    event.incident_id,
                    channel,
                    f"{event.hlc} {event.id}",
                    state,
                    now,
                    STALE if state == "failed" else "",
                    now,
                    now,
                )
                for event, channel, state in due
            ],
        )
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (CURSOR_KEY, str(last)),
        )
        return len(due), more

    @staticmethod
    def preview(
        conn: sqlite3.Connection,
        route: Callable[[Event], Sequence[str]],
        now: int,
        stale_before: int,
        *,
        device_id: str | None = None,
    ) -> list[Row]:
        """Unfinished deliveries, then those of events not scanned yet (id 0), changing
        nothing: what a dry run shows."""
        found = SqliteQueue.rows(conn, states=UNFINISHED, limit=100_000)
        due, _, _ = SqliteQueue.unscanned(
            conn, route, now, stale_before, device_id=device_id, limit=100_000
        )
        found += [unscanned_row(e, channel, now) for e, channel, state in due if state == "pending"]
        return found

    @staticmethod
    def event(conn: sqlite3.Connection, event_id: str) -> Event | None:
        row = conn.execute(
            "SELECT id, incident_id, device_id, hlc, actor, kind, payload FROM events WHERE id = ?",
            (event_id,),
        ).fetchone()
        return event_of(row) if row else None

    @staticmethod
    def claim(
        conn: sqlite3.Connection, channel: str, owner: str, now: int, lease: int, pace: int
    ) -> Claim | Idle:
        paced = conn.execute(
            "SELECT next_at FROM delivery_channels WHERE name = ?", (channel,)
        ).fetchone()
        if paced and paced[0] > now:
            return Idle(paced[0], paced=True)
        heads = conn.execute(
            f"SELECT {COLUMNS}, {EVENT_COLUMNS} FROM"
            " (SELECT incident_id, min(position) AS position FROM deliveries"
            "  WHERE channel = ? AND state IN ('pending', 'retrying') GROUP BY incident_id) h"
            " JOIN deliveries d ON d.channel = ? AND d.incident_id = h.incident_id"
            "  AND d.position = h.position"
            " JOIN events e ON e.id = d.event_id"
            " ORDER BY d.position",
            (channel, channel),
        ).fetchall()
        soonest: int | None = None
        for values in heads:
            row, event = row_of(values[:19], values[24]), event_of(values[19:])
            ready = max(row.next_at, row.lease_until or 0)
            if ready > now:
                soonest = ready if soonest is None else min(soonest, ready)
                continue
            start = row.sending_since is None
            conn.execute(
                "UPDATE deliveries SET lease_owner = ?, lease_until = ?,"
                " sending_since = CASE WHEN ? THEN ? ELSE sending_since END,"
                " attempts = attempts + ?, updated_at = ? WHERE id = ?",
                (owner, now + lease, start, now, int(start), now, row.id),
            )
            conn.execute(
                "INSERT INTO delivery_channels (name, next_at) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET next_at = excluded.next_at",
                (channel, now + pace),
            )
            if start:
                row = replace(row, sending_since=now, attempts=row.attempts + 1)
            return Claim(row, event, started=start)
        return Idle(soonest)

    @staticmethod
    def start(conn: sqlite3.Connection, row_id: int, owner: str, now: int, lease: int) -> bool:
        cur = conn.execute(
            "UPDATE deliveries SET sending_since = ?, attempts = attempts + 1, lease_until = ?,"
            " updated_at = ? WHERE id = ? AND lease_owner = ?",
            (now, now + lease, now, row_id, owner),
        )
        return cur.rowcount == 1

    @staticmethod
    def renew(conn: sqlite3.Connection, row_id: int, owner: str, until: int) -> bool:
        cur = conn.execute(
            "UPDATE deliveries SET lease_until = ? WHERE id = ? AND lease_owner = ?",
            (until, row_id, owner),
        )
        return cur.rowcount == 1

    @staticmethod
    def release(conn: sqlite3.Connection, claim: Claim, owner: str) -> None:
        """Give a claim back with no request made (an attempt it started is undone)."""
        undo = claim.started
        conn.execute(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL,"
            " sending_since = CASE WHEN ? THEN NULL ELSE sending_since END,"
            " attempts = attempts - ? WHERE id = ? AND lease_owner = ?",
            (undo, int(undo), claim.row.id, owner),
        )

    @staticmethod
    def finish(
        conn: sqlite3.Connection, row: Row, owner: str, channel: str, outcome: Finish
    ) -> bool:
        cur = conn.execute(
            "UPDATE deliveries SET state = ?, next_at = ?, ref = ?, permalink = ?, extra = ?,"
            " reason = ?, reported = coalesce(?, reported), updated_at = ?,"
            " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END,"
            " lease_owner = NULL, lease_until = NULL,"
            " sending_since = CASE WHEN ? THEN sending_since ELSE NULL END"
            " WHERE id = ? AND lease_owner = ?",
            (
                outcome.state,
                outcome.next_at,
                outcome.ref,
                outcome.permalink,
                json.dumps(outcome.extra),
                outcome.reason,
                outcome.reported,
                outcome.now,
                outcome.state,
                outcome.now,
                outcome.unknown,
                row.id,
                owner,
            ),
        )
        if cur.rowcount != 1:
            return False
        if outcome.pause_until is not None:
            conn.execute(
                "UPDATE delivery_channels SET next_at = max(next_at, ?) WHERE name = ?",
                (outcome.pause_until, channel),
            )
        return True

    @staticmethod
    def previous(
        conn: sqlite3.Connection, incident_id: str, channel: str, position: str
    ) -> list[Row]:
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM deliveries d WHERE incident_id = ? AND channel = ?"
            " AND state = 'sent' AND position < ? ORDER BY position",
            (incident_id, channel, position),
        ).fetchall()
        return [row_of(values) for values in rows]

    @staticmethod
    def rows(
        conn: sqlite3.Connection, *, states: Sequence[str] = (), limit: int = 1000
    ) -> list[Row]:
        where, args = "", []
        if states:
            where = f" WHERE d.state IN ({','.join('?' * len(states))})"
            args += list(states)
        rows = conn.execute(
            f"SELECT {COLUMNS}, e.kind FROM deliveries d LEFT JOIN events e ON e.id = d.event_id"
            f"{where} ORDER BY d.position, d.channel LIMIT ?",
            [*args, limit],
        ).fetchall()
        return [row_of(values[:19], values[19] or "") for values in rows]

    @staticmethod
    def retry(
        conn: sqlite3.Connection, row_id: int, now: int, *, resend: bool = False
    ) -> Row | None:
        """Try a failed (or retrying) delivery again now; the row, or None if there is none
        to retry with this id. `resend`: without first checking whether an earlier attempt
        arrived (when the check itself keeps failing)."""
        cur = conn.execute(
            "UPDATE deliveries SET state = 'pending', next_at = ?, reason = '', reported = '',"
            " updated_at = ?, sending_since = CASE WHEN ? THEN NULL ELSE sending_since END"
            " WHERE id = ? AND state IN ('failed', 'retrying')",
            (now, now, resend, row_id),
        )
        if cur.rowcount != 1:
            return None
        found = conn.execute(f"SELECT {COLUMNS} FROM deliveries d WHERE id = ?", (row_id,))
        return row_of(found.fetchone())

    @staticmethod
    def counts(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
        """(channel, state) -> how many deliveries."""
        rows = conn.execute("SELECT channel, state, count(*) FROM deliveries GROUP BY 1, 2")
        return {(channel, state): n for channel, state, n in rows}


STALE = "not sent: recorded more than a day before it could be delivered (retry to send it)"
"""Why a delivery of an old event is not attempted: news that late would mislead."""


# -- the local event log's queue --------------------------------------------------------------


class LocalDeliveries:
    """The queue of the local event log: what this machine delivers when no server does.

    Only events recorded here are delivered (not those imported or pulled from a server,
    which their own deliverer handles). A result event is written with the row's outcome in
    one transaction, through the command layer.
    """

    def __init__(self, db: Database, appender: Appender) -> None:
        self.db = db
        self.appender = appender

    def register(self, channels: Iterable[str]) -> None:
        with self.db.write() as conn:
            SqliteQueue.register(conn, channels)

    def scan(
        self, route: Callable[[Event], Sequence[str]], now: int, stale_before: int
    ) -> tuple[int, bool]:
        with self.db.write() as conn:
            return SqliteQueue.scan(
                conn, route, now, stale_before, device_id=self.appender.device_id
            )

    def preview(
        self, route: Callable[[Event], Sequence[str]], now: int, stale_before: int
    ) -> list[Row]:
        with self.db.lock:
            return SqliteQueue.preview(
                self.db.conn, route, now, stale_before, device_id=self.appender.device_id
            )

    def event(self, event_id: str) -> Event | None:
        with self.db.lock:
            return SqliteQueue.event(self.db.conn, event_id)

    def claim(self, channel: str, owner: str, now: int, lease: int, pace: int) -> Claim | Idle:
        with self.db.write() as conn:
            return SqliteQueue.claim(conn, channel, owner, now, lease, pace)

    def start(self, row_id: int, owner: str, now: int, lease: int) -> bool:
        with self.db.write() as conn:
            return SqliteQueue.start(conn, row_id, owner, now, lease)

    def renew(self, row_id: int, owner: str, until: int) -> bool:
        with self.db.write() as conn:
            return SqliteQueue.renew(conn, row_id, owner, until)

    def release(self, claim: Claim, owner: str) -> None:
        with self.db.write() as conn:
            SqliteQueue.release(conn, claim, owner)

    def finish(
        self,
        claim: Claim,
        owner: str,
        outcome: Finish,
        commands: Sequence[Command],
        actor: str,
    ) -> bool:
        """Record the outcome and its result events together; False if the lease was lost
        (someone else holds the delivery now, and records it)."""
        from warroom.core.commands import CommandError

        with self.db.write() as conn:
            if not SqliteQueue.finish(conn, claim.row, owner, claim.row.channel, outcome):
                return False
            # A refusal (say its incident is not declared here) leaves the row to say it all.
            with suppress(CommandError):
                if commands:
                    self.appender.execute(claim.event.incident_id, commands, actor)
        return True

    def previous(self, incident_id: str, channel: str, position: str) -> list[Row]:
        with self.db.lock:
            return SqliteQueue.previous(self.db.conn, incident_id, channel, position)

    def rows(self, *, states: Sequence[str] = (), limit: int = 1000) -> list[Row]:
        with self.db.lock:
            return SqliteQueue.rows(self.db.conn, states=states, limit=limit)

    def retry(self, row_id: int, now: int, *, resend: bool = False) -> Row | None:
        with self.db.write() as conn:
            return SqliteQueue.retry(conn, row_id, now, resend=resend)

    def counts(self) -> dict[tuple[str, str], int]:
        with self.db.lock:
            return SqliteQueue.counts(self.db.conn)

    def results(self, incident_id: str) -> Deliveries:
        """What became of each delivery of an incident's events, whoever delivered them
        (this machine, or a server whose result events arrived by sync)."""
        from warroom.core.deliveries import fold

        rows = self.db.query(
            "SELECT id, incident_id, device_id, hlc, actor, kind, payload"
            " FROM events INDEXED BY events_delivery_results"  # not every event of a 100k log
            " WHERE incident_id = ? AND kind IN ('delivery_sent', 'delivery_failed')"
            " ORDER BY hlc, id",
            (incident_id,),
        )
        return fold(event_of(row) for row in rows)
