"""Running the simulator: uvicorn on a background thread, a ticker that moves the cluster along
the clock, and the foreground `run()` behind `warroom sim`."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType

import uvicorn

from .clock import Clock, ManualClock, SystemClock
from .kubeconfig import kubeconfig, write_kubeconfig
from .routes import create_app
from .scenarios import SCENARIOS, Scenario
from .streams import ConnectionDropped

TICK = 0.1
"""Seconds between cluster advances on a live clock: how fresh followed logs are."""


class _HideDrops(logging.Filter):
    """A deliberately dropped watch is not a server error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


class Simulator:
    """A Kubernetes API server for one scenario, on 127.0.0.1.

    With a `ManualClock` nothing moves until `advance()`; otherwise a ticker follows the wall
    clock. `state` is the live cluster, with its fault hooks, for tests to poke.

    With a `token`, requests without `Authorization: Bearer <token>` get 401. The python client
    sends it over plain HTTP; kubectl does not (it only sends credentials over TLS), so run
    without a token for kubectl.
    """

    def __init__(
        self,
        scenario: str | Scenario = "bad-deploy",
        token: str | None = None,
        clock: Clock | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        if isinstance(scenario, str):
            if scenario not in SCENARIOS:
                raise ValueError(
                    f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}"
                )
            scenario = SCENARIOS[scenario]
        self.scenario = scenario
        self.clock = clock or SystemClock()
        self.token = token
        self.state = scenario.build(self.clock.now())
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self._server = uvicorn.Server(
            uvicorn.Config(
                create_app(self.state, token),
                log_level="warning",
                access_log=False,
                lifespan="off",
                ws="none",
                timeout_graceful_shutdown=2,
            )
        )
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> Simulator:
        """Serve in the background; returns once connections are accepted."""
        logger = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, _HideDrops) for f in logger.filters):
            logger.addFilter(_HideDrops())
        server = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"warroom-sim-{self.port}",
        )
        self._threads.append(server)
        if not isinstance(self.clock, ManualClock):
            self._threads.append(threading.Thread(target=self._tick, daemon=True))
        for thread in self._threads:
            thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not server.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"simulator did not start on {self.url}")
            time.sleep(0.01)
        return self

    def advance(self, seconds: float) -> None:
        """Move a ManualClock on and run the cluster up to it."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs the simulator to run on a ManualClock")
        self.state.advance_to(self.clock.advance(seconds))

    def write_kubeconfig(
        self, path: str | Path, context: str = "warroom-sim", namespace: str | None = None
    ) -> Path:
        """A kubeconfig for this server; the namespace defaults to the scenario's."""
        config = kubeconfig(self.url, self.token, context, namespace or self.scenario.namespace)
        return write_kubeconfig(path, config)

    def stop(self) -> None:
        """End open streams, stop serving, and wait for the threads."""
        self.state.close()
        self._stopping.set()
        self._server.should_exit = True
        for thread in self._threads:
            thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _tick(self) -> None:
        while not self._stopping.wait(TICK):
            self.state.advance_to(self.clock.now())


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(port: int = 0, kubeconfig: str | None = None, scenario: str = "bad-deploy") -> None:
    """Serve `scenario` in the foreground until Ctrl+C (or SIGTERM)."""
    with Simulator(scenario, port=port) as sim:
        path = sim.write_kubeconfig(
            kubeconfig or Path(tempfile.gettempdir()) / f"warroom-sim-{sim.port}.kubeconfig"
        )
        print(
            f"warroom sim: scenario {scenario!r} listening on {sim.url}; kubeconfig written to "
            f"{path}; try: KUBECONFIG={path} kubectl get pods",
            flush=True,
        )
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _interrupt)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
