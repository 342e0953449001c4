"""Real `warroom serve` processes on 127.0.0.1, and the stores behind them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.sync.pgcluster import free_port
from warroom.server.backend import Backend, open_backend

START_TIMEOUT = 30.0
LIMITED = (
    "import resource, runpy;"
    " resource.setrlimit(resource.RLIMIT_NOFILE, ({}, {}));"
    " runpy.run_module('warroom', run_name='__main__')"
)


@dataclass(frozen=True)
class Store:
    """Where a server keeps its data: an SQLite file or a PostgreSQL database."""

    kind: str
    target: str

    @property
    def args(self) -> list[str]:
        return ["--db", self.target] if self.kind == "sqlite" else ["--database-url", self.target]

    def backend(self) -> Backend:
        if self.kind == "sqlite":
            return open_backend(self.target)
        return open_backend(database_url=self.target)

    def run(self, action):
        """Run `action(backend)` on an opened backend of this store, in-process."""

        async def go():
            backend = self.backend()
            await backend.open()
            try:
                return await action(backend)
            finally:
                await backend.close()

        return asyncio.run(go())

    def token(self, name: str) -> str:
        return self.run(lambda backend: backend.create_token(name))[1]

    def alert_token(self, name: str) -> str:
        """A token that posts alerts and nothing else (`token create --alerts`)."""
        return self.run(lambda backend: backend.create_token(name, "alerts"))[1]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`warroom ARGS --db/--database-url THIS` in a subprocess, as an admin would run it."""
        return subprocess.run(
            [sys.executable, "-m", "warroom", *args, *self.args],
            capture_output=True,
            text=True,
            timeout=60,
        )


class ServerProcess:
    """`warroom serve` in a subprocess; start, kill -9, restart on the same port."""

    def __init__(
        self,
        store: Store,
        workdir: Path,
        *,
        tls: tuple[Path, Path] | None = None,
        args: tuple[str, ...] = (),
        fd_limit: tuple[int, int] | None = None,
    ) -> None:
        self.store = store
        self.port = free_port()
        self.tls = tls
        self.args = args
        self.fd_limit = fd_limit
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.log = workdir / f"server-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        command = [sys.executable, "-m", "warroom", "serve", "--port", str(self.port)]
        if self.tls:
            command += ["--ssl-certfile", str(self.tls[0]), "--ssl-keyfile", str(self.tls[1])]
        command += [*self.args, *self.store.args]
        if self.fd_limit:  # the server starts with this RLIMIT_NOFILE (soft, hard)
            command[1:3] = ["-c", LIMITED.format(*self.fd_limit)]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                health = httpx.get(f"{self.url}/v1/health", timeout=1, verify=False)
                if health.status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.02)  # polling a condition (the port opening), with a deadline
        raise TimeoutError(f"server on {self.url} not ready: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, whatever the server was doing."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
