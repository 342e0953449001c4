"""Writing the log: commands made here, and events made elsewhere (import, sync).

`execute` is the one way this machine changes an incident: inside one IMMEDIATE transaction
it reads the incident's state, plans the commands against it (`warroom.core.commands.plan`),
links each write to the one it replaces, stamps and stores the events and queues them for
sync. An append that returned is on disk; one that raised wrote nothing.

Inside the transaction the clock observes the highest stamp in the file, so stamps are
strictly increasing across every process on the machine.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from warroom.core.describe import searchable
from warroom.core.events import Event
from warroom.core.hlc import HybridClock, Stamp, wall_ms_now
from warroom.core.ids import new_id
from warroom.core.policy import Policy
from warroom.store.database import Database
from warroom.store.projection import Projections

if TYPE_CHECKING:  # commands load pydantic: the console's first frame does without it
    from warroom.core.commands import Command

_INSERT = (
    "INSERT{ignore} INTO events (id, incident_id, device_id, hlc, actor, kind, payload, text)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _dumps(payload: dict[str, object]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class Appender:
    def __init__(
        self,
        db: Database,
        projections: Projections,
        device_id: str,
        policy: Policy,
        tz: tzinfo = UTC,
        now_ms: Callable[[], int] = wall_ms_now,
    ) -> None:
        self.db = db
        self.projections = projections
        self.device_id = device_id
        self.policy = policy
        self.tz = tz
        self.clock = HybridClock(now_ms)

    def execute(
        self,
        incident_id: str,
        commands: Sequence[Command],
        actor: str,
        *,
        now: datetime | None = None,
    ) -> list[Event]:
        """Carry out commands on an incident in one transaction; the events stored.

        Raises CommandError (refused, nothing written) or StoreError (the file failed).
        """
        from warroom.core.commands import Context, materialise

        ctx = Context(self.policy, now or datetime.now(UTC), self.tz)
        with self.db.write() as conn:
            state = self.projections.state(incident_id, save=False)
            self._observe(conn)
            events = materialise(
                state,
                commands,
                ctx,
                device_id=self.device_id,
                actor=actor,
                ids=iter(new_id, None),
                stamps=(self.clock.tick().encode() for _ in iter(int, 1)),
            )
            for event in events:
                cur = conn.execute(_INSERT.format(ignore=""), self._row(event))
                conn.execute("INSERT INTO outbox (seq) VALUES (?)", (cur.lastrowid,))
        return events

    def insert(self, events: Iterable[Event], *, outbox: bool = False) -> list[Event]:
        """Store events made elsewhere (import, sync), skipping ids already here.

        Returns the events that were new. Their clock stamps are folded into ours so that
        what we write next orders after what we have seen.
        """
        added = []
        with self.db.write() as conn:
            for event in events:
                cur = conn.execute(_INSERT.format(ignore=" OR IGNORE"), self._row(event))
                if cur.rowcount:
                    added.append(event)
                    self.clock.observe(Stamp.parse(event.hlc))
                    if outbox:
                        conn.execute("INSERT INTO outbox (seq) VALUES (?)", (cur.lastrowid,))
        return added

    def _observe(self, conn: sqlite3.Connection) -> None:
        top = conn.execute("SELECT max(hlc) FROM events").fetchone()[0]
        if top:
            self.clock.observe(Stamp.parse(top))

    @staticmethod
    def _row(event: Event) -> tuple[str, ...]:
        return (
            event.id,
            event.incident_id,
            event.device_id,
            event.hlc,
            event.actor,
            event.kind,
            _dumps(event.payload),
            searchable(event),
        )
