"""One resource kept live by list + watch, with the state of the connection in words.

`run()` blocks (call it from a worker thread) until `stop()`. It lists, then watches from the
list's resourceVersion with bookmarks, re-lists on 410 Gone, and notices a silently dead
connection with a client read timeout longer than the bookmark interval. Between failures it
backs off (capped, jittered). The UI reads `snapshot()`, a cheap copy, on its own timer.

Pods, events and deployments are watched alike (`PodWatcher`, `EventWatcher`,
`DeploymentWatcher`): a subclass says what to list and how an object becomes a row.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from warroom.core.backoff import Backoff

from .gateway import CONNECT_TIMEOUT, Gateway, GatewayError, explain, interrupt

RECONNECT = Backoff(base=0.5, cap=30.0)
"""Waits between failed list/watch attempts."""

Obj = dict[str, Any]
R = TypeVar("R")
Scope = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]
"""A list function of the client, its positional arguments and its keyword arguments."""


@dataclass(frozen=True)
class WatchSettings:
    timeout_seconds: int = 300
    """Server-side watch length; the watch is then resumed from the last resourceVersion."""
    read_timeout: float = 90.0
    """Silence longer than this means the connection is dead (bookmarks come every ~60 s)."""
    backoff: Backoff = RECONNECT
    """Waits between failed attempts (reset once a watch is live)."""


@dataclass(frozen=True)
class Snapshot(Generic[R]):
    version: int
    """Bumped on every change, so a reader can skip unchanged snapshots."""
    rows: dict[str, R]
    state: str
    """"connecting", "live", "reconnecting (attempt n): reason" or "unreachable: reason"."""
    hint: str = ""


class Watcher(Generic[R]):
    """Objects of one resource in a gateway's namespace (or all), kept live as rows."""

    name = "watch"
    """For the thread's name."""

    def __init__(self, gateway: Gateway, settings: WatchSettings | None = None) -> None:
        self.gateway = gateway
        self.settings = settings or WatchSettings()
        self._rows: dict[str, R] = {}
        self._objects: dict[str, Obj] = {}
        self._version = 0
        self._state, self._hint = "connecting", ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._response: Any = None
        self._failures = 0
        self.changed = threading.Event()
        """Set on every change (a reader clears it before looking)."""
        self.lists = 0
        """How many times the watcher has (re-)listed: tests and the bench read it."""
        self.resource_version = ""

    # -- what a subclass says ---------------------------------------------------------------

    def scope(self) -> Scope:
        """The list function and its arguments (the same call watches with watch=True)."""
        raise NotImplementedError

    def row(self, obj: Obj) -> R:
        raise NotImplementedError

    def seen(self, kind: str, obj: Obj, before: Obj | None) -> None:
        """Called (on the watch thread, outside the lock) for each change a watch delivers:
        ADDED, MODIFIED or DELETED, with the object as it was before, if known."""

    # -- reading (any thread) -----------------------------------------------------------------

    def snapshot(self) -> Snapshot[R]:
        with self._lock:
            return Snapshot(self._version, dict(self._rows), self._state, self._hint)

    def get(self, uid: str) -> Obj | None:
        """The last seen wire form of an object."""
        with self._lock:
            return self._objects.get(uid)

    def objects(self) -> list[Obj]:
        with self._lock:
            return list(self._objects.values())

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    # -- running (a worker thread) --------------------------------------------------------------

    def start(self) -> None:
        """`run()` on a daemon thread of its own (not a shared pool: it runs until `stop()`)."""
        threading.Thread(target=self.run, name=f"warroom-{self.name}", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        interrupt(self._response)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """List and watch until `stop()`; never raises."""
        while not self._stop.is_set():
            try:
                if not self.resource_version:
                    self._list()
                self._watch_once()
            except Exception as error:
                if self._stop.is_set():
                    break
                problem = explain(error)
                if problem.status == 410:
                    self.resource_version = ""
                    continue
                self._failures += 1
                self._failed(problem)
                self._stop.wait(self.settings.backoff.delay(self._failures))

    def _failed(self, problem: GatewayError) -> None:
        failures = self._failures
        if self.lists == 0 or problem.status in (401, 403) or failures > 3:
            self._set_state(f"unreachable: {problem.reason}", problem.hint)
        else:
            self._set_state(f"reconnecting (attempt {failures}): {problem.reason}")

    def _list(self) -> None:
        """A fresh list: replaces every row (objects deleted while we were away disappear)."""
        func, args, kwargs = self.scope()
        response = func(
            *args,
            **kwargs,
            _preload_content=False,
            _request_timeout=(CONNECT_TIMEOUT, self.settings.read_timeout),
        )
        body = json.loads(response.data)
        objects = {uid_of(o): o for o in body.get("items") or []}
        with self._lock:
            previous, self._objects = self._objects, objects
            self._rows = {uid: self.row(obj) for uid, obj in objects.items()}
            self._version += 1
        self.changed.set()
        self.resource_version = body["metadata"]["resourceVersion"]
        if self.lists:  # a re-list: what changed while the watch was away
            for uid, obj in objects.items():
                old = previous.get(uid)
                if old is None or _version_of(old) != _version_of(obj):
                    self.seen("MODIFIED" if old else "ADDED", obj, old)
            for uid, old in previous.items():
                if uid not in objects:
                    self.seen("DELETED", old, old)
        self.lists += 1

    def _watch_once(self) -> None:
        """One watch request; returns when the server ends it, raises when it breaks.

        The request is made directly rather than through `watch.Watch.stream`, whose
        `deserialize=False` mode fails on ERROR events (KeyError 'raw_object' in client 37),
        and whose generator gives no sign of when the connection is up.
        """
        from kubernetes.watch.watch import iter_resp_lines

        func, args, kwargs = self.scope()
        response = func(
            *args,
            **kwargs,
            watch=True,
            resource_version=self.resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=self.settings.timeout_seconds,
            _preload_content=False,
            _request_timeout=(CONNECT_TIMEOUT, self.settings.read_timeout),
        )
        self._response = response
        try:
            if self._stop.is_set():
                return
            self._set_state("live")
            self._failures = 0
            for line in iter_resp_lines(response):
                event = json.loads(line)
                if event["type"] == "ERROR":
                    status = event.get("object") or {}
                    raise GatewayError(
                        f"{status.get('code')} {status.get('message', '')}".strip(),
                        status=status.get("code"),
                    )
                self._apply(event["type"], event["object"])
                if self._stop.is_set():
                    return
        finally:
            self._response = None
            response.release_conn()

    def _apply(self, kind: str, obj: Obj) -> None:
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind in ("ADDED", "MODIFIED", "DELETED"):
            uid = uid_of(obj)
            with self._lock:
                before = self._objects.get(uid)
                if kind == "DELETED":
                    self._objects.pop(uid, None)
                    self._rows.pop(uid, None)
                else:
                    self._objects[uid] = obj
                    self._rows[uid] = self.row(obj)
                self._version += 1
            self.changed.set()
            self.seen(kind, obj, before)
        if version:
            self.resource_version = version

    def _set_state(self, state: str, hint: str = "") -> None:
        with self._lock:
            if (state, hint) != (self._state, self._hint):
                self._state, self._hint = state, hint
                self._version += 1
        self.changed.set()


def _version_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def uid_of(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}"


def namespaced(
    gateway: Gateway, all_namespaces: Callable[..., Any], one: Callable[..., Any]
) -> Scope:
    """The scope for a resource in the target's namespace, or in all of them (-A), with the
    target's label selector."""
    target = gateway.target
    kwargs: dict[str, Any] = {}
    if target.selector:
        kwargs["label_selector"] = target.selector
    if target.all_namespaces:
        return all_namespaces, (), kwargs
    return one, (gateway.namespace(),), kwargs
