"""What the console asks about channels, in worker threads: which channels carry what
(`routing`), and the dry run of a draft (`dry_run`).

Whoever holds the channel config delivers, so that is who is asked: this machine's config
when it delivers (no server configured: routes need no secret, the dry run builds the real
channels so their requests are exact), else the server (`GET /v1/channels`,
`POST /v1/channels/preview`), whose secrets never reach the console. Both block: never call
them on the UI thread.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from warroom.config import ConfigError, Settings
from warroom.core.state import IncidentState
from warroom.store import EventLog, StoreError
from warroom.tui.delivery_text import DryRun, Routing

if TYPE_CHECKING:
    from warroom.sync.client import SyncClient

TIMEOUT = 5.0
"""Seconds a server may take to answer the console's questions about channels."""


def routing(settings: Settings) -> Routing:
    """The routes of whoever delivers for this console. Never raises: a failure is a
    Routing whose routes are unknown and whose `problem` says why."""
    if settings.server and settings.token:
        from warroom.sync.client import Offline, SyncError

        async def ask() -> Routing:
            async with _client(settings) as c:
                return Routing(tuple(await c.channels()), "server")

        try:
            return asyncio.run(ask())
        except Offline:
            return Routing(None, "server", "server unreachable")
        except SyncError as exc:
            return Routing(None, "server", f"the server refused: {exc}")
    if not settings.channels:
        return Routing((), "none")
    from warroom.delivery.config import load_routes

    try:
        return Routing(tuple(load_routes()), "local")
    except ConfigError as exc:
        return Routing(None, "local", str(exc))


def dry_run(
    settings: Settings,
    store: EventLog,
    state: IncidentState,
    text: str,
    *,
    audience: str,
    template: str,
    actor: str,
    now: datetime,
) -> list[DryRun]:
    """The exact requests each channel would receive for a draft update, secrets redacted.
    Raises ValueError with one line when it cannot be shown."""
    if settings.server and settings.token:
        return _from_server(settings, state, text, audience=audience, template=template)
    if not settings.channels:
        return []
    from warroom.delivery.compose import draft_update, preview
    from warroom.delivery.config import load_channels

    try:
        channels = load_channels(policy=settings.policy)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    draft = draft_update(state, text, audience=audience, template=template, actor=actor, now=now)
    position = f"{draft.hlc} {draft.id}"
    try:
        previous = {
            c.name: store.deliveries.previous(state.incident_id, c.name, position)
            for c in channels
            if c.carries(draft)
        }
    except StoreError as exc:
        raise ValueError(str(exc)) from None
    return [
        DryRun(p.channel, p.kind, p.requests, p.error)
        for p in preview(channels, draft, state, previous)
    ]


def _from_server(
    settings: Settings, state: IncidentState, text: str, *, audience: str, template: str
) -> list[DryRun]:
    from pydantic import ValidationError

    from warroom.delivery.channel import Request
    from warroom.sync.client import SyncError
    from warroom.sync.protocol import PreviewRequest

    try:
        draft = PreviewRequest.model_validate(
            {
                "incident_id": state.incident_id,
                "audience": audience,
                "text": text,
                "template": template,
            }
        )
    except ValidationError as exc:
        raise ValueError(f"cannot ask the server: {exc.errors()[0]['msg']}") from None

    async def ask() -> list[DryRun]:
        async with _client(settings) as client:
            shown = await client.preview(draft)
        return [
            DryRun(
                p.channel,
                p.kind,
                tuple(Request(r.method, r.url, r.headers, r.body) for r in p.requests),
                p.error,
            )
            for p in shown
        ]

    try:
        return asyncio.run(ask())
    except SyncError as exc:
        raise ValueError(f"the server cannot show it: {exc}") from None


def _client(settings: Settings) -> SyncClient:
    from warroom.sync.client import SyncClient

    return SyncClient(settings.server or "", settings.token or "", timeout=TIMEOUT)
