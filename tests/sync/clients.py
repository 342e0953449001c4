"""Responders' machines: an event log each, driven through the real `warroom` command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from warroom.store import EventLog


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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
        """A long-running command, as typed at a prompt: Ctrl+C (SIGINT) reaches it even when
        the suite itself runs as a background job, whose children inherit SIGINT ignored."""
        return subprocess.Popen(
            [sys.executable, "-m", "warroom", *args],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_default_sigint,
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
