"""The shared API: push a batch of events, pull what others pushed (long-poll), alert
notifications from monitoring (`/v1/alerts/alertmanager`, `/v1/alerts/grafana`), and a health
check.

Every error answers `{"detail": "<one line>"}`: 400 malformed JSON, 401 no or bad token, 403 a
device the token does not serve or a token of the other scope (clients' tokens cannot post
alerts, alert tokens cannot push or pull), 413 a body or batch too large, 422 an invalid
request (nothing of it is written), 503 the database is unavailable (retry; Alertmanager does).
`errors.JsonErrors` wraps the whole app so that this holds for answers made outside the routes
too (404, 413 by length, 500).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from starlette.types import ASGIApp

from warroom import __version__
from warroom.alerts.webhooks import (
    MAX_ALERTS,
    AlertmanagerWebhook,
    AlertsAccepted,
    GrafanaWebhook,
    WebhookError,
    from_alertmanager,
    from_grafana,
)
from warroom.alerts.webhooks import MAX_BODY as MAX_ALERT_BODY
from warroom.alerts.webhooks import NO_NUL as WEBHOOK_NO_NUL
from warroom.background import first_of
from warroom.core.deliveries import Route
from warroom.core.events import Event, PayloadError, parse_payload
from warroom.core.hlc import wall_ms_now
from warroom.core.public import PageSettings
from warroom.core.text import one_line
from warroom.server.auth import ALERTS, CLIENT, DeviceRefused, Token
from warroom.server.backend import Backend, Unavailable
from warroom.server.errors import JsonErrors
from warroom.server.previews import Previews
from warroom.server.status_page import StatusPage
from warroom.server.status_page import router as status_router
from warroom.sync.protocol import (
    API,
    MAX_BATCH,
    MAX_DRAFT,
    NO_NUL,
    ChannelPreview,
    ChannelRoute,
    Health,
    PreviewedRequest,
    PreviewRequest,
    Problem,
    PullQuery,
    PullResponse,
    PushRequest,
    PushResponse,
    Sequenced,
    from_wire,
    now,
    shown,
    to_wire,
)

if TYPE_CHECKING:
    from warroom.delivery.channel import Channel

MAX_BODY = 16 * 1024 * 1024
"""Bytes per request: room for a full batch of the largest events the client makes."""
MAX_PREVIEW_BODY = 8 * MAX_DRAFT
"""Bytes of a dry-run request: a draft of the longest update, escaped (\\uXXXX) throughout."""

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": text}
    for code, text in {
        400: "Malformed JSON",
        401: "No token, or a bad or revoked one",
        413: "Body or batch too large",
        422: "Invalid request; nothing was written",
        503: "Database unavailable; retry",
    }.items()
}

CLIENT_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"model": Problem, "description": "A device the token does not serve, or an alert token"},
}
ALERT_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"model": Problem, "description": "A client's token: alerts need an alert token"},
    413: {"model": Problem, "description": "Body too large, or too many alerts"},
}

log = logging.getLogger("warroom.server")
bearer = HTTPBearer(auto_error=False, description="A token from `warroom token create`.")
router = APIRouter(prefix=API)
alerts = APIRouter(prefix=f"{API}/alerts", max_body_size=MAX_ALERT_BODY)


def backend_of(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Token:
    if credentials is None:
        raise HTTPException(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    token = await backend_of(request).authenticate(credentials.credentials)
    if token is None:
        raise HTTPException(401, "invalid or revoked token", {"WWW-Authenticate": "Bearer"})
    return token


async def client(token: Annotated[Token, Depends(authenticated)]) -> Token:
    """A client's token: pushes and pulls events."""
    if token.scope != CLIENT:
        raise HTTPException(403, "this token may only post alerts")
    return token


async def monitoring(token: Annotated[Token, Depends(authenticated)]) -> Token:
    """An alert token (`warroom token create NAME --alerts`): posts alerts, nothing else."""
    if token.scope != ALERTS:
        raise HTTPException(
            403, "this token cannot post alerts: make one with `warroom token create NAME --alerts`"
        )
    return token


@router.get("/health")
async def health() -> Health:
    """Liveness, version and server time; needs no token."""
    return Health(server_time=now(), version=__version__)


