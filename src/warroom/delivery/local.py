"""Delivery from this machine, in the background: what the console runs when no server is
configured (a server delivers for a team; `warroom deliver --watch` is the same engine in
the foreground).

A daemon thread with its own event loop and its own connection to the event log: it
touches the log and the network, never a widget. Results are events in the log, which the
console's poller picks up like any other write.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from warroom.background import LoopThread
from warroom.core.policy import Policy
from warroom.delivery.channel import Channel
from warroom.delivery.engine import Engine, Timing
from warroom.delivery.queue import LocalQueue
from warroom.store import EventLog

ACTOR = "delivery"


class Deliverer:
    """`start()` delivers until `stop()`; `poke()` after a local write looks at once."""

    def __init__(
        self, path: Path, channels: Sequence[Channel], timing: Timing | None = None
    ) -> None:
        self.log = EventLog(path)
        self.engine = Engine(LocalQueue(self.log, ACTOR), channels, timing=timing)
        self._runner = LoopThread("warroom-delivery")

    def start(self) -> None:
        self._runner.start(self.engine.run)

    def poke(self) -> None:
        self.engine.poke()

    @property
    def running(self) -> bool:
        return self._runner.alive

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel the engine and wait for the thread (a request under way may outlast the
        wait: its lease then runs out and the next deliverer checks before resending)."""
        if self._runner.stop(timeout):
            self.log.close()


def start_local(path: Path, policy: Policy | None = None) -> Deliverer | None:
    """A running deliverer for the config's channels, or None when there are none.
    Raises ConfigError (one line) for a bad channel or `[delivery]` table."""
    from warroom.delivery.config import delivery_config, load_channels

    channels = load_channels(policy=policy)
    if not channels:
        return None
    deliverer = Deliverer(path, channels, delivery_config().timing())
    deliverer.start()
    return deliverer
