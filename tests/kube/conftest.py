"""Fixtures for the API-server simulator: a started simulator on a manual clock, a kubeconfig
for it, the official client configured from that kubeconfig, and stock kubectl."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from warroom.kube.sim import ManualClock, Simulator

TOKEN = "sim-test-token"


def _wait_for(condition: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll until `condition()` is truthy; returns its value, fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """`wait_for(condition, timeout=5, what=...)`: poll with a deadline instead of sleeping."""
    return _wait_for


@pytest.fixture
def lines() -> type[Lines]:
    """`lines(stream)`: read a byte stream on a thread; `.until(predicate, timeout)`."""
    return Lines


@pytest.fixture
def sim_token() -> str | None:
    """The simulator's bearer token; override the fixture to run without one."""
    return TOKEN


@pytest.fixture
def sim(sim_token: str | None) -> Iterator[Simulator]:
    """The bad-deploy scenario on a manual clock."""
    with Simulator("bad-deploy", token=sim_token, clock=ManualClock()) as simulator:
        yield simulator


@pytest.fixture
def kubeconfig(sim: Simulator, tmp_path: Path) -> Path:
    return sim.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def api(kubeconfig: Path) -> Iterator[Any]:
    """A `kubernetes.client.ApiClient` configured from the simulator's kubeconfig."""
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(kubeconfig))
    yield client
    client.close()


class Lines:
    """Lines read from a stream on a thread, so a test can wait for them with a deadline."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self.seen: list[bytes] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self._queue.put(line)
        self._queue.put(None)

    def until(self, predicate: Callable[[list[bytes]], bool], timeout: float = 10.0) -> list[bytes]:
        """Collect lines until `predicate(all lines so far)` holds."""
        deadline = time.monotonic() + timeout
        while not predicate(self.seen):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"timed out; lines so far: {self.seen[-5:]!r}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"stream ended; lines so far: {self.seen[-5:]!r}")
            self.seen.append(line)
        return self.seen

    def until_end(self, timeout: float = 10.0) -> list[bytes]:
        """Collect lines until the stream ends."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"stream did not end; lines so far: {self.seen[-5:]!r}")
            if line is None:
                return self.seen
            self.seen.append(line)


class Kubectl:
    """Stock kubectl pointed at the simulator, with its caches in a temporary home."""

    def __init__(self, kubeconfig: Path, home: Path) -> None:
        binary = shutil.which("kubectl")
        if binary is None:
            pytest.skip("kubectl is not installed")
        self.binary = binary
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "KUBECONFIG": str(kubeconfig),
            "KUBECACHEDIR": str(home / "cache"),
        }

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.binary, *args], env=self.env, capture_output=True, text=True, timeout=30
        )
        if check and result.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    def stream(self, *args: str) -> tuple[subprocess.Popen[bytes], Lines]:
        process = subprocess.Popen(
            [self.binary, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert process.stdout is not None
        return process, Lines(process.stdout)


@pytest.fixture
def kubectl_for(tmp_path: Path) -> Callable[[Path], Kubectl]:
    """`kubectl_for(kubeconfig)`: kubectl for any kubeconfig."""
    return lambda kubeconfig: Kubectl(kubeconfig, tmp_path / "home")


@pytest.fixture
def kubectl(kubeconfig: Path, kubectl_for: Callable[[Path], Kubectl]) -> Kubectl:
    return kubectl_for(kubeconfig)


@pytest.fixture
def streams() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Long-running kubectl processes, killed at the end of the test."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.kill()
        process.wait(timeout=5)
