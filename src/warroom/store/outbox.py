"""The sync outbox: local events the shared server has not acknowledged yet, and cursors.

An event enters the outbox in the transaction that stores it, and leaves only when the
server says it holds it, so a crash between the two pushes it again (pushes are idempotent
by id). Sync cursors live in `meta`, saved after the events they cover are stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from warroom.core.events import Event
from warroom.store.database import Database
from warroom.store.timeline import EVENT_COLUMNS, row_events


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def pending(self) -> int:
        """How many local events the server has not acknowledged yet."""
        return int(self.db.query("SELECT count(*) FROM outbox")[0][0])

    def batch(self, limit: int = 500) -> list[Event]:
        """The oldest unacknowledged events, in the order they were stored."""
        columns = ", ".join("e." + c for c in EVENT_COLUMNS.split(", "))
        rows = self.db.query(
            f"SELECT {columns} FROM outbox o JOIN events e ON e.seq = o.seq ORDER BY o.seq LIMIT ?",
            (limit,),
        )
        return row_events(rows)

    def acknowledge(self, event_ids: Iterable[str]) -> int:
        """Drop events the server has stored; returns how many were dropped."""
        ids = list(event_ids)
        dropped = 0
        with self.db.write() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                cur = conn.execute(
                    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM events WHERE id IN"
                    f" ({','.join('?' * len(chunk))}))",
                    chunk,
                )
                dropped += cur.rowcount
        return dropped

    def cursor(self, key: str) -> str | None:
        return self.db.get_meta(key)

    def set_cursor(self, key: str, value: str) -> None:
        self.db.set_meta(key, value)
