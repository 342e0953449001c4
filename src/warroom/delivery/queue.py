"""Where deliveries wait: the interface the engine drives, and the local event log's queue.

The engine (`engine.py`) is the same wherever it runs; what differs is where the queue and
the event log are. `LocalQueue` is the local SQLite log (no server configured); the server's
backends give their own (`warroom.server.deliveries`), over SQLite or PostgreSQL, where
several instances share the rows and each delivery goes to exactly one of them at a time.

Rows, claims and outcomes are the store's types (`warroom.store.deliveries`); times are
milliseconds since the epoch, from the engine's clock.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from warroom.core.events import Event
from warroom.core.state import IncidentState
from warroom.store.deliveries import Claim, Finish, Idle, Row

if TYPE_CHECKING:
    from warroom.core.commands import Command
    from warroom.store import EventLog

Route = Callable[[Event], Sequence[str]]
"""An event -> the names of the configured channels that carry it."""


class Queue(ABC):
    """The durable queue of deliveries and the log their results are written to."""

    actor: str = "warroom"
    """Who result events are recorded as."""

    @abstractmethod
    async def register(self, channels: Sequence[str]) -> None:
        """Make sure each channel has its pacing row."""

    @abstractmethod
    async def scan(self, route: Route, now: int, stale_before: int) -> tuple[int, bool]:
        """Queue the deliveries of events not scanned yet (a page); how many were queued,
        and whether more events wait. Events older than `stale_before` are queued failed."""

    @abstractmethod
    async def preview(self, route: Route, now: int, stale_before: int) -> list[Row]:
        """What is due or would be once scanned, changing nothing (the dry run). Rows of
        events not scanned yet have id 0."""

    @abstractmethod
    async def claim(
        self, channel: str, owner: str, now: int, lease: int, pace: int
    ) -> Claim | Idle:
        """The channel's next due delivery, leased to `owner` until `now + lease`, and the
        channel paced until `now + pace`; or Idle. See `warroom.store.deliveries`."""

    @abstractmethod
    async def start(self, claim: Claim, owner: str, now: int, lease: int) -> bool:
        """Mark an attempt as on its way, before the request goes out (False: lease lost)."""

    @abstractmethod
    async def renew(self, claim: Claim, owner: str, until: int) -> bool: ...

    @abstractmethod
    async def release(self, claim: Claim, owner: str) -> None:
        """Give a claim back untried (shutting down)."""

    @abstractmethod
    async def finish(
        self, claim: Claim, owner: str, outcome: Finish, commands: Sequence[Command]
    ) -> bool:
        """Record the outcome and write the result events, in one transaction, if the lease
        is still ours; False if it is not (the new holder records the delivery)."""

    @abstractmethod
    async def previous(self, incident_id: str, channel: str, position: str) -> list[Row]:
        """This incident's deliveries sent to this channel before `position`, in order."""

    @abstractmethod
    async def event(self, event_id: str) -> Event | None: ...

    @abstractmethod
    async def state(self, incident_id: str) -> IncidentState: ...

    @abstractmethod
    async def rows(self, *, states: Sequence[str] = (), limit: int = 1000) -> list[Row]: ...

    @abstractmethod
    async def retry(self, row_id: int, now: int, *, resend: bool = False) -> Row | None:
        """Try a failed or retrying delivery again now (`resend`: without checking first
        whether an earlier attempt arrived); None if there is no such delivery."""

    @abstractmethod
    async def counts(self) -> dict[tuple[str, str], int]:
        """(channel, state) -> how many deliveries."""

    @abstractmethod
    async def changed(self, timeout: float) -> None:
        """Return when new events may be there to scan, or after `timeout` seconds."""


class LocalQueue(Queue):
    """The local event log's queue (`EventLog.deliveries`), used from an event loop.

    The log may be shared with the console (EventLog is thread-safe) or opened for this
    queue alone, which keeps the console's lock free.
    """

    def __init__(self, log: EventLog, actor: str, *, poll: float = 0.2) -> None:
        self.log = log
        self.actor = actor
        self.poll = poll
        self._head = -1

    async def register(self, channels: Sequence[str]) -> None:
        await asyncio.to_thread(self.log.deliveries.register, channels)

    async def scan(self, route: Route, now: int, stale_before: int) -> tuple[int, bool]:
        return await asyncio.to_thread(self.log.deliveries.scan, route, now, stale_before)

    async def preview(self, route: Route, now: int, stale_before: int) -> list[Row]:
        return await asyncio.to_thread(self.log.deliveries.preview, route, now, stale_before)

    async def claim(
        self, channel: str, owner: str, now: int, lease: int, pace: int
    ) -> Claim | Idle:
        return await asyncio.to_thread(self.log.deliveries.claim, channel, owner, now, lease, pace)

    async def start(self, claim: Claim, owner: str, now: int, lease: int) -> bool:
        return await asyncio.to_thread(self.log.deliveries.start, claim.row.id, owner, now, lease)

    async def renew(self, claim: Claim, owner: str, until: int) -> bool:
        return await asyncio.to_thread(self.log.deliveries.renew, claim.row.id, owner, until)

    async def release(self, claim: Claim, owner: str) -> None:
        await asyncio.to_thread(self.log.deliveries.release, claim, owner)

    async def finish(
        self, claim: Claim, owner: str, outcome: Finish, commands: Sequence[Command]
    ) -> bool:
        return await asyncio.to_thread(
            self.log.deliveries.finish, claim, owner, outcome, commands, self.actor
        )

    async def previous(self, incident_id: str, channel: str, position: str) -> list[Row]:
        return await asyncio.to_thread(self.log.deliveries.previous, incident_id, channel, position)

    async def event(self, event_id: str) -> Event | None:
        return await asyncio.to_thread(self.log.deliveries.event, event_id)

    async def state(self, incident_id: str) -> IncidentState:
        return await asyncio.to_thread(self.log.state, incident_id)

    async def rows(self, *, states: Sequence[str] = (), limit: int = 1000) -> list[Row]:
        return await asyncio.to_thread(self.log.deliveries.rows, states=states, limit=limit)

    async def retry(self, row_id: int, now: int, *, resend: bool = False) -> Row | None:
        return await asyncio.to_thread(self.log.deliveries.retry, row_id, now, resend=resend)

    async def counts(self) -> dict[tuple[str, str], int]:
        return await asyncio.to_thread(self.log.deliveries.counts)

    async def changed(self, timeout: float) -> None:
        """Any process may write the log (the console, the CLI): watch its head."""
        deadline = time.monotonic() + timeout
        while True:
            head = await asyncio.to_thread(self.log.timeline.head)
            if head != self._head:
                self._head = head
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await asyncio.sleep(min(self.poll, remaining))
