"""The console's only writer: a thread with its own connection, in the order keys were pressed.

Writes are queued by the UI thread and carried out one at a time; the result comes back as a
message (`Written` or `WriteFailed`), so the writer never waits for the UI thread and a
refused or failed write is reported, never fatal. Its own connection means reads (the
poller, the timeline's pages) never hold a keystroke's write behind them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from warroom.core.events import PayloadError
from warroom.core.policy import Policy
from warroom.store import EventLog, StoreError
from warroom.tui.messages import WriteFailed, Written

if TYPE_CHECKING:
    from warroom.core.commands import Command


@dataclass(frozen=True)
class Write:
    incident_id: str | None
    """None: the commands declare a new incident."""
    commands: tuple[Command, ...]
    message: str
    """What to say once it is saved."""
    now: datetime
    """When the key was pressed: what the commands are judged against."""


class Writer:
    def __init__(
        self,
        path: Path,
        policy: Policy,
        tz: tzinfo,
        actor: str,
        post: Callable[[Message], object],
    ) -> None:
        self.path = path
        self.policy = policy
        self.tz = tz
        self.actor = actor
        self.post = post
        self._queue: queue.Queue[Write | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="warroom-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, write: Write) -> None:
        self._queue.put(write)

    def stop(self, timeout: float = 5.0) -> None:
        """Finish what is queued, then end (what was shown as saving gets saved)."""
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            log = EventLog(self.path, policy=self.policy, tz=self.tz)
        except StoreError as exc:
            self.post(WriteFailed(None, str(exc)))
            while (write := self._queue.get()) is not None:
                self.post(WriteFailed(write, str(exc)))
            return
        with log:
            while (write := self._queue.get()) is not None:
                self.post(self._carry_out(log, write))

    def _carry_out(self, log: EventLog, write: Write) -> Message:
        from warroom.core.commands import CommandError, Declare

        try:
            if write.incident_id is None:
                declare, *also = write.commands
                assert isinstance(declare, Declare)
                events = log.declare(declare, self.actor, also=also, now=write.now)
            else:
                events = log.execute(write.incident_id, write.commands, self.actor, now=write.now)
        except (CommandError, PayloadError, StoreError) as exc:
            return WriteFailed(write, str(exc))
        except Exception as exc:  # never let one bad write end the writer
            return WriteFailed(write, f"unexpected {type(exc).__name__}: {exc}")
        return Written(write, events)
