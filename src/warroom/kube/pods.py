"""A pod list kept live by list + watch, with the state of the connection in words.

`run()` blocks (call it from a worker thread) until `stop()`. It lists, then watches from the
list's resourceVersion with bookmarks, re-lists on 410 Gone, and notices a silently dead
connection with a client read timeout longer than the bookmark interval. Between failures it
backs off (capped, jittered). The UI reads `snapshot()`, a cheap copy, on its own timer.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from warroom.core.backoff import Backoff

from .columns import PodRow, pod_row
from .gateway import CONNECT_TIMEOUT, Gateway, GatewayError, explain, interrupt

RECONNECT = Backoff(base=0.5, cap=30.0)
"""Waits between failed list/watch attempts."""


@dataclass(frozen=True)
class WatchSettings:
    timeout_seconds: int = 300
    """Server-side watch length; the watch is then resumed from the last resourceVersion."""
    read_timeout: float = 90.0
    """Silence longer than this means the connection is dead (bookmarks come every ~60 s)."""
    backoff: Backoff = RECONNECT
    """Waits between failed attempts (reset once a watch is live)."""


@dataclass(frozen=True)
class Snapshot:
    version: int
    """Bumped on every change, so a reader can skip unchanged snapshots."""
    rows: dict[str, PodRow]
    state: str
    """"connecting", "live", "reconnecting (attempt n): reason" or "unreachable: reason"."""
    hint: str = ""


class PodWatcher:
    """Pods of a gateway's namespace (or all) matching its selector, kept live."""

    def __init__(self, gateway: Gateway, settings: WatchSettings | None = None) -> None:
        self.gateway = gateway
        self.settings = settings or WatchSettings()
        self._rows: dict[str, PodRow] = {}
        self._pods: dict[str, dict[str, Any]] = {}
        self._version = 0
        self._state, self._hint = "connecting", ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._response: Any = None
        self._failures = 0
        self.lists = 0
        """How many times the watcher has (re-)listed: tests and the bench read it."""
        self.resource_version = ""

    # -- reading (any thread) -----------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(self._version, dict(self._rows), self._state, self._hint)

    def pod(self, uid: str) -> dict[str, Any] | None:
        """The last seen wire form of a pod (for containers, labels, owner)."""
        with self._lock:
            return self._pods.get(uid)

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    # -- running (a worker thread) --------------------------------------------------------------

    def start(self) -> None:
        """`run()` on a daemon thread of its own (not a shared pool: it runs until `stop()`)."""
        threading.Thread(target=self.run, name="warroom-pods-watch", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        interrupt(self._response)

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

    def _scope(self) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
        """The list function and its arguments for the target's namespace(s) and selector."""
        core, target = self.gateway.core(), self.gateway.target
        kwargs: dict[str, Any] = {}
        if target.selector:
            kwargs["label_selector"] = target.selector
        if target.all_namespaces:
            return core.list_pod_for_all_namespaces, (), kwargs
        return core.list_namespaced_pod, (self.gateway.namespace(),), kwargs

    def _list(self) -> None:
        """A fresh list: replaces every row (pods deleted while we were away disappear)."""
        func, args, kwargs = self._scope()
        response = func(
            *args,
            **kwargs,
            _preload_content=False,
            _request_timeout=(CONNECT_TIMEOUT, self.settings.read_timeout),
        )
        body = json.loads(response.data)
        pods = {_uid(p): p for p in body.get("items") or []}
        with self._lock:
            self._pods = pods
            self._rows = {uid: pod_row(pod) for uid, pod in pods.items()}
            self._version += 1
        self.resource_version = body["metadata"]["resourceVersion"]
        self.lists += 1

    def _watch_once(self) -> None:
        """One watch request; returns when the server ends it, raises when it breaks.

        The request is made directly rather than through `watch.Watch.stream`, whose
        `deserialize=False` mode fails on ERROR events (KeyError 'raw_object' in client 37),
        and whose generator gives no sign of when the connection is up.
        """
        from kubernetes.watch.watch import iter_resp_lines

        func, args, kwargs = self._scope()
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

    def _apply(self, kind: str, obj: dict[str, Any]) -> None:
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind in ("ADDED", "MODIFIED", "DELETED"):
            uid = _uid(obj)
            with self._lock:
                if kind == "DELETED":
                    self._pods.pop(uid, None)
                    self._rows.pop(uid, None)
                else:
                    self._pods[uid] = obj
                    self._rows[uid] = pod_row(obj)
                self._version += 1
        if version:
            self.resource_version = version

    def _set_state(self, state: str, hint: str = "") -> None:
        with self._lock:
            if (state, hint) != (self._state, self._hint):
                self._state, self._hint = state, hint
                self._version += 1


def _uid(pod: dict[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}"
