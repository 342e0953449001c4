"""Reading the log: an incident's events, pages of its (filtered) timeline, and incidents.

Rows were validated on the way in, so they are not validated on the way out: 100k events
read as plain tuples and `Event` named tuples stay fast.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warroom.core.events import Event
from warroom.core.hlc import Stamp
from warroom.store.database import Database, IncidentNotFound

EVENT_COLUMNS = "id, incident_id, device_id, hlc, actor, kind, payload"
_WORD = re.compile(r"\w+", re.UNICODE)


def row_events(rows: Iterable[tuple[Any, ...]]) -> list[Event]:
    """Rows of EVENT_COLUMNS as events, in bulk."""
    loads = json.loads
    return [Event(i, n, d, h, a, k, loads(p)) for i, n, d, h, a, k, p in rows]


@dataclass(frozen=True)
class TimelineFilter:
    """What the timeline shows: kinds (empty = all but `exclude`), actor, and words to
    search for.

    Words match what people read (each event's summary and its actor) as prefixes, all of
    them, through the FTS5 index: "pinned" finds a note that says "pinned", not every note
    whose JSON has a `pinned` field.
    """

    kinds: tuple[str, ...] = ()
    actor: str = ""
    text: str = ""
    exclude: tuple[str, ...] = ()
    """Kinds left out when `kinds` names none (the console's delivery results)."""

    @property
    def is_empty(self) -> bool:
        return not (self.kinds or self.actor or self.text or self.exclude)

    def query(self) -> str:
        """The filter as typed: `kind:note actor:bob words`."""
        parts = [f"kind:{k}" for k in self.kinds]
        if self.actor:
            parts.append(f"actor:{self.actor}")
        if self.text:
            parts.append(self.text)
        return " ".join(parts)

    def where(self) -> tuple[str, list[Any]]:
        sql, args = "", []
        if self.kinds:
            sql += f" AND kind IN ({','.join('?' * len(self.kinds))})"
            args += list(self.kinds)
        elif self.exclude:
            sql += f" AND kind NOT IN ({','.join('?' * len(self.exclude))})"
            args += list(self.exclude)
        if self.actor:
            sql += " AND actor = ?"
            args.append(self.actor)
        words = _WORD.findall(self.text)
        if words:
            sql += " AND seq IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)"
            args.append(" ".join(f'"{word}"*' for word in words))
        return sql, args


class Timeline:
    """Queries over the event log; safe from any thread (the database's lock)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def head(self) -> int:
        """The highest local sequence number: a cheap "has anything changed?" probe."""
        return int(self.db.query("SELECT coalesce(max(seq), 0) FROM events")[0][0])

    def events(self, incident_id: str) -> list[Event]:
        """Every event of an incident in causal order (clock stamp, then id)."""
        rows = self.db.query(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE incident_id = ? ORDER BY hlc, id",
            (incident_id,),
        )
        return row_events(rows)

    def after(self, seq: int) -> list[tuple[int, Event]]:
        """Events stored after a local sequence number, in storage order (for live views)."""
        rows = self.db.query(
            f"SELECT seq, {EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq", (seq,)
        )
        return [(r[0], row_events([r[1:]])[0]) for r in rows]

    def get(self, event_id: str) -> Event | None:
        rows = self.db.query(f"SELECT {EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,))
        return row_events(rows)[0] if rows else None

    def count(self, incident_id: str, flt: TimelineFilter | None = None) -> int:
        where, args = (flt or TimelineFilter()).where()
        sql = f"SELECT count(*) FROM events WHERE incident_id = ?{where}"
        return int(self.db.query(sql, [incident_id, *args])[0][0])

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
        select = f"SELECT {EVENT_COLUMNS} FROM events WHERE incident_id = ?{where}"
        if total is not None and offset > total // 2:
            count = max(0, min(limit, total - offset))
            sql = f"{select} ORDER BY hlc DESC, id DESC LIMIT ? OFFSET ?"
            rows = self.db.query(sql, [incident_id, *args, count, total - offset - count])
            return row_events(rows[::-1])
        sql = f"{select} ORDER BY hlc, id LIMIT ? OFFSET ?"
        return row_events(self.db.query(sql, [incident_id, *args, limit, offset]))

    def position(self, incident_id: str, event: Event, flt: TimelineFilter | None = None) -> int:
        """Where an event sits in the (filtered) timeline."""
        where, args = (flt or TimelineFilter()).where()
        sql = (
            f"SELECT count(*) FROM events WHERE incident_id = ?{where}"
            " AND (hlc < ? OR (hlc = ? AND id < ?))"
        )
        return int(self.db.query(sql, [incident_id, *args, event.hlc, event.hlc, event.id])[0][0])

    def position_at(
        self, incident_id: str, moment: datetime, flt: TimelineFilter | None = None
    ) -> int:
        """Index of the first (filtered) event at or after a moment, for "jump to time"."""
        where, args = (flt or TimelineFilter()).where()
        stamp = Stamp(max(int(moment.timestamp() * 1000), 0), 0).encode()
        sql = f"SELECT count(*) FROM events WHERE incident_id = ?{where} AND hlc < ?"
        return int(self.db.query(sql, [incident_id, *args, stamp])[0][0])

    # -- incidents ----------------------------------------------------------------------------

    def incident_ids(self) -> list[str]:
        """Every incident with a declaration, newest first."""
        rows = self.db.query(
            "SELECT incident_id FROM events WHERE kind = 'declared'"
            " GROUP BY incident_id ORDER BY min(hlc) DESC"
        )
        return [r[0] for r in rows]

    def resolve(self, ref: str) -> str:
        """A full incident id from a unique prefix or suffix (4+ characters, any case)."""
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
