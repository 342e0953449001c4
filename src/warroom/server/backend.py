"""What a storage backend does for the server, and the push rules both backends share.

Devices and tokens (the rule both backends apply, in `check_device` and `judge`):

- A token serves one device: its first push binds it to the pushing device, for good.
- A device is served by the token bound to it last, and revoking that token does not free the
  device: events that claim it are stored only from the token bound to it. Otherwise, once a
  laptop's token was revoked, any other token could push events in that laptop's name.
- Rotation: a fresh token (one that has never pushed) whose first push is for a device with no
  live token takes that device over. That is how a laptop whose token leaked carries on: the
  admin revokes the old token and gives the same laptop (the same device id) a new one. A
  device that still has a live token cannot be taken over (403).
- Events of devices no token was ever bound to (e.g. from an imported export) are relayed by
  any token.
- `server-*` devices are servers' own (`warroom.server.writes`): no token pushes for them,
  and their events reach clients only through the server that made them (or a peer server
  sharing its PostgreSQL database).
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from warroom.core.events import Event
from warroom.core.hlc import Stamp
from warroom.core.policy import DEFAULT_POLICY, Policy
from warroom.core.state import IncidentState
from warroom.server.auth import CLIENT, DeviceRefused, Token
from warroom.server.writes import server_device

if TYPE_CHECKING:
    from warroom.alerts.webhooks import AlertsAccepted
    from warroom.core.commands import Command, ReceiveAlert
from warroom.sync.protocol import Outcome, PushResult

MAX_SKEW_MS = 5 * 60_000


class Unavailable(Exception):
    """The database cannot be reached or is busy; the request may be retried (503)."""


class Notifier:
    """The highest committed sequence this process knows of; long-polls wait for it to grow.

    Each backend advances it after its own commits, PostgreSQL also on other instances'
    NOTIFY. A waiter compares against the head instead of waiting for a signal, so a commit
    that lands between its query and its wait is never missed.
    """

    def __init__(self, head: int = 0) -> None:
        self.head = head
        self._changed = asyncio.Event()

    def advance(self, head: int) -> None:
        if head > self.head:
            self.head = head
            self._changed.set()
            self._changed = asyncio.Event()

    async def wait_past(self, cursor: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.head <= cursor:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:  # asyncio.timeout: 3.11's wait_for can swallow a cancellation
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
            except TimeoutError:
                return


class Backend(ABC):
    """The server's storage. Pushes assign a gap-free sequence in commit order."""

    server_id: str
    notifier: Notifier
    policy: Policy = DEFAULT_POLICY
    """What the server's own commands are judged against (the config's, under `serve`)."""

    @property
    def device_id(self) -> str:
        """The device the server writes its own events as; no token may push for it."""
        return server_device(self.server_id)

    @abstractmethod
    async def execute(
        self,
        incident_id: str,
        commands: Sequence[Command],
        actor: str,
        now: datetime,
    ) -> list[Event]:
        """Carry out commands on an incident as the server (in one write transaction, like
        a push: the events get sequence numbers and fan out). Raises CommandError."""

    @abstractmethod
    async def receive_alerts(
        self, alerts: Sequence[ReceiveAlert], actor: str, now: datetime
    ) -> AlertsAccepted:
        """Store what a notification says that the server did not know (see
        `warroom.alerts.intake`), in one write transaction; what it changed."""

    @abstractmethod
    async def state(self, incident_id: str) -> IncidentState:
        """An incident as the server's events make it (cached; folds what is new)."""

    @abstractmethod
    async def incident_ids(self) -> list[str]:
        """Every declared incident, newest first."""

    @abstractmethod
    async def open(self) -> None:
        """Connect and create the schema if it is missing."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def authenticate(self, secret: str) -> Token | None:
        """The live token with this secret, or None."""

    @abstractmethod
    async def push(
        self, token: Token, device_id: str, events: list[Event], now_ms: int
    ) -> tuple[list[PushResult], int]:
        """Store what is new in one transaction; the results (in order) and the head."""

    @abstractmethod
    async def pull(self, after: int, limit: int) -> tuple[list[tuple[int, Event]], int]:
        """Events with a sequence above `after`, in order, and the head."""

    @abstractmethod
    async def create_token(self, name: str, scope: str = CLIENT) -> tuple[Token, str]:
        """A new token and its secret, which is not stored and so is shown only now."""

    @abstractmethod
    async def tokens(self) -> list[Token]: ...

    @abstractmethod
    async def revoke_token(self, ref: str) -> list[Token]:
        """Revoke the live token with this id or name; the tokens revoked."""


def open_backend(
    db: str | None = None, database_url: str | None = None, policy: Policy = DEFAULT_POLICY
) -> Backend:
    """The backend for `--database-url` (PostgreSQL), else for the SQLite file `db`."""
    if database_url:
        from warroom.server.postgres_backend import PostgresBackend

        return PostgresBackend(database_url, policy)
    from warroom.server.sqlite_backend import SqliteBackend

    assert db is not None
    return SqliteBackend(db, policy)


def check_device(token: Token, bound: str | None, device_id: str, holder: str | None) -> bool:
    """Whether the token must be bound to `device_id` now; raises DeviceRefused if it may not.

    `bound` is the token's device as read inside the write transaction, `holder` the id of the
    live token already bound to `device_id`, if any. A fresh token takes over a device whose
    tokens were all revoked (rotation; see the module docstring).
    """
    if device_id.startswith("server-"):
        raise DeviceRefused(f"device {device_id} is a server's: a token cannot push for it")
    if bound is not None and bound != device_id:
        raise DeviceRefused(f"this token pushes for device {bound}, not {device_id}")
    if holder is not None and holder != token.id:
        raise DeviceRefused(f"device {device_id} pushes with another token")
    return bound is None


def judge(
    events: list[Event],
    *,
    device_id: str,
    stored: dict[str, Event],
    claimed: set[str],
    now_ms: int,
    max_skew_ms: int = MAX_SKEW_MS,
) -> list[PushResult | None]:
    """Per event: None to store it, or the result that says why not.

    - an id the server holds is a duplicate if the event is the same, else rejected;
    - an event of another device that a token was ever bound to (`claimed`, revoked tokens
      included) is rejected: that device pushes its own events; events of devices no token
      was ever bound to (e.g. from an imported export) are relayed;
    - a clock stamp more than `max_skew_ms` ahead of the server's clock is rejected, since it
      would drag every replica's clock forward; it is accepted once the clocks agree.
    """
    verdicts: list[PushResult | None] = []
    seen: dict[str, Event] = {}
    for event in events:
        earlier = stored.get(event.id) or seen.get(event.id)
        ahead_ms = Stamp.parse(event.hlc).wall_ms - now_ms
        if earlier is not None:
            verdicts.append(
                PushResult(id=event.id, status=Outcome.DUPLICATE)
                if earlier == event
                else _rejected(event, "the server holds a different event with this id")
            )
        elif event.device_id.startswith("server-"):
            verdicts.append(_rejected(event, f"device {event.device_id} is a server's"))
        elif event.device_id != device_id and event.device_id in claimed:
            verdicts.append(_rejected(event, f"device {event.device_id} pushes its own events"))
        elif ahead_ms > max_skew_ms:
            verdicts.append(
                _rejected(
                    event,
                    f"clock skew: stamped {ahead_ms / 60_000:.1f} min ahead of the server's"
                    f" clock (at most {max_skew_ms / 60_000:g}); check this machine's clock",
                )
            )
        else:
            seen[event.id] = event
            verdicts.append(None)
    return verdicts


def _rejected(event: Event, reason: str) -> PushResult:
    return PushResult(id=event.id, status=Outcome.REJECTED, reason=reason)
