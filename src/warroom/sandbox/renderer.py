"""The parent's side: a warm worker process per `Renderer`, jobs, deadlines, cancellation.

The protocol is one JSON object per line: the worker says `{"ready": true}` once it has set
its limits, then answers each request (`id`, `source`, `fields`, `max_output`, `cpu`) with
`{"id", "text"}`, `{"id", "error"}` or `{"id", "memory": true}`; `"recycle": true` asks to be
replaced. Replies are checked here and cleaned of terminal escapes before anyone shows them.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import warroom
from warroom.core.outbound import outbound
from warroom.core.text import one_line

MAX_OUTPUT = 20_000  # characters of rendered text
DEFAULT_TIMEOUT = 2.0  # seconds of wall time per render
DEFAULT_MEMORY_MIB = 64  # on top of the worker's own start-up size
START_TIMEOUT = 30.0  # a cold worker on a loaded machine; not part of the render deadline
MAX_ERROR = 300  # characters of an error message

CANCELLED = "template rendering cancelled"


class Rendered(NamedTuple):
    """A render's outcome: the text, or "" and a one-line reason."""

    text: str
    error: str | None = None


class _Lost(Exception):
    """The worker stopped answering: it ended (`eof`), ran late, or sent garbage."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _child_env() -> dict[str, str]:
    """The worker sees no secrets (tokens live in WARROOM_*); it finds this very warroom."""
    keep = ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "SYSTEMROOT")  # what Python may need to run
    env = {k: v for k, v in os.environ.items() if k.startswith("PYTHON") or k in keep}
    here = str(Path(warroom.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    env["PYTHONSAFEPATH"] = "1"  # 3.11+: the working directory is not on sys.path
    return env


class _Worker:
    """One child process and the parent's end of its pipes."""

    def __init__(self, memory_mib: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "warroom.sandbox.worker", str(memory_mib)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # the terminal belongs to the console
            cwd=os.sep,
            env=_child_env(),
            start_new_session=True,  # no SIGINT/SIGTSTP from the terminal: the parent decides
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.fd = self.proc.stdout.fileno()
        self.buffer = b""
        self.ready = False
        self.serial = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.stdin.write(json.dumps(message).encode() + b"\n")
            self.stdin.flush()
        except OSError as exc:  # it died (or was killed) before reading
            raise _Lost("eof") from exc

    def receive(self, deadline: float, limit: int) -> dict[str, Any]:
        """The next reply line, waiting no later than `deadline` (time.monotonic)."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _Lost("timeout")
                if not selector.select(left):
                    continue
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    raise _Lost("eof")
                self.buffer += chunk
                if len(self.buffer) > limit:
                    raise _Lost("garbage")
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            reply = json.loads(line)
        except ValueError:
            raise _Lost("garbage") from None
        if not isinstance(reply, dict):
            raise _Lost("garbage")
        return reply

    def signal_kill(self) -> None:
        """Only the signal (safe on the UI thread); whoever waits on the worker reaps it."""
        with contextlib.suppress(OSError):
            self.proc.kill()

    def close(self) -> int | None:
        """Kill and reap; the exit status."""
        self.signal_kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # unkillable (traced?): leave it to the OS
            return None


class RenderJob:
    """One render, run by `result()` in the caller's thread, cancellable from any thread."""

    def __init__(self, renderer: Renderer, source: str, fields: Mapping[str, str]) -> None:
        self._renderer = renderer
        self.source = source
        self.fields = dict(fields)
        self.cancelled = False
        self._result: Rendered | None = None
        self._once = threading.Lock()

    def result(self) -> Rendered:
        """Render (blocking, at most `timeout` once the worker is up); later calls repeat it."""
        with self._once:
            if self._result is None:
                self._result = self._renderer._execute(self)
            return self._result

    def cancel(self) -> None:
        """Never renders, or stops rendering now: the worker is killed, its CPU freed."""
        self._renderer._cancel(self)


class Renderer:
    """A warm worker process that renders templates one at a time, with limits.

    `render()` blocks the calling thread, so the console calls it from a worker thread;
    `start()` only spawns the process (its start-up runs concurrently) and is cheap.
    """

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mib: int = DEFAULT_MEMORY_MIB,
        max_output: int = MAX_OUTPUT,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.timeout = timeout
        self.memory_mib = memory_mib
        self.max_output = max_output
        self.start_timeout = start_timeout
        self._run = threading.Lock()  # one render at a time
        self._state = threading.Lock()  # the fields below; held only briefly, never on IO
        self._worker: _Worker | None = None
        self._job: RenderJob | None = None  # the render in flight, for `cancel`
        self._busy = False  # a thread is talking to the worker
        self._closed = False
        _LIVE.add(self)

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The current worker's process id (None before the first start)."""
        worker = self._worker
        return worker.pid if worker else None

    def start(self) -> None:
        """Spawn a worker if there is none; returns without waiting for it to be ready."""
        with self._state:
            if self._worker is not None or self._closed:
                return
        try:  # outside the lock: `cancel` (on a UI thread) never waits for a fork
            worker: _Worker | None = _Worker(self.memory_mib)
        except OSError:  # out of processes or memory: the next render says so
            return
        with self._state:
            if self._worker is None and not self._closed:
                self._worker, worker = worker, None
        if worker is not None:  # another thread was quicker, or we closed meanwhile
            worker.close()

    def warm(self) -> bool:
        """Start a worker and wait until it is ready (not on a UI thread); whether it is."""
        self.start()
        with self._owning() as worker:
            if worker is None:
                return False
            try:
                self._ensure_ready(worker)
            except _Lost:
                self._discard(worker)
                return False
            return True

    def job(self, source: str, fields: Mapping[str, str]) -> RenderJob:
        return RenderJob(self, source, fields)

    def render(self, source: str, fields: Mapping[str, str]) -> Rendered:
        return self.job(source, fields).result()

    def close(self) -> None:
        """Kill the worker; renders after this fail with a message. Safe from any thread."""
        with self._state:
            self._closed = True
            worker = self._worker
            if worker is None:
                return
            if self._busy:  # the thread talking to it reaps it; closing its pipe under that
                worker.signal_kill()  # thread's epoll would hide the EOF it waits for
                return
            self._worker = None
        worker.close()

    # -- inside ------------------------------------------------------------------------------

    def _cancel(self, job: RenderJob) -> None:
        with self._state:
            job.cancelled = True
            if self._job is job and self._worker is not None:
                self._worker.signal_kill()

    @contextlib.contextmanager
    def _owning(self, job: RenderJob | None = None) -> Iterator[_Worker | None]:
        """The worker, for this thread alone to talk to (spawned if there is none).

        None when closed, when the job was cancelled, or when no process could be started.
        """
        with self._run:
            if job is None or not job.cancelled:
                self.start()
            with self._state:
                worker = self._worker
                if self._closed or (job is not None and job.cancelled):
                    worker = None
                if worker is not None:
                    self._busy, self._job = True, job
            try:
                yield worker
            finally:
                with self._state:
                    self._busy, self._job = False, None
                    leftover = self._worker if self._closed else None
                    self._worker = None if self._closed else self._worker
                if leftover is not None:  # closed while we were talking to it
                    leftover.close()

    def _execute(self, job: RenderJob) -> Rendered:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in job.fields.items()):
            return Rendered("", "template error: fields must be strings")
        with self._owning(job) as worker:
            if worker is not None:
                return self._exchange(worker, job)
        if job.cancelled:
            return Rendered("", CANCELLED)
        if self._closed:
            return Rendered("", "template renderer is closed")
        return Rendered("", "template renderer could not start a process")

    def _ensure_ready(self, worker: _Worker) -> None:
        if not worker.ready:
            hello = worker.receive(time.monotonic() + self.start_timeout, 4096)
            if hello.get("ready") is not True:
                raise _Lost("garbage")
            worker.ready = True

    def _exchange(self, worker: _Worker, job: RenderJob) -> Rendered:
        try:
            self._ensure_ready(worker)
            worker.serial += 1
            worker.send(
                {
                    "id": worker.serial,
                    "source": job.source,
                    "fields": job.fields,
                    "max_output": self.max_output,
                    "cpu": self.timeout,
                }
            )
            # JSON escapes a character in at most 12 bytes; errors are cut short by the child
            reply = worker.receive(time.monotonic() + self.timeout, 12 * self.max_output + 4096)
        except _Lost as lost:
            status = self._discard(worker)
            if job.cancelled:
                return Rendered("", CANCELLED)
            if self._closed:
                return Rendered("", "template renderer is closed")
            return Rendered("", self._why(lost.why, status, worker.ready))
        if reply.get("recycle"):  # it ran out of memory or grew: start afresh next time
            self._discard(worker)
        return self._read(reply, worker.serial)

    def _read(self, reply: dict[str, Any], serial: int) -> Rendered:
        text, error = reply.get("text"), reply.get("error")
        if reply.get("id") != serial:
            return Rendered("", "template renderer answered out of turn")
        if reply.get("memory"):
            return Rendered("", f"template used more than {self.memory_mib} MiB")
        if isinstance(error, str):
            return Rendered("", one_line(error, MAX_ERROR))
        if isinstance(text, str) and len(text) <= self.max_output:
            return Rendered(outbound(text))  # a message to send: Unicode as typed
        return Rendered("", "template renderer sent a malformed reply")

    def _why(self, why: str, status: int | None, started: bool) -> str:
        if why == "timeout" or status == -signal.SIGXCPU:
            if not started:
                return f"template renderer did not start within {self.start_timeout:g}s"
            return f"template took longer than {self.timeout:g}s"
        if why == "garbage":
            return "template renderer sent a malformed reply"
        if status is not None and status < 0:
            name = signal.Signals(-status).name if -status in signal.valid_signals() else status
            return f"template renderer was stopped by {name}"
        if not started:
            return f"template renderer did not start (exit status {status})"
        return f"template renderer stopped (exit status {status})"

    def _discard(self, worker: _Worker) -> int | None:
        """Kill and reap a worker; start its replacement unless closed."""
        with self._state:
            if self._worker is worker:
                self._worker = None
        status = worker.close()
        self.start()
        return status


_LIVE: weakref.WeakSet[Renderer] = weakref.WeakSet()
_shared: Renderer | None = None
_shared_lock = threading.Lock()


def shared() -> Renderer:
    """The process's renderer (the console's): one warm worker, killed at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Renderer()
        return _shared


def _close_all() -> None:
    for renderer in list(_LIVE):
        renderer.close()


# Before the interpreter joins non-daemon threads (a render waiting in one would hold the
# exit until its deadline), not after as `atexit` would; concurrent.futures does the same.
getattr(threading, "_register_atexit", atexit.register)(_close_all)
atexit.register(_close_all)
