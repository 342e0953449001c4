"""How `warroom serve` runs uvicorn: as many open files as allowed, guarded connections
(`guard.py`), and a log that reports a flood once instead of once per failure.

When the descriptors run out anyway, asyncio's accept loop logs every failed `accept()`
with a traceback, up to a backlog's worth per second: 136k lines in one incident. Here such
failures are one line, and every repeated warning (accept failures, uvicorn's "Invalid HTTP
request", the guard's closings) is logged once per minute with a count of the ones held back.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import socket
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from warroom.server.guard import TIMEOUT, Guard, Limits, guarded

log = logging.getLogger("warroom.server")

FD_TARGET = 65536
"""The soft limit of open files `serve` raises itself to, when the hard limit allows."""
WINDOW = 60.0
OUT_OF_FILES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


def raise_fd_limit(target: int = FD_TARGET) -> int:
    """Raise the soft limit of open files towards `target` (never above the hard limit, never
    lower than it was); the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = target if hard == resource.RLIM_INFINITY else min(target, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return target if soft == resource.RLIM_INFINITY else soft


class Throttle(logging.Filter):
    """Lets the first record of each message through, then at most one per `window` seconds,
    which counts the ones held back. Records are told apart by their template, not their
    arguments, so a flood from many addresses is still one message."""

    def __init__(self, window: float = WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window = window
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self.clock()
        since, held = self._seen.get(key, (-self.window, 0))
        if now - since < self.window:
            self._seen[key] = (since, held + 1)
            return False
        if len(self._seen) > 1000:  # messages made without a template: forget the oldest
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} [and {held} more like it in {self.window:g} s]"
        return True


def route_logs(level: str, window: float = WINDOW) -> None:
    """asyncio's and the server's records go where uvicorn's go (its configured handler),
    all through one Throttle."""
    handlers = logging.getLogger("uvicorn").handlers
    throttle = Throttle(window)
    for handler in handlers:
        handler.addFilter(throttle)
    for name in ("asyncio", "warroom.server", "warroom.delivery"):
        logger = logging.getLogger(name)
        logger.handlers = list(handlers)
        logger.propagate = False
        logger.setLevel(level.upper())


def _loop_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A failed `accept()` for want of descriptors is one line, not a traceback."""
    exc = context.get("exception")
    if isinstance(exc, OSError) and exc.errno in OUT_OF_FILES and "socket" in context:
        log.error("cannot accept connections: %s (retrying every second)", exc.strerror)
        return
    loop.default_exception_handler(context)


class _Server(uvicorn.Server):
    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().set_exception_handler(_loop_errors)
        await super().serve(sockets)


def run(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    log_level: str = "warning",
    timeout: float = TIMEOUT,
) -> None:
    """Serve `app` until interrupted."""
    limits = Limits.for_fds(raise_fd_limit(), timeout)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        log_level=log_level,
        http=guarded(Guard(limits)),
        backlog=limits.backlog,
        server_header=False,
        timeout_graceful_shutdown=2,  # long-polls would otherwise hold a shutdown up
    )
    route_logs(log_level)
    log.info(
        "connections: at most %d, %d waiting for a request (%d per peer), %g s to send one;"
        " backlog %d",
        limits.connections,
        limits.pending,
        limits.per_peer,
        limits.timeout,
        limits.backlog,
    )
    _Server(config).run()
