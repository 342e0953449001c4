"""Coroutines beside synchronous code: a daemon thread with an event loop of its own (the
console's sync and delivery run in one each, so the UI's loop never waits on the network),
and waiting for the first of several things."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any


class LoopThread:
    """Runs one coroutine in a daemon thread with its own loop until it returns or `stop()`
    cancels it. `call(fn)` runs `fn` in that loop from any thread, while there is one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None

    def start(self, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start `main()` and return once its loop is running (so `call` reaches it)."""
        ready = threading.Event()

        async def run() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            ready.set()
            try:
                with suppress(asyncio.CancelledError):
                    await main()
            finally:
                self._loop = None  # a late call() must not reach a closed loop

        self._thread = threading.Thread(
            target=asyncio.run, args=(run(),), name=self.name, daemon=True
        )
        self._thread.start()
        ready.wait()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def call(self, fn: Callable[[], object]) -> None:
        """Thread-safe; does nothing once the loop has ended."""
        loop = self._loop
        if loop is not None:
            with suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(fn)

    def stop(self, timeout: float) -> bool:
        """Cancel the coroutine and wait up to `timeout` for the thread: whether it ended."""
        task = self._task
        if task is not None:
            self.call(task.cancel)
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()


async def first_of(*waits: Coroutine[Any, Any, Any]) -> None:
    """Wait until one of `waits` finishes, then cancel the others and wait for them (so a
    cancellation of the caller propagates, never swallowed halfway)."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
