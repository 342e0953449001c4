"""The two long-lived responses: watch event streams and followed container logs.

Both re-read the cluster after every wake-up instead of being pushed items, so they never miss
or reorder anything, and a slow client only ever holds a cursor, not a queue.

Where a stream starts (its cursor, the fault epochs it reacts to) is fixed when the request is
handled, before the response headers go out, as the API server registers a watch and the
kubelet opens a log before answering. Starlette sends the headers before it first runs the body,
so a start taken inside the body would race with whatever the client does once it has them:
lines logged or faults injected in that gap were lost (the flaky log-follow tests).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from . import logs
from .discovery import Resource
from .errors import ApiError
from .notify import wait
from .selectors import Selector
from .state import ClusterState
from .store import Event, Expired, Obj

LOG_BATCH = 4096
"""Lines per chunk when a log has a backlog (a flood, a long history)."""


class ConnectionDropped(Exception):
    """Raised inside a response body to make the server cut the connection mid-stream."""


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass(frozen=True)
class WatchRequest:
    resource: Resource
    namespace: str | None
    selector: Selector
    resource_version: str
    timeout: float
    bookmarks: bool
    render: Callable[[Obj], Obj]
    """Turns an object into what the client asked for: itself or a one-row Table."""


def _event(kind: str, obj: Obj) -> bytes:
    return b'{"type":"%s","object":%s}\n' % (kind.encode(), _dumps(obj))


def _matching_type(event: Event, request: WatchRequest) -> str | None:
    """The event type this watcher sees: objects entering or leaving its selector are
    ADDED or DELETED, as the watch cache reports them."""
    if request.namespace and event.obj["metadata"].get("namespace") != request.namespace:
        return None
    now = request.selector.matches(event.obj)
    before = event.prev is not None and request.selector.matches(event.prev)
    if event.type == "MODIFIED" and now != before:
        return "ADDED" if now else "DELETED"
    if event.type == "DELETED":
        return "DELETED" if before or now else None
    return event.type if now else None


def watch(state: ClusterState, request: WatchRequest) -> AsyncIterator[bytes]:
    """Newline-delimited watch events until the timeout, a drop, or the server stops; the
    starting point is taken now (call it before responding)."""
    with state.lock:
        epochs = state.watch_drops, state.watch_stalls
        if request.resource_version in ("", "0"):
            initial = [
                obj
                for obj in state.store.list(request.resource.name, request.namespace)
                if request.selector.matches(obj)
            ]
            cursor = state.store.rv
        else:
            initial, cursor = [], int(request.resource_version)
    return _watch(state, request, epochs, initial, cursor)


async def _watch(
    state: ClusterState,
    request: WatchRequest,
    epochs: tuple[int, int],
    initial: list[Obj],
    cursor: int,
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + request.timeout
    interval = state.bookmark_interval
    next_bookmark = loop.time() + interval
    drops, stalls = epochs
    with state.notifier.subscribe() as changed:
        if initial:
            yield b"".join(_event("ADDED", request.render(obj)) for obj in initial)
        while True:
            changed.clear()
            expired: Expired | None = None
            with state.lock:
                if state.closed:
                    return
                if state.watch_drops != drops:
                    raise ConnectionDropped
                events = None
                if state.watch_stalls == stalls:
                    try:
                        events = state.store.events_since(cursor)
                        cursor = state.store.rv
                    except Expired as error:
                        expired = error
            if expired is not None:
                yield _event("ERROR", ApiError(410, str(expired)).status())
                return
            if events is None:
                await wait(changed, 1.0)
                continue
            chunk = [
                _event(kind, request.render(event.obj))
                for event in events
                if event.resource == request.resource.name
                and (kind := _matching_type(event, request))
            ]
            if chunk:
                yield b"".join(chunk)
            now = loop.time()
            if now >= deadline:
                return
            if request.bookmarks and now >= next_bookmark:
                yield _event("BOOKMARK", _bookmark(request.resource, cursor))
                next_bookmark = now + interval
            until = min(deadline, next_bookmark) if request.bookmarks else deadline
            await wait(changed, max(0.0, min(until - now, 1.0)))


def _bookmark(resource: Resource, rv: int) -> Obj:
    """An empty object carrying only the resourceVersion, as the watch cache sends it."""
    obj: Obj = {
        "kind": resource.kind,
        "apiVersion": resource.api_version,
        "metadata": {"resourceVersion": str(rv), "creationTimestamp": None},
    }
    if resource.kind == "Pod":
        obj |= {"spec": {"containers": None}, "status": {}}
    return obj


@dataclass(frozen=True)
class LogRequest:
    follow: bool
    timestamps: bool
    since: int | None
    tail: int | None
    limit_bytes: int | None


def follow_log(
    state: ClusterState, run: logs.Instance, request: LogRequest
) -> AsyncIterator[bytes]:
    """A container run's log; when following, new lines until the run ends. The first line is
    chosen now (call it before responding)."""
    with state.lock:
        cuts = state.log_cuts
        until = run.until(state.now)
        cursor = logs.start_cursor(run, until, request.since, request.tail)
    return _follow_log(state, run, request, (cuts, until, cursor))


async def _follow_log(
    state: ClusterState,
    run: logs.Instance,
    request: LogRequest,
    start: tuple[int, int, logs.Cursor],
) -> AsyncIterator[bytes]:
    cuts, until, cursor = start
    budget = request.limit_bytes
    with state.notifier.subscribe() as changed:
        while True:
            changed.clear()
            with state.lock:
                if state.closed or state.log_cuts != cuts:
                    return
                if request.follow:
                    until = run.until(state.now)
                ended = run.finished is not None and until >= run.finished
            lines = logs.take(run, cursor, until, LOG_BATCH)
            if lines:
                chunk = logs.encode(lines, request.timestamps)
                if budget is not None:
                    if len(chunk) >= budget:
                        yield chunk[:budget]
                        return
                    budget -= len(chunk)
                yield chunk
                if len(lines) == LOG_BATCH:
                    await asyncio.sleep(0)
                    continue
            if not request.follow or ended:
                return
            await wait(changed, 1.0)
