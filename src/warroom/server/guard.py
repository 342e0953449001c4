"""Connections that have not sent a whole request are bounded in time and in number.

uvicorn's h11 protocol has no deadline for a request's head: its keep-alive timer starts only
after an answer, so a socket that sends half a request (or nothing) stays open for good. Its
`limit_concurrency` counts only once a head is complete, and then answers everyone 503. So
1,100 half-sent requests took every one of the process's 1,024 descriptors, `accept()` failed
for everybody, and asyncio logged each failure with a traceback.

`GuardedH11Protocol` is uvicorn's h11 protocol plus:

- a deadline: a request's head must arrive within `timeout` seconds of the connection opening
  (or of the previous answer on a kept-alive one), and each piece of its body within `timeout`
  of the one before. Past it the connection is closed, with a 408 if part of a request came.
- caps on the connections still waiting for their request ("pending"): per peer (an address,
  or a /64 for IPv6), in all, and on all connections together (from the descriptor limit).
  At a cap the oldest pending connection of the peer holding the most pending ones is closed:
  a flood closes its own sockets first and a newcomer always gets in, even one from the
  flooder's address. Only when every connection is busy with a whole request is a newcomer
  turned away, with a 503.
- JSON answers for the errors it makes itself (uvicorn's 400 is plain text).

Descriptors beyond the connections counted here: asyncio accepts up to a backlog's worth of
sockets at a time and makes their protocols a loop iteration later (so two batches may be
uncounted), and a connection closed to make room lets go of its socket an iteration later (up
to a batch more). The cap on connections leaves three backlogs below the descriptor limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from typing import ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from warroom.server.errors import json_problem

log = logging.getLogger("warroom.server")

TIMEOUT = 10.0
MAX_BACKLOG = 2048
"""uvicorn's default listen backlog; a smaller one when descriptors are few."""
RESERVED_FDS = 64
"""Descriptors for everything but connections: database files and sockets, logs, the loop."""
MAX_PENDING = 1024
PER_PEER = 128
GRACE = 0.5
"""Seconds a pending connection is safe from its own peer's cap."""


