"""The event log: one SQLite file, the truth on this machine.

`EventLog` opens the file and hands out the parts that do one job each: `timeline` (reading
events and incidents), `outbox` (what sync has not pushed), `deliveries` (what this machine
delivers to channels), `state()` (cached projections) and `execute`/`insert` (the write
path). See the modules of each for how.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.core.alerts import AlertBoard
from warroom.core.events import Event
from warroom.core.hlc import wall_ms_now
from warroom.core.ids import new_id
from warroom.core.policy import DEFAULT_POLICY, Policy
from warroom.core.state import IncidentState
from warroom.store.alerts import Alerts
from warroom.store.append import Appender
from warroom.store.database import Database
from warroom.store.deliveries import LocalDeliveries
from warroom.store.outbox import Outbox
from warroom.store.projection import Projections
from warroom.store.timeline import Timeline

if TYPE_CHECKING:
    from warroom.core.commands import Command, Declare


class EventLog:
    """The local event log. Thread-safe: one connection, one lock, short transactions."""

    def __init__(
        self,
        path: str | Path,
        *,
        policy: Policy = DEFAULT_POLICY,
        tz: tzinfo = UTC,
        now_ms: Callable[[], int] = wall_ms_now,
    ) -> None:
        """`policy` and `tz` are what commands are judged against (the config's)."""
        self.db = Database(path)
        self.path = self.db.path
        self.timeline = Timeline(self.db)
        self.outbox = Outbox(self.db)
        self.projections = Projections(self.db)
        self.board = Alerts(self.db)
        self.device_id = self.db.meta("device_id", lambda: new_id().lower())
        self.appender = Appender(self.db, self.projections, self.device_id, policy, tz, now_ms)
        self.deliveries = LocalDeliveries(self.db, self.appender)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------

    def execute(
        self,
        incident_id: str,
        commands: Sequence[Command],
        actor: str,
        *,
        now: datetime | None = None,
    ) -> list[Event]:
        """Carry out commands on an incident (see `Appender.execute`)."""
        return self.appender.execute(incident_id, commands, actor, now=now)

    def declare(
        self,
        declare: Declare,
        actor: str,
        *,
        also: Sequence[Command] = (),
        now: datetime | None = None,
    ) -> list[Event]:
        """Declare a new incident (and carry out `also` on it); its events."""
        return self.appender.execute(new_id(), [declare, *also], actor, now=now)

    def insert(self, events: Iterable[Event], *, outbox: bool = False) -> list[Event]:
        """Store events made elsewhere (import, sync); the ones that were new."""
        return self.appender.insert(events, outbox=outbox)

    # -- reading ------------------------------------------------------------------------------

    def state(self, incident_id: str) -> IncidentState:
        return self.projections.state(incident_id)

    def alerts(self) -> AlertBoard:
        """The inbox and every incident's alerts (see `warroom.core.alerts`)."""
        return self.board.board()

    def latest_open(self) -> str | None:
        """The most recently declared incident that is not resolved."""
        for incident_id in self.timeline.incident_ids():
            if not self.state(incident_id).is_resolved:
                return incident_id
        return None