@router.post("/events", responses=CLIENT_ERRORS)
async def push(
    body: PushRequest, request: Request, token: Annotated[Token, Depends(client)]
) -> PushResponse:
    """Store a batch; idempotent by event id. One result per event, in order."""
    events = [from_wire(wire) for wire in body.events]
    for i, event in enumerate(events):
        try:
            parse_payload(event.kind, event.payload)
        except PayloadError as exc:
            raise HTTPException(422, f"events[{i}]: {exc}") from None
    try:
        results, head = await backend_of(request).push(token, body.device_id, events, wall_ms_now())
    except DeviceRefused as exc:
        raise HTTPException(403, str(exc)) from None
    return PushResponse(results=results, head=head, server_time=now())


@router.get(
    "/events", responses={**ERRORS, 403: {"model": Problem}}, dependencies=[Depends(client)]
)
async def pull(request: Request, query: Annotated[PullQuery, Query()]) -> PullResponse:
    """Events after the cursor in sequence order; waits up to `wait` seconds if there are none."""
    backend = backend_of(request)
    events, head = await backend.pull(query.after, query.limit)
    if not events and query.wait > 0:
        await first_of(backend.notifier.wait_past(query.after, query.wait), _hung_up(request))
        events, head = await backend.pull(query.after, query.limit)
    return PullResponse(
        server_id=backend.server_id,
        events=list(_servable(events, request.app.state.skipped)),
        next=events[-1][0] if events else query.after,
        head=head,
        server_time=now(),
    )


@alerts.post("/alertmanager", responses=ALERT_ERRORS)
async def alertmanager(
    body: AlertmanagerWebhook, request: Request, token: Annotated[Token, Depends(monitoring)]
) -> AlertsAccepted:
    """Prometheus Alertmanager's webhook (`webhook_config`, version 4). Idempotent: a firing
    (fingerprint and start) is stored once, its resolution once; re-sends change nothing.
    Configure `max_alerts: 1000` (or less) and `send_resolved: true`."""
    return await _intake(request, token, from_alertmanager, body)


@alerts.post("/grafana", responses=ALERT_ERRORS)
async def grafana(
    body: GrafanaWebhook, request: Request, token: Annotated[Token, Depends(monitoring)]
) -> AlertsAccepted:
    """Grafana alerting's webhook contact point (version 1); idempotent like Alertmanager's."""
    return await _intake(request, token, from_grafana, body)


async def _intake(request: Request, token: Token, read: Any, body: Any) -> AlertsAccepted:
    backend = backend_of(request)
    received = now()
    try:
        commands = read(body, backend.policy.alerts, received)
    except WebhookError as exc:
        raise HTTPException(422, str(exc)) from None
    return await backend.receive_alerts(commands, token.name, received)


@router.get("/channels", responses=ERRORS, dependencies=[Depends(authenticated)])
async def channels(request: Request) -> list[ChannelRoute]:
    """The channels this server delivers to, and the audiences and lifecycle events each
    carries: which will receive an update, shown before it is posted."""
    routes: Sequence[Route] = request.app.state.routes
    return [
        ChannelRoute(name=r.name, kind=r.kind, audiences=sorted(r.audiences), on=sorted(r.on))
        for r in routes
    ]


PREVIEW_ERRORS: dict[int | str, dict[str, Any]] = {
    **CLIENT_ERRORS,
    404: {"model": Problem, "description": "No such incident on this server"},
}


@router.post("/channels/preview", responses=PREVIEW_ERRORS, max_body_size=MAX_PREVIEW_BODY)
async def preview_channels(
    body: PreviewRequest, request: Request, token: Annotated[Token, Depends(client)]
) -> list[ChannelPreview]:
    """The dry run of an update not posted yet: the exact requests each channel that carries
    its audience would receive, secrets redacted. Nothing is sent or stored."""
    previews: Previews = request.app.state.previews
    shown = await previews.of(
        body.incident_id,
        body.text,
        audience=body.audience,
        template=body.template,
        actor=token.name,
    )
    if shown is None:
        raise HTTPException(404, f"no incident {body.incident_id} on this server")
    return [
        ChannelPreview(
            channel=p.channel,
            kind=p.kind,
            requests=[
                PreviewedRequest(method=r.method, url=r.url, headers=dict(r.headers), body=r.body)
                for r in p.requests
            ],
            error=one_line(p.error, 1000),
        )
        for p in shown
    ]


