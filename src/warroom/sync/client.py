"""The HTTP side of sync: one call per protocol operation, errors sorted into two kinds.

`Offline` (unreachable, timed out, 5xx) is normal life for a laptop on a flaky VPN: retry later.
`Refused` (401, 403, 413, 422) needs a person: a revoked token, a wrong server. Both carry a
reason short enough for the console header. A private CA for a TLS server is trusted through
`SSL_CERT_FILE`, as httpx reads it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from warroom import __version__
from warroom.core.deliveries import Route
from warroom.core.events import Event, PayloadError, parse_payload
from warroom.sync.protocol import (
    API,
    MAX_BATCH,
    MAX_CHANNELS,
    MAX_PULL,
    ChannelPreview,
    ChannelRoute,
    Health,
    PreviewRequest,
    PullResponse,
    PushResponse,
    from_wire,
)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

BATCH_BYTES = 1024 * 1024
"""Bytes per push: well under the server's limit, so a batch of big events is split, not 413."""


class SyncError(Exception):
    """Sync could not finish; the message is the reason, in a few words."""


class Offline(SyncError):
    """The server could not be reached or failed: try again later."""


class Refused(SyncError):
    """The server refused the request: retrying the same will not help until someone acts."""


def batches(events: list[Event]) -> Iterator[bytes]:
    """The events encoded for `push`: at most MAX_BATCH per batch, about BATCH_BYTES at most."""
    parts: list[bytes] = []
    size = 0
    for event in events:
        part = json.dumps(event._asdict(), ensure_ascii=False, separators=(",", ":")).encode()
        if parts and (len(parts) == MAX_BATCH or size + len(part) > BATCH_BYTES):
            yield b",".join(parts)
            parts, size = [], 0
        parts.append(part)
        size += len(part) + 1
    if parts:
        yield b",".join(parts)


class SyncClient:
    """Talks to one server with one token. Async, so a long-poll can be cancelled at once."""

    def __init__(
        self,
        server: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=self.server + API,
            headers={"Authorization": f"Bearer {token}", "User-Agent": f"warroom/{__version__}"},
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> SyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._http.send(request)
        except httpx.TimeoutException:
            raise Offline(f"{self.server} timed out") from None
        except httpx.TransportError as exc:
            raise Offline(f"cannot reach {self.server}: {_describe(exc)}") from None
        if response.status_code >= 500:
            raise Offline(f"server error {response.status_code}: {_detail(response)}")
        if response.status_code == 401:
            raise Refused(f"token rejected: {_detail(response)}")
        if response.status_code >= 400:
            raise Refused(f"{response.status_code}: {_detail(response)}")
        return response

    async def health(self) -> Health:
        response = await self._send(self._http.build_request("GET", "/health"))
        return _parse(Health, response)

    async def push(self, device_id: str, body: bytes) -> PushResponse:
        """Push events already encoded by `batches` (the same ids on every retry)."""
        content = b'{"device_id":' + json.dumps(device_id).encode() + b',"events":[' + body + b"]}"
        request = self._http.build_request(
            "POST", "/events", content=content, headers={"Content-Type": "application/json"}
        )
        response = await self._send(request)
        return _parse(PushResponse, response)

    async def pull(
        self, after: int, *, limit: int = MAX_PULL, wait: float = 0
    ) -> tuple[PullResponse, list[Event]]:
        """A page after the cursor, and its events checked as anything from outside is."""
        params = {"after": after, "limit": limit, "wait": wait}
        timeout = httpx.Timeout(self.timeout, read=self.timeout + wait)
        request = self._http.build_request("GET", "/events", params=params, timeout=timeout)
        page = _parse(PullResponse, await self._send(request))
        try:
            events = [from_wire(item.event) for item in page.events]
            for event in events:
                parse_payload(event.kind, event.payload)
        except PayloadError as exc:
            raise Refused(f"the server sent an invalid event: {exc}") from None
        return page, events

    async def channels(self) -> list[Route]:
        """The channels the server delivers to and what each carries (`GET /v1/channels`)."""
        response = await self._send(self._http.build_request("GET", "/channels"))
        routes = _parse_list(_ROUTES, response)
        if len(routes) > MAX_CHANNELS:
            raise Refused(f"not a warroom server answer: more than {MAX_CHANNELS} channels")
        return [Route(r.name, r.kind, frozenset(r.audiences), frozenset(r.on)) for r in routes]

    async def preview(self, draft: PreviewRequest) -> list[ChannelPreview]:
        """What each of the server's channels would receive for an update not posted yet
        (`POST /v1/channels/preview`; secrets redacted by the server)."""
        request = self._http.build_request(
            "POST",
            "/channels/preview",
            content=draft.model_dump_json(),
            headers={"Content-Type": "application/json"},
        )
        return _parse_list(_PREVIEWS, await self._send(request))


_ROUTES = TypeAdapter(list[ChannelRoute])
_PREVIEWS = TypeAdapter(list[ChannelPreview])


def _parse_list(adapter: TypeAdapter[list[T]], response: httpx.Response) -> list[T]:
    try:
        return adapter.validate_json(response.content)
    except ValidationError as exc:
        raise Refused(f"not a warroom server answer: {_first_error(exc)}") from None


def _parse(model: type[M], response: httpx.Response) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise Refused(f"not a warroom server answer: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return response.reason_phrase or "no detail"


def _describe(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    return re.sub(r"^\[Errno -?\d+\] ", "", text).lower()
