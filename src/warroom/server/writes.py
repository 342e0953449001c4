"""Events the server makes itself: the alerts it receives, the results of its deliveries.

They go through the same command layer as every other write (`core.commands.materialise`),
inside the backend's write transaction, so `replaces` is read from the incident as it is
in that transaction. The server writes as its own device (`server-<server_id>`), which no
token may push for, with a hybrid clock that observes the newest stamp it stores, and its
events get sequence numbers and fan out to every client like pushed ones.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime

from warroom.core.alerts import BOARD_KINDS, AlertBoard
from warroom.core.commands import Command, Context, materialise
from warroom.core.events import Event
from warroom.core.hlc import HybridClock, Stamp
from warroom.core.ids import new_id
from warroom.core.policy import Policy
from warroom.core.state import IncidentState

VALID_STAMPS = "hlc < ':'"
"""SQL: only well-formed stamps (ASCII digits sort below ':'); the newest of them is observed."""


def server_device(server_id: str) -> str:
    return f"server-{server_id}"


class States:
    """Incident states folded from the server's events, cached per incident with the last
    sequence folded. Reads fold only what was stored since; states handed out never change."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[IncidentState, int]] = {}
        self._lock = threading.Lock()  # the SQLite backend folds from two threads

    def last_seq(self, incident_id: str) -> int:
        cached = self._cache.get(incident_id)
        return cached[1] if cached else 0

    def fold(self, incident_id: str, rows: Iterable[tuple[int, Event]]) -> IncidentState:
        """The cached state plus `rows` (sequence, event) it has not folded yet."""
        with self._lock:
            cached = self._cache.get(incident_id)
            state, last = cached if cached else (IncidentState(incident_id=incident_id), 0)
            fresh = [(seq, event) for seq, event in rows if seq > last]
            if fresh:
                state = state.copy() if cached else state
                for seq, event in fresh:
                    state.apply(event)
                    last = max(last, seq)
            self._cache[incident_id] = (state, last)
            return state


class Maker:
    """The server's events for commands, all in one transaction: one clock, which starts
    after `newest` (the newest stamp stored), so each event orders after the one before."""

    def __init__(
        self, *, policy: Policy, now: datetime, device_id: str, actor: str, newest: str | None
    ) -> None:
        self.clock = HybridClock()
        if newest:
            self.clock.observe(Stamp.parse(newest))
        self.context = Context(policy, now)
        self.device_id = device_id
        self.actor = actor

    def __call__(self, state: IncidentState, commands: Sequence[Command]) -> list[Event]:
        return materialise(
            state,
            commands,
            self.context,
            device_id=self.device_id,
            actor=self.actor,
            ids=iter(new_id, None),
            stamps=(self.clock.tick().encode() for _ in iter(int, 1)),
        )


def make(
    state: IncidentState,
    commands: Sequence[Command],
    *,
    policy: Policy,
    now: datetime,
    device_id: str,
    actor: str,
    newest: str | None,
) -> list[Event]:
    """The server's events for `commands`, stamped after `newest` (the newest stored stamp)."""
    maker = Maker(policy=policy, now=now, device_id=device_id, actor=actor, newest=newest)
    return maker(state, commands)


BOARD_SQL = "kind IN ({})".format(", ".join(f"'{kind}'" for kind in BOARD_KINDS))
"""SQL: the events the alert board folds (a partial index of each backend covers it)."""


class Board:
    """The alert board of the server's events, for matching alerts at intake.

    Advanced only inside the write transaction of an intake (rows another instance committed
    included), under the backend's write lock, so it is never read half-folded."""

    def __init__(self) -> None:
        self.board = AlertBoard()
        self.last_seq = 0

    def fold(self, rows: Iterable[tuple[int, Event]]) -> AlertBoard:
        for seq, event in rows:
            if seq > self.last_seq:
                self.board.apply(event)
                self.last_seq = seq
        return self.board
