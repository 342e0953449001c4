"""Following container logs into a bounded buffer, resuming after a stream ends.

Timestamps are always requested, so when a stream ends while the pod still runs (kubelet or
proxy timeouts do this) the follower asks again with `sinceTime` = the last timestamp seen. The
API server truncates sinceTime to whole seconds, so the overlap is skipped by timestamp, and at
the last timestamp itself by remembering the lines already seen there: no duplicates, no gaps.

Followers never touch the UI: each runs on a thread of its own and appends whole chunks, as
columns, to its session's `LogBuffer` (bounded, counting what it had to drop), which the logs
pane drains on a timer. A session's followers decode one at a time and pause after each chunk,
so however many pods flood, the UI thread has one GIL holder to wait for, and not for long.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from warroom.core.backoff import Backoff
from warroom.core.rfc3339 import format_seconds, parse_ns

from .gateway import CONNECT_TIMEOUT, Gateway, explain, interrupt
from .loglines import Lines, Raw, Splitter, decode, last_run, raw_lines
from .pods import PodWatcher
from .watch import WatchSettings

PAUSE = 0.0002
"""Seconds a follower sleeps after handing over a chunk of lines. A flood keeps a follower
busy, and a thread that never blocks keeps the GIL for the whole switch interval (5 ms) each
time the UI thread asks for it, several times per keystroke; sleeping hands it over at once."""


@dataclass(frozen=True)
class LogTarget:
    namespace: str
    pod: str
    container: str | None = None
    """None: the pod's only container (the API server answers 400 if there are several)."""

    @property
    def label(self) -> str:
        return f"{self.pod}/{self.container}" if self.container else self.pod


RETRY = Backoff(base=0.5, cap=5.0)
"""Waits before asking for a log again while resumed streams bring nothing new."""


@dataclass(frozen=True)
class LogOptions:
    previous: bool = False
    """The last terminated run of the container (a crash's last words); not followed."""
    since_seconds: int | None = None
    tail_lines: int | None = 200
    retry: Backoff = RETRY
    """Waits before asking again while resumed streams bring nothing new (or fail)."""


class LogBuffer:
    """Lines from every follower of a session, bounded; the oldest go first when it is full."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self.maxlen = maxlen
        self._lines = Lines.bounded(maxlen)
        self._lock = threading.Lock()
        self.dropped = 0
        """Lines pushed out before the UI drained them (shown as a gap marker)."""
        self.decoding = threading.Lock()
        """Held by a follower while it turns bytes into lines: the session's followers take
        turns, so however many pods flood at once the UI thread competes for the GIL with one
        busy thread, not one per pod (the others wait on this lock, GIL released)."""

    def extend(self, source: int, stamps: list[str], texts: list[str]) -> None:
        """Lines from one source, oldest first."""
        if not texts:
            return
        with self._lock:
            overflow = len(self._lines) + len(texts) - self.maxlen
            if overflow > 0:
                self.dropped += overflow
            self._lines.append(source, stamps, texts)

    def drain(self) -> tuple[Lines, int]:
        """Everything buffered (oldest first), and how many lines were dropped since the last
        drain. Swaps the columns for empty ones rather than copying them."""
        with self._lock:
            lines, self._lines = self._lines, Lines.bounded(self.maxlen)
            dropped, self.dropped = self.dropped, 0
        return lines, dropped


def parse_stamp(stamp: str) -> int:
    """The kubelet's RFC3339Nano timestamp to ns since the epoch (0 if unparsable)."""
    try:
        return parse_ns(stamp)
    except ValueError:
        return 0


