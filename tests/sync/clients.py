"""Responders' machines: an event log each, driven through the real `warroom` command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from warroom.store import EventLog


@dataclass
class Client:
    db: Path
    server: str
    token: str
    user: str = "tester"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "WARROOM_DB": str(self.db),
            "WARROOM_SERVER": self.server,
            "WARROOM_TOKEN": self.token,
            "WARROOM_USER": self.user,
        }

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "warroom", *args],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "warroom", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def open(self) -> EventLog:
        return EventLog(self.db)


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def all_ok(procs: list[subprocess.Popen[str]]) -> None:
    """Wait for processes started together; each must have exited 0."""
    results = [finish(p) for p in procs]
    failed = [r for r in results if r[0] != 0]
    assert not failed, failed


def wait_until(condition: Callable[[], object], timeout: float = 20, what: str = "") -> None:
    """Poll a condition until it holds; fail after the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.01)
