"""Keeping one event log in sync with one server, offline-first.

Two loops share a `Syncer`: the pusher sends the outbox whenever it grows and drops what the
server acknowledged; the puller long-polls for events after its cursor and inserts them. Both
retry with capped, jittered backoff; a push resends the same events (ids) until acknowledged, so
a retry after a lost answer is a harmless duplicate. The cursor is saved after the events it
covers are stored, so a killed client pulls a page again at worst, and stores nothing twice.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Literal, TypedDict, Unpack

from warroom.background import LoopThread
from warroom.core.backoff import Backoff
from warroom.store import EventLog, StoreError
from warroom.sync.client import Offline, SyncClient, SyncError, batches
from warroom.sync.protocol import MAX_BATCH, MAX_SEQ, unsendable

State = Literal["synced", "pending", "offline"]


class _Changes(TypedDict, total=False):
    """The counters a loop reports; state, since and reason are derived from its errors."""

    pending: int
    caught_up: bool
    last_contact: datetime
    pushed: int
    pulled: int


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """A snapshot for the console header: synced / N pending / offline since HH:MM (reason)."""

    state: State = "pending"
    pending: int = 0
    since: datetime | None = None
    reason: str = ""
    caught_up: bool = False
    last_contact: datetime | None = None
    pushed: int = 0
    pulled: int = 0

    def label(self, tz: tzinfo | None = None) -> str:
        if self.state == "offline" and self.since is not None:
            return f"offline since {self.since.astimezone(tz):%H:%M} ({self.reason})"
        if self.pending:
            return f"{self.pending} pending" + (f" ({self.reason})" if self.reason else "")
        return "synced" if self.caught_up else "syncing"

    @property
    def in_sync(self) -> bool:
        return self.state == "synced"


def _cursor(stored: str | None) -> tuple[str, int]:
    """The saved `server_id:cursor`; from the start if it is missing or not ours."""
    server_id, _, cursor = (stored or "").rpartition(":")
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) < 20 and int(cursor) <= MAX_SEQ):
        return server_id, 0
    return server_id, int(cursor)


class Syncer:
    """Syncs an event log with a server, in a background thread or as a task.

    From the console: `syncer.start()` runs it in a daemon thread with its own event loop;
    `syncer.status()` is a thread-safe snapshot to show; `syncer.poke()` after a local write
    pushes at once (else the write is noticed within `poll` seconds, also when another process
    wrote it); `syncer.stop()` ends it. It touches only the event log and the network, never a
    widget. The log may be the console's own (EventLog is thread-safe) or a second one on the
    same file, which keeps the console's lock free.
    """

    def __init__(
        self,
        log: EventLog,
        server: str,
        token: str,
        *,
        wait: float = 20.0,
        poll: float = 0.1,
        backoff: Backoff | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.log = log
        self.server = server.rstrip("/")
        self.token = token
        self.wait = wait
        self.poll = poll
        self.backoff = backoff or Backoff()
        self.timeout = timeout
        self._cursor_key = f"sync.cursor {self.server}"
        self._lock = threading.Lock()
        self._status = SyncStatus(pending=log.outbox.pending())
        self._errors: dict[str, tuple[datetime, str]] = {}
        self._rejected: dict[str, str] = {}
        self._push_wake = asyncio.Event()  # made anew by each `run`: an Event belongs to the
        self._pull_wake = asyncio.Event()  # loop that first waits on it
        self._runner = LoopThread("warroom-sync")
        self.on_pulled: Callable[[int], object] | None = None
        """Called (in the sync thread) with how many events a pull stored: the console
        redraws at once instead of at its next poll."""

    # -- status -----------------------------------------------------------------------------

    def status(self) -> SyncStatus:
        with self._lock:
            return self._status

    def _update(self, **changes: Unpack[_Changes]) -> None:
        with self._lock:
            status = replace(self._status, **changes)
            if self._errors:
                since, reason = min(self._errors.values())
                status = replace(status, state="offline", since=since, reason=reason)
            else:
                rejected = next(iter(self._rejected.values()), "")
                reason = f"{len(self._rejected)} refused: {rejected}" if rejected else ""
                state: State = "synced" if not status.pending and status.caught_up else "pending"
                status = replace(status, state=state, since=None, reason=reason)
            self._status = status

    def _failed(self, loop: str, exc: Exception) -> None:
        since = self._errors[loop][0] if loop in self._errors else datetime.now(UTC)
        self._errors[loop] = (since, str(exc))
        self._update(pending=self.log.outbox.pending())

    def _succeeded(self, loop: str, **changes: Unpack[_Changes]) -> None:
        was_offline = bool(self._errors)
        self._errors.pop(loop, None)
        changes["last_contact"] = datetime.now(UTC)
        self._update(**changes)
        if was_offline and not self._errors:  # the server is back: go now, not after a backoff
            self._push_wake.set()
            self._pull_wake.set()

    # -- one pass ---------------------------------------------------------------------------

    async def push_all(self, client: SyncClient) -> None:
        """Push until the outbox is empty or holds only events the server rejected.

        An event the server would refuse outright (422, for the whole batch: say a NUL in a
        note, which PostgreSQL cannot store) is held back as rejected here, so that the
        events behind it still go.
        """
        while True:
            rejected = self._rejected
            fresh = [
                e for e in self.log.outbox.batch(len(rejected) + MAX_BATCH) if e.id not in rejected
            ]
            if not fresh:
                break
            unfit = {e.id: reason for e in fresh if (reason := unsendable(e))}
            if unfit:
                self._rejected = {**self._rejected, **unfit}
                fresh = [e for e in fresh if e.id not in unfit]
            for body in batches(fresh):
                response = await client.push(self.log.device_id, body)
                acked = self.log.outbox.acknowledge(
                    r.id for r in response.results if r.acknowledged
                )
                self._update(pushed=self.status().pushed + acked)
                self._rejected = {
                    **self._rejected,
                    **{r.id: r.reason or "" for r in response.results if not r.acknowledged},
                }
        self._succeeded("push", pending=self.log.outbox.pending())

    async def pull_page(self, client: SyncClient, wait: float = 0) -> bool:
        """Pull and store one page; whether the log has caught up with the server."""
        server_id, cursor = _cursor(self.log.outbox.cursor(self._cursor_key))
        page, events = await client.pull(cursor, wait=wait)
        if page.server_id != server_id and cursor:
            # A new database behind this address: its sequence means nothing to our cursor.
            self.log.outbox.set_cursor(self._cursor_key, f"{page.server_id}:0")
            return False
        if events:
            added = self.log.insert(events)
            self._update(pulled=self.status().pulled + len(added))
            if added and self.on_pulled is not None:
                self.on_pulled(len(added))
        self.log.outbox.set_cursor(self._cursor_key, f"{page.server_id}:{page.next}")
        caught_up = page.next >= page.head
        self._succeeded("pull", caught_up=caught_up)
        return caught_up

    async def sync_once(self, attempts: int = 3) -> SyncStatus:
        """Push the outbox and pull to the head, retrying while offline; the status after."""
        delays = self.backoff.delays()
        async with self._client() as client:
            for attempt in range(attempts):
                try:
                    await self.push_all(client)
                    while not await self.pull_page(client):
                        pass
                except Offline as exc:
                    self._failed("once", exc)
                    if attempt + 1 < attempts:
                        await asyncio.sleep(next(delays))
                    continue
                except (SyncError, StoreError) as exc:
                    self._failed("once", exc)
                    break
                self._errors.pop("once", None)
                break
        self._update(pending=self.log.outbox.pending())
        return self.status()

    def _client(self) -> SyncClient:
        return SyncClient(self.server, self.token, timeout=self.timeout)

    # -- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Push and pull until cancelled."""
        self._push_wake, self._pull_wake = asyncio.Event(), asyncio.Event()
        async with self._client() as client, asyncio.TaskGroup() as group:
            group.create_task(self._push_loop(client))
            group.create_task(self._pull_loop(client))

    async def _push_loop(self, client: SyncClient) -> None:
        delays = self.backoff.delays()
        while True:
            head = self.log.timeline.head()
            try:
                await self.push_all(client)
            except (SyncError, StoreError) as exc:  # StoreError: the log is busy; try again
                self._failed("push", exc)
                await self._sleep(next(delays), self._push_wake)
                continue
            delays = self.backoff.delays()
            retry_rejected = time.monotonic() + self.backoff.cap
            while self.log.timeline.head() == head and not await self._sleep(
                self.poll, self._push_wake
            ):
                if self._rejected and time.monotonic() > retry_rejected:
                    self._rejected = {}  # try again: the clocks agree by now, or the device
                    break  # that owns them has pushed them itself

    async def _pull_loop(self, client: SyncClient) -> None:
        delays = self.backoff.delays()
        caught_up = False
        while True:
            try:
                caught_up = await self.pull_page(client, wait=self.wait if caught_up else 0)
            except (SyncError, StoreError) as exc:
                self._failed("pull", exc)
                caught_up = False
                await self._sleep(next(delays), self._pull_wake)
                continue
            delays = self.backoff.delays()

    @staticmethod
    async def _sleep(seconds: float, wake: asyncio.Event) -> bool:
        """Sleep, or less if woken; whether it was woken.

        `asyncio.timeout`, not `wait_for`: on Python 3.11 `wait_for` can swallow a
        cancellation that arrives as the wait ends, and `stop()` then waited in vain (a test
        caught the thread still running after its log was closed)."""
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await wake.wait()
        woken = wake.is_set()
        wake.clear()
        return woken

    # -- threads ----------------------------------------------------------------------------

    def start(self) -> None:
        """Run in a daemon thread with its own event loop."""
        self._runner.start(self.run)

    def poke(self) -> None:
        """Push now (thread-safe): call after a local write."""
        self._runner.call(self._push_wake.set)

    def stop(self, timeout: float = 5.0) -> bool:
        """Cancel the loops (an open long-poll included) and wait for the thread to end:
        whether it did within `timeout`."""
        return self._runner.stop(timeout)