class LogFollower:
    """One container's log, followed (or read once for `previous`) until the pod is gone."""

    def __init__(
        self,
        gateway: Gateway,
        target: LogTarget,
        options: LogOptions,
        buffer: LogBuffer,
        source: int = 0,
    ) -> None:
        self.gateway = gateway
        self.target = target
        self.options = options
        self.buffer = buffer
        self.source = source
        self.state = "starting"
        self.streams = 0
        """Requests made: 1 + resumes."""
        self._stop = threading.Event()
        self._response: Any = None
        self._last_stamp = ""
        self._seen_at_last: list[bytes] = []

    def stop(self) -> None:
        self._stop.set()
        interrupt(self._response)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Stream until the pod is gone, the run is over (`previous`), or `stop()`."""
        waits = self.options.retry.delays()
        while not self._stop.is_set():
            try:
                fresh = self._stream()
            except Exception as error:
                if self._stop.is_set():
                    break
                problem = explain(error)
                if problem.status == 404:
                    self.state = "ended: pod gone"
                    break
                if problem.status == 400 and self.options.previous:
                    self.state = "ended: no previous run"  # it never restarted
                    break
                self.state = f"retrying: {problem.reason}"
                fresh = 0
            else:
                if self.options.previous:
                    self.state = "ended: previous run shown"
                    break
                ended = self._ended()
                if ended:
                    self.state = f"ended: {ended}"
                    break
                self.state = "resuming"
            if fresh:
                waits = self.options.retry.delays()
            else:
                self._stop.wait(next(waits))

    def _query(self) -> list[tuple[str, Any]]:
        query: list[tuple[str, Any]] = [("timestamps", "true")]
        if not self.options.previous:
            query.append(("follow", "true"))
        else:
            query.append(("previous", "true"))
        if self.target.container:
            query.append(("container", self.target.container))
        if self._last_stamp:
            query.append(("sinceTime", format_seconds(parse_stamp(self._last_stamp))))
        elif self.options.since_seconds is not None:
            query.append(("sinceSeconds", self.options.since_seconds))
        elif self.options.tail_lines is not None:
            query.append(("tailLines", self.options.tail_lines))
        return query

    def _stream(self) -> int:
        """One request, read to its end; returns how many new lines it delivered."""
        from kubernetes.client.exceptions import ApiException

        api = self.gateway.api()
        method, url, headers, _, _ = api.param_serialize(
            "GET",
            "/api/v1/namespaces/{namespace}/pods/{name}/log",
            path_params={"namespace": self.target.namespace, "name": self.target.pod},
            query_params=self._query(),
            auth_settings=["BearerToken"],
        )
        self.streams += 1
        response = api.call_api(method, url, headers, _request_timeout=(CONNECT_TIMEOUT, None))
        if not 200 <= response.status <= 299:
            response.read()
            raise ApiException(http_resp=response)
        self._response = response.response
        if self._stop.is_set():
            return 0
        self.state = "following" if not self.options.previous else "reading previous run"
        overlap = self._overlap()
        splitter, fresh = Splitter(), 0
        try:
            for chunk in self._response.stream(amt=None, decode_content=False):
                block, cut = splitter.feed(chunk)
                if not block:
                    continue
                with self.buffer.decoding:
                    if overlap is None:
                        stamps, texts = decode(block, cut)
                        self._remember_block(block)
                    else:  # the start of a resumed stream: line by line, skipping the seen
                        raw, overlap = _skip_seen(raw_lines(block, cut), overlap)
                        if raw:
                            self._remember(raw)
                        stamps, texts = [r[0] for r in raw], [r[2] for r in raw]
                    self.buffer.extend(self.source, stamps, texts)
                fresh += len(texts)
                time.sleep(PAUSE)
        finally:
            self._response = None
            response.response.release_conn()
        return fresh

    def _overlap(self) -> tuple[int, Counter[bytes]] | None:
        if not self._last_stamp:
            return None
        return parse_stamp(self._last_stamp), Counter(self._seen_at_last)

    def _remember_block(self, block: bytes) -> None:
        """`_remember` for a block of lines, looking only at its last timestamp's lines."""
        last, run, whole = last_run(block)
        if whole and last == self._last_stamp:
            self._seen_at_last.extend(run)
        else:
            self._last_stamp, self._seen_at_last = last, run

    def _remember(self, decoded: list[Raw]) -> None:
        """The last timestamp and the raw lines seen at it, for de-duplicating a resume."""
        last = decoded[-1][0]
        run: list[bytes] = []
        for stamp, raw, _ in reversed(decoded):
            if stamp != last:
                break
            run.append(raw)
        run.reverse()
        if len(run) == len(decoded) and last == self._last_stamp:
            self._seen_at_last.extend(run)
        else:
            self._last_stamp, self._seen_at_last = last, run

    def _ended(self) -> str:
        """Why following should stop: the pod is gone or finished ("" while it runs)."""
        from kubernetes.client.exceptions import ApiException

        try:
            pod = self.gateway.core().read_namespaced_pod(
                self.target.pod, self.target.namespace, _request_timeout=(CONNECT_TIMEOUT, 15)
            )
        except ApiException as error:
            return "pod gone" if error.status == 404 else ""
        except Exception:
            return ""
        if pod.metadata.deletion_timestamp is not None and not _running(pod):
            return "pod gone"
        if pod.status.phase in ("Succeeded", "Failed"):
            return f"pod {pod.status.phase.lower()}"
        for init in pod.status.init_container_statuses or []:
            done = init.state.terminated
            if init.name == self.target.container and done is not None and done.exit_code == 0:
                return "init container done"
        return ""


def _running(pod: Any) -> bool:
    return any(s.state.running is not None for s in pod.status.container_statuses or [])


def _skip_seen(
    decoded: list[Raw], overlap: tuple[int, Counter[bytes]]
) -> tuple[list[Raw], tuple[int, Counter[bytes]] | None]:
    """Drop lines a resumed stream repeats; the overlap ends at the first later timestamp."""
    last, seen = overlap
    kept: list[Raw] = []
    for index, line in enumerate(decoded):
        at = parse_stamp(line[0])
        if at > last:
            return kept + decoded[index:], None
        if at == last:
            if seen[line[1]] > 0:
                seen[line[1]] -= 1
            else:
                kept.append(line)
    return kept, overlap