@dataclass(frozen=True, slots=True)
class Limits:
    timeout: float = TIMEOUT
    backlog: int = 128
    connections: int = 576
    pending: int = 288
    per_peer: int = 36

    @classmethod
    def for_fds(cls, fds: int, timeout: float = TIMEOUT) -> Limits:
        """Caps that keep the process within `fds` open files (1,024 gives the defaults)."""
        backlog = max(16, min(MAX_BACKLOG, fds // 8))
        connections = max(16, fds - RESERVED_FDS - 3 * backlog)
        pending = max(8, min(MAX_PENDING, connections // 2))
        per_peer = max(4, min(PER_PEER, pending // 8))
        return cls(timeout, backlog, connections, pending, per_peer)


class Phase(Enum):
    WAITING = "waiting for a request's head"
    READING = "reading a request's body"
    BUSY = "handling a whole request"


class Guard:
    """What a server's connections share: how many there are, which are pending, since when."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.connections = 0
        self.pending = 0
        self._peers: dict[str, OrderedDict[GuardedH11Protocol, float]] = {}

    def admit(self, conn: GuardedH11Protocol, now: float) -> bool:
        """Make room for a new connection; False if every connection is busy.

        Over the per-peer or the pending cap, the oldest pending connection (of the peer, or
        of the busiest peer) goes once it has had GRACE seconds to send its head: sockets are
        accepted in batches of up to the backlog, and a newcomer, even from a flooding address,
        must not be closed before its first bytes are read. Those two caps may be overrun
        meanwhile; the cap on all connections, which keeps the process within its descriptors,
        may not: there the busiest peer's oldest goes whatever its age.
        """
        mine = self._peers.get(conn.peer)
        if mine is not None and len(mine) >= self.limits.per_peer:
            self._evict_from(mine, now)
        if self.pending >= self.limits.pending and self._peers:
            self._evict_from(self._busiest(), now)
        if self.connections >= self.limits.connections:
            if not self._peers:
                log.warning("turning connections away: all %d are busy", self.connections)
                return False
            self._evict_from(self._busiest())
        self.connections += 1
        return True

    def waiting(self, conn: GuardedH11Protocol, now: float) -> None:
        """The connection now waits for (more of) a request: the newest pending one."""
        self.done(conn)
        self._peers.setdefault(conn.peer, OrderedDict())[conn] = now
        self.pending += 1

    def done(self, conn: GuardedH11Protocol) -> None:
        """The connection is no longer pending: its request is whole, or it closed."""
        mine = self._peers.get(conn.peer)
        if mine is not None and conn in mine:
            del mine[conn]
            self.pending -= 1
            if not mine:
                del self._peers[conn.peer]

    def closed(self, conn: GuardedH11Protocol) -> None:
        self.done(conn)
        self.connections -= 1

    def _busiest(self) -> OrderedDict[GuardedH11Protocol, float]:
        return max(self._peers.values(), key=len)

    def _evict_from(
        self, pending: OrderedDict[GuardedH11Protocol, float], now: float | None = None
    ) -> None:
        """Close the oldest of these pending connections (if older than GRACE, given `now`)."""
        oldest, since = next(iter(pending.items()))
        if now is None or now - since >= GRACE:
            self._evict(oldest)

    def _evict(self, conn: GuardedH11Protocol) -> None:
        self.done(conn)
        log.warning("closing incomplete requests to make room (from %s and others)", conn.peer)
        conn.close_early(
            HTTPStatus.SERVICE_UNAVAILABLE, "server busy: too many requests in progress"
        )


def peer_of(client: tuple[str, int] | None) -> str:
    """Whom a connection counts against: its address; a /64 for IPv6, which hands those out."""
    if client is None:
        return "-"
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return client[0]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol under a `Guard`; `guarded(guard)` makes the class uvicorn uses."""

    guard: ClassVar[Guard]
    peer = "-"
    phase = Phase.BUSY
    _admitted = False
    _timer: asyncio.TimerHandle | None = None
    _heard = False  # bytes came since the connection began waiting

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.peer = peer_of(self.client)
        self._admitted = self.guard.admit(self, self.loop.time())
        if not self._admitted:
            self._answer(HTTPStatus.SERVICE_UNAVAILABLE, "server busy: every connection is in use")
            return
        self._wait()

    def data_received(self, data: bytes) -> None:
        self._heard = True
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        if self._admitted:
            self._admitted = False
            self.guard.closed(self)
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to what h11 cannot parse, as JSON."""
        self._answer(HTTPStatus.BAD_REQUEST, "invalid HTTP request")

    def close_early(self, status: HTTPStatus, detail: str) -> None:
        """Close a pending connection; answer `status` if part of a request came."""
        self._stop_timer()
        self.phase = Phase.BUSY
        if self._heard:
            self._answer(status, detail)
        else:
            self.transport.close()

    # -- phases -----------------------------------------------------------------------------

    def _follow(self) -> None:
        """Move to the phase h11 says the request is in."""
        if not self._admitted or self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            if self.phase is not Phase.WAITING:  # a new request may come: a new deadline
                self._wait()
        elif state is h11.SEND_BODY:
            if self.phase is not Phase.READING:  # the head is in: pending, now the newest
                self.phase = Phase.READING
                self.guard.waiting(self, self.loop.time())
            self._start_timer()  # each piece of the body within the timeout of the last
        elif self.phase is not Phase.BUSY:
            self.phase = Phase.BUSY
            self._stop_timer()
            self.guard.done(self)

    def _wait(self) -> None:
        self.phase = Phase.WAITING
        self._heard = False
        self.guard.waiting(self, self.loop.time())
        self._start_timer()

    def _start_timer(self) -> None:
        self._stop_timer()
        self._timer = self.loop.call_later(self.guard.limits.timeout, self._expired)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self.phase is not Phase.BUSY and not self.transport.is_closing():
            self.guard.done(self)
            log.warning(
                "closing connections whose request did not come within %g s (from %s and others)",
                self.guard.limits.timeout,
                self.peer,
            )
            self.close_early(
                HTTPStatus.REQUEST_TIMEOUT, "request timeout: the request came too slowly"
            )

    def _answer(self, status: HTTPStatus, detail: str) -> None:
        """An error answer written straight to the socket, which then closes; a 503 says
        when to retry."""
        retry = status is HTTPStatus.SERVICE_UNAVAILABLE
        body = json_problem(status, detail)
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\n"
            "content-type: application/json\r\n"
            f"content-length: {len(body)}\r\n"
            + ("retry-after: 1\r\n" if retry else "")
            + "connection: close\r\n\r\n"
        )
        if not self.transport.is_closing():
            self.transport.write(head.encode() + body)
            self.transport.close()


def guarded(guard: Guard) -> type[GuardedH11Protocol]:
    """The protocol class for uvicorn's `http=`, bound to one server's guard."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"guard": guard})
