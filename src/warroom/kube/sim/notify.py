"""Wake the server's streaming responses when the cluster changes.

The cluster is advanced from other threads (the ticker, a test); watches and log follows are
coroutines on uvicorn's loop. This hands a "something changed" edge across, nothing more:
streams re-read the state themselves, so a lost or merged wake-up loses no data.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class Notifier:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    @contextmanager
    def subscribe(self) -> Iterator[asyncio.Event]:
        """An event that is set after every change; clear it before re-reading the state."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(waiter)
        try:
            yield waiter[1]
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    def notify(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            with suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(event.set)


async def wait(event: asyncio.Event, timeout: float) -> None:
    """Wait for a change or the timeout, whichever comes first (`asyncio.timeout`: 3.11's
    `wait_for` can swallow a cancellation that arrives as the wait ends)."""
    with suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
