"""Waiting on a condition with a deadline: the suite's one way to synchronise with threads and
processes (never a sleep of a guessed length)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], what: str = "", timeout: float = 20.0, every: float = 0.02
) -> T:
    """Poll `condition` until it returns something truthy, and return that; fail naming
    `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or condition}")
        time.sleep(every)