def _servable(events: list[tuple[int, Event]], skipped: set[int]) -> Iterator[Sequenced]:
    """The events as sent; one that today's rules refuse (stored by an older version) is left
    out, since every client would refuse the whole page. The cursor still moves past it."""
    for seq, event in events:
        try:
            yield Sequenced.model_validate({"seq": seq, "event": to_wire(event)})
        except ValidationError as exc:
            if seq not in skipped:  # say so once per event, not per pull
                skipped.add(seq)
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"])
                log.warning("not serving stored event %d: %s: %s", seq, where, err["msg"])


async def _hung_up(request: Request) -> None:
    """Returns when the client goes away, so an abandoned long-poll ends (and shutdown is quick)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    """One line for people, the list for programs; malformed JSON and big batches apart."""
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    errors = [
        {"loc": [p if isinstance(p, int) else shown(p) for p in e["loc"]], **_said(e)} for e in raw
    ]
    first = errors[0]
    if first["type"] == "json_invalid":
        return _problem(400, f"malformed JSON: {raw[0].get('ctx', {}).get('error', '')}")
    if first["type"] == "too_long" and first["loc"] == ["body", "events"]:
        return _problem(413, f"at most {MAX_BATCH} events per push")
    if first["type"] == "too_long" and first["loc"] == ["body", "alerts"]:
        return _problem(
            413, f"at most {MAX_ALERTS} alerts per notification (set max_alerts to {MAX_ALERTS})"
        )
    where = ".".join(str(p) for p in first["loc"])
    return _problem(422, f"{where}: {first['msg']}", errors=errors)


def _said(error: Any) -> dict[str, str]:
    """An error's message and type; the message may quote a key, so it is escaped too.
    Characters no backend stores are named (the spec forbids NUL with a pattern)."""
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") in (
        NO_NUL,
        WEBHOOK_NO_NUL,
    ):
        message = "contains U+0000, which cannot be stored"
    elif error["type"] == "string_unicode":
        message = "contains a lone surrogate, which cannot be stored"
    return {
        "msg": message if message.isprintable() else ascii(message)[1:-1],
        "type": error["type"],
    }


async def _not_allowed(request: Request, _exc: Exception) -> JSONResponse:
    """405 with every method of the path in `Allow` (Starlette names only one route's)."""
    path = request.url.path
    methods = {
        m
        for r in request.app.routes
        if isinstance(r, APIRoute) and r.path_regex.match(path)
        for m in r.methods or ()
    }
    response = _problem(405, "method not allowed")
    response.headers["Allow"] = ", ".join(sorted(methods))
    return response


async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
    response = _problem(503, str(exc))
    response.headers["Retry-After"] = "1"
    return response


class _App(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        return JsonErrors(super().build_middleware_stack())


def create_app(
    backend: Backend,
    *,
    max_body: int = MAX_BODY,
    status_page: PageSettings | None = None,
    background: Sequence[Callable[[Backend], Coroutine[Any, Any, None]]] = (),
    channels: Sequence[Channel] = (),
) -> FastAPI:
    """The ASGI app over a backend, which it opens on start-up and closes on shutdown; with
    the public status page (`/status`, from the config's `[status_page]`).

    `background`: what runs beside the API for its lifetime, given the opened backend (the
    delivery engine); each is a task cancelled at shutdown, before the backend closes.
    `channels`: the channels it delivers to (`GET /v1/channels`, and the composer's dry run
    at `POST /v1/channels/preview`)."""
    previews = Previews(backend, channels)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await backend.open()
        tasks = [asyncio.create_task(run(backend)) for run in background]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await previews.close()
            await backend.close()

    app = _App(
        title="warroom sync API",
        version=__version__,
        lifespan=lifespan,
        max_body_size=max_body,
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
    )
    app.state.backend = backend
    app.state.skipped = set()
    app.state.routes = [
        Route(c.name, c.kind, frozenset(c.audiences), frozenset(c.on)) for c in channels
    ]
    app.state.previews = previews
    app.include_router(router)
    app.state.status_page = StatusPage(backend, status_page or PageSettings())
    app.include_router(status_router)
    app.include_router(alerts)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Unavailable, _unavailable)
    app.add_exception_handler(405, _not_allowed)
    return app
