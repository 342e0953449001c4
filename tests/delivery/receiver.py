"""A real webhook receiver on 127.0.0.1, as a careful integrator would write one.

It verifies every signature with `warroom.delivery.webhook.verify`, validates every body
against the published JSON Schema, and deduplicates on `Idempotency-Key` (a repeat gets the
first answer again). Tests script its answers: 429 with Retry-After, 500, 400, a hang, or
being down altogether; and wait on what it received, with deadlines.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

import jsonschema

from warroom.delivery.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify

SCHEMA = json.loads(
    resources.files("warroom.delivery").joinpath("schemas/webhook-v1.json").read_text()
)
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    retry_after: str | None = None
    hang: bool = False
    """Never answer (until the test ends): the sender cannot know what became of it."""
    accept: bool = False
    """With `hang`: take the delivery first (then a repeat of its key is a duplicate)."""
    body: dict[str, Any] | None = None


OK = Answer()


@dataclass(frozen=True)
class Hit:
    """One request as it arrived."""

    key: str
    body: dict[str, Any]
    signed: bool
    schema_errors: tuple[str, ...]
    status: int
    at: float


class Receiver:
    def __init__(
        self, secret: str = "s3cret-webhook-key", port: int = 0, validate: bool = True
    ) -> None:
        self.secret = secret
        self.validate = validate
        """Check each body against the schema (benchmarks skip it: it is not free)."""
        self.port = port
        self.hits: list[Hit] = []
        self.accepted: dict[str, dict[str, Any]] = {}
        """First accepted body per idempotency key, in arrival order."""
        self.script: deque[Answer] = deque()
        self.default = OK
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    # -- scripting -------------------------------------------------------------------------

    def answer(self, *answers: Answer) -> None:
        """The next requests get these answers, in order; then `default`."""
        with self._lock:
            self.script.extend(answers)

    def _next(self) -> Answer:
        with self._lock:
            return self.script.popleft() if self.script else self.default

    # -- what arrived ----------------------------------------------------------------------

    def keys(self) -> Counter[str]:
        with self._lock:
            return Counter(hit.key for hit in self.hits)

    def accepted_keys(self) -> list[str]:
        with self._lock:
            return list(self.accepted)

    def wait(self, predicate: Callable[[Receiver], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"receiver: condition not met; got {len(self.hits)} hits")
                self._changed.wait(min(remaining, 0.5))

    def _record(self, hit: Hit, accepted: bool) -> None:
        with self._changed:
            self.hits.append(hit)
            if accepted and hit.key not in self.accepted:
                self.accepted[hit.key] = hit.body
            self._changed.notify_all()

    # -- serving ---------------------------------------------------------------------------

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # one write per answer: no Nagle and delayed-ACK stall

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                key = self.headers.get(IDEMPOTENCY_HEADER, "")
                signed = verify(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), raw)
                try:
                    body = json.loads(raw)
                    checked = VALIDATOR.iter_errors(body) if receiver.validate else ()
                    errors = tuple(e.message for e in checked)
                except ValueError as exc:
                    body, errors = {}, (f"not JSON: {exc}",)
                answer = receiver._next()
                if not signed:
                    answer = Answer(401, body={"detail": "bad signature"})
                if answer.hang:
                    hit = Hit(key, body, signed, errors, 200 if answer.accept else 0, time.time())
                    receiver._record(hit, answer.accept)
                    receiver.release.wait(60)
                    self.close_connection = True
                    return
                if answer.status < 300 and key in receiver.accepted:
                    data = {"id": f"dup-{key}", "duplicate": True}
                else:
                    data = answer.body or ({"id": f"r-{key}"} if answer.status < 300 else {})
                receiver._record(
                    Hit(key, body, signed, errors, answer.status, time.time()),
                    answer.status < 300,
                )
                payload = json.dumps(data).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if answer.retry_after is not None:
                    self.send_header("Retry-After", answer.retry_after)
                self.end_headers()
                self.wfile.write(payload)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Down: the port refuses connections until `start` again (same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:  # kept-alive connections too: down is down
            for connection in self._connections:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._connections.clear()

    def close(self) -> None:
        self.release.set()
        self.stop()
