"""HTTP for the REST channel kinds (Statuspage, PagerDuty): secrets, pacing, answers.

- A channel's secret (`common.secret`: inline, or the variable `*_env` names, read when
  needed) is put into a request only as it leaves (`Call.render`); everything shown
  (`Request`, error reasons) has `REDACTED` in its place, and reasons are scrubbed again.
- Services limit requests per key, not per channel: `PACER` keeps one gap per key across
  every channel that shares it, and a 420/429 holds that key back for as long as asked.
- Transport failures are told apart: a request that never reached the remote (refused,
  DNS, connect timeout) is safe to send again; one that may have (read timeout, a cut
  connection, a 5xx) is `OutcomeUnknown`, which a channel checks with `find` before any
  resend of a request the remote cannot recognise as a repeat.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any

import httpx

from warroom.delivery.channel import REDACTED, DeliveryError, Request

SECRET = "\x00secret\x00"
"""Stands for the channel's secret in a `Call` until it is rendered."""
DEFAULT_WAIT = 1.0
"""Seconds to hold a key back after a 420/429 without Retry-After."""
MAX_WAIT = 300.0
MAX_REASON = 300


class OutcomeUnknown(DeliveryError):
    """The request may have reached the remote: check (`Channel.find`) before sending again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, retry=True)


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """One line, at most MAX_REASON characters, with no secret in it."""
    for value in secrets:
        if value:
            text = text.replace(value, REDACTED)
    line = " ".join(text.split())
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 1] + "…"


@dataclass(frozen=True)
class Call:
    """One HTTP request of a channel, with `SECRET` where the secret goes."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    """JSON-shaped data (strings may be or hold `SECRET`), or None for no body."""

    def render(self, value: str) -> tuple[dict[str, str], bytes | None]:
        headers = {k: v.replace(SECRET, value) for k, v in self.headers.items()}
        if self.body is None:
            return headers, None
        return headers, _json(_replace(self.body, value)).encode()

    def shown(self) -> Request:
        """The request as the dry run shows it: secret redacted."""
        headers, body = self.render(REDACTED)
        return Request(self.method, self.url, headers, body.decode() if body else "")


def _replace(value: Any, secret_value: str) -> Any:
    if isinstance(value, str):
        return value.replace(SECRET, secret_value)
    if isinstance(value, dict):
        return {k: _replace(v, secret_value) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, secret_value) for v in value]
    return value


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class KeyPacer:
    """At most one request per `every` seconds for each key, and no request to a key the
    remote asked to wait (420/429) before the wait is over. Keys are digests, not secrets."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(secret_value: str) -> str:
        return blake2b(secret_value.encode(), digest_size=16).hexdigest()

    def wait(self, key: str, every: float) -> float:
        """Block until this key may send; returns the seconds waited. Reserves the slot."""
        with self._lock:
            now = self.clock()
            at = max(now, self._next.get(key, now))
            self._next[key] = at + every
        waited = at - now
        if waited > 0:
            self.sleep(waited)
        return waited

    def hold(self, key: str, seconds: float) -> None:
        """The remote said to wait: nobody sends with this key for `seconds`."""
        with self._lock:
            until = self.clock() + min(max(seconds, 0.0), MAX_WAIT)
            self._next[key] = max(self._next.get(key, 0.0), until)


PACER = KeyPacer()


def retry_after(response: httpx.Response) -> float:
    """Retry-After in seconds (a number; an HTTP date counts as the default)."""
    value = response.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        return DEFAULT_WAIT
    return min(max(seconds, 0.0), MAX_WAIT) if seconds == seconds else DEFAULT_WAIT


def send(
    client: httpx.Client,
    call: Call,
    secret_value: str,
    *,
    pace: float,
    pacer: KeyPacer = PACER,
    what: str,
) -> httpx.Response:
    """Send one call, paced by its key. Raises DeliveryError for transport failures
    (`OutcomeUnknown` when it may have arrived) and for 420/429 (after holding the key)."""
    key = pacer.key(secret_value)
    pacer.wait(key, pace)
    headers, body = call.render(secret_value)
    secrets = (secret_value,)
    try:
        response = client.request(call.method, call.url, headers=headers, content=body)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise DeliveryError(scrub(f"{what}: cannot connect: {exc}", secrets), retry=True) from None
    except httpx.UnsupportedProtocol as exc:
        raise DeliveryError(scrub(f"{what}: {exc}", secrets), retry=False) from None
    except httpx.TransportError as exc:  # read timeout, connection cut after sending
        kind = "no answer in time" if isinstance(exc, httpx.TimeoutException) else str(exc)
        raise OutcomeUnknown(scrub(f"{what}: {kind or type(exc).__name__}", secrets)) from None
    if response.status_code in (420, 429):
        after = retry_after(response)
        pacer.hold(key, after)
        raise DeliveryError(
            f"{what}: rate limited ({response.status_code}); retry in {after:g} s",
            retry=True,
            after=after,
        )
    return response


def answer(response: httpx.Response) -> Any:
    """The JSON an answer holds, or None."""
    try:
        return response.json()
    except ValueError:
        return None


def said(response: httpx.Response, secrets: tuple[str, ...], *keys: str) -> str:
    """What an error answer says, from the first of `keys` it has, else its status line."""
    data = answer(response)
    parts: list[str] = []
    if isinstance(data, dict):
        for key in keys:
            value = data.get(key)
            if isinstance(value, str) and value:
                parts.append(value)
            elif isinstance(value, list):
                parts.extend(str(v) for v in value[:3])
    text = "; ".join(parts) or response.reason_phrase or "no reason given"
    return scrub(f"{response.status_code} {text}", secrets)