class LogSession:
    """Several followers sharing one buffer; `sources[i]` is the target of source index i.

    Followers can join while it runs (`add`), so a session can follow a changing set of pods;
    a source's index never changes, so lines already drained keep their label."""

    def __init__(
        self,
        gateway: Gateway,
        targets: list[LogTarget],
        options: LogOptions | None = None,
        maxlen: int = 100_000,
    ) -> None:
        self.gateway = gateway
        self.options = options or LogOptions()
        self.buffer = LogBuffer(maxlen)
        self.sources: list[LogTarget] = []
        self.followers: list[LogFollower] = []
        self._started = False
        self._lock = threading.Lock()
        for target in targets:
            self.add(target)

    def add(self, target: LogTarget) -> LogFollower:
        """Follow one more container (started at once if the session runs)."""
        with self._lock:
            follower = LogFollower(
                self.gateway, target, self.options, self.buffer, len(self.sources)
            )
            self.sources.append(target)
            self.followers.append(follower)
            if self._started:
                _spawn(follower)
        return follower

    def start(self) -> None:
        """Each follower on a daemon thread of its own. They live as long as the session, so
        they must not sit in a shared pool (Textual's thread workers use the loop's default
        executor, min(32, CPUs + 4) threads): the sixth follower, and every short worker after
        it, would wait forever."""
        with self._lock:
            self._started = True
            for follower in self.followers:
                _spawn(follower)

    def stop(self) -> None:
        with self._lock:
            self._started = False
            followers = list(self.followers)
        for follower in followers:
            follower.stop()

    @property
    def pods(self) -> list[str]:
        """The pods followed now (in the order they joined)."""
        return list(dict.fromkeys(f.target.pod for f in self.followers if not f.stopped))

    @property
    def state(self) -> str:
        states = Counter(f.state for f in list(self.followers) if not f.stopped)
        return ", ".join(f"{n}× {s}" if n > 1 else s for s, n in states.items()) or "no pods"


def _spawn(follower: LogFollower) -> None:
    name = f"warroom-log-{follower.target.label}"
    threading.Thread(target=follower.run, name=name, daemon=True).start()


def containers_of(pod: dict[str, Any], container: str | None = None) -> list[str]:
    """The containers to follow in a pod (wire form): all of its main containers, or the one
    named (an init container too), or none if it has no such container."""
    spec = pod.get("spec") or {}
    names = [str(c.get("name")) for c in spec.get("containers") or []]
    if container is None:
        return names
    inits = [str(c.get("name")) for c in spec.get("initContainers") or []]
    return [container] if container in names or container in inits else []


class PodSetSession(LogSession):
    """Every pod a label selector matches, followed at once (`kubectl logs -l`, stern): pods
    that appear join the stream, pods that are deleted leave it. A deployment's pods are its
    selector's. With `previous`, the pods there are now are read once, and nobody joins."""

    def __init__(
        self,
        gateway: Gateway,
        namespace: str,
        selector: str,
        container: str | None = None,
        options: LogOptions | None = None,
        maxlen: int = 100_000,
        settings: WatchSettings | None = None,
    ) -> None:
        super().__init__(gateway, [], options, maxlen)
        self.namespace = namespace
        self.selector = selector
        self.container = container
        scope = gateway.switch(namespace=namespace, selector=selector, all_namespaces=False)
        self.watcher = PodWatcher(scope, settings)
        self._members: dict[str, list[LogFollower]] = {}
        """Pod uid -> its followers."""
        self._done = threading.Event()
        self.joined = self.left = 0

    def start(self) -> None:
        super().start()
        self.watcher.start()
        threading.Thread(target=self._keep, name="warroom-log-members", daemon=True).start()

    def stop(self) -> None:
        self._done.set()
        self.watcher.stop()
        self.watcher.changed.set()
        super().stop()

    def _keep(self) -> None:
        """Follow membership changes as the watcher reports them."""
        while not self._done.is_set():
            self.watcher.changed.wait(1.0)
            self.watcher.changed.clear()
            if self._done.is_set():
                return
            if self.watcher.lists and self.sync() and self.options.previous:
                return

    def sync(self) -> bool:
        """Start following pods that appeared, stop those that went; True once listed."""
        snapshot = self.watcher.snapshot()
        if not self.watcher.lists:
            return False
        pods = {uid: self.watcher.pod(uid) for uid in snapshot.rows}
        for uid, pod in pods.items():
            if uid in self._members or pod is None:
                continue
            meta = pod.get("metadata") or {}
            self._members[uid] = [
                self.add(LogTarget(str(meta.get("namespace")), str(meta.get("name")), name))
                for name in containers_of(pod, self.container)
            ]
            self.joined += 1
        for uid in [uid for uid in self._members if uid not in pods]:
            for follower in self._members.pop(uid):
                follower.stop()
                follower.state = "left"
            self.left += 1
        return True
