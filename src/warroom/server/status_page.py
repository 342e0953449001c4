"""The public status page: `/status` (HTML), `/status.json`, `/status/feed.atom`; no token.

It shows what `warroom.core.public` lets out (status-page posts, the configured components'
states, the last 90 days) and nothing else of an incident. The board is folded from the
backend's incidents once per committed change (`Notifier.head`), so a post shows on the next
request after it is stored, and any number of readers in between share one rendering (a
lock makes concurrent readers of a new head wait for one fold, not fold 200 times).

Rendering is jinja2 with autoescaping on for every template (HTML and Atom): text from
incidents is data, never markup. No script runs on the page (and the Content-Security-Policy
forbids any), so it works as it is without JavaScript; it uses landmarks, one h1 and h2/h3
in reading order, `lang`, text (not colour alone) for every state, and contrast of at least
4.5:1.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from jinja2 import Environment, PackageLoader, StrictUndefined

from warroom.core.public import OVERALL, STATE_LABELS, Board, PageSettings, PublicIncident, board
from warroom.server.backend import Backend

router = APIRouter(include_in_schema=False)

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none';"
    " frame-ancestors 'none'"
)
CACHE = "public, max-age=5"
INDICATOR = {
    "operational": "none",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
PHASE_LABELS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
}

_env = Environment(
    loader=PackageLoader("warroom.server", "templates"),
    autoescape=True,  # every template, HTML and Atom alike
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Rendered:
    head: int
    etag: str
    html: bytes
    json: bytes
    atom: bytes


class StatusPage:
    """The rendered page for the backend's current head, made once per change."""

    def __init__(self, backend: Backend, settings: PageSettings) -> None:
        self.backend = backend
        self.settings = settings
        self._rendered: Rendered | None = None
        self._lock = asyncio.Lock()

    async def current(self, base_url: str) -> Rendered:
        head = self.backend.notifier.head
        rendered = self._rendered
        if rendered is not None and rendered.head == head:
            return rendered
        async with self._lock:
            rendered = self._rendered
            if rendered is not None and rendered.head == head:
                return rendered
            ids = await self.backend.incident_ids()
            states = [await self.backend.state(i) for i in ids]
            now = datetime.now(UTC)
            made = render(board(states, self.settings, now), head, base_url)
            self._rendered = made
            return made


def render(shown: Board, head: int, base_url: str) -> Rendered:
    """The page, its JSON and its feed, from one board."""
    url = shown.settings.url or f"{base_url.rstrip('/')}/status"
    context = {
        "board": shown,
        "page_url": url,
        "feed_url": f"{url.removesuffix('/')}/feed.atom",
        "overall": OVERALL[shown.overall],
        "overall_state": shown.overall,
        "states": STATE_LABELS,
        "phases": PHASE_LABELS,
        "when": _when,
        "iso": _iso,
    }
    html = _env.get_template("status.html.j2").render(context).encode()
    atom = _env.get_template("feed.atom.j2").render({**context, "entries": _entries(shown)})
    data = json.dumps(as_json(shown, url), ensure_ascii=False, indent=1).encode()
    etag = hashlib.blake2b(html + data, digest_size=12).hexdigest()
    return Rendered(head, f'"{etag}"', html, data, atom.encode())


def as_json(shown: Board, url: str) -> dict[str, Any]:
    """For machines: the shape of Statuspage's summary, with the same words as the page."""
    return {
        "page": {
            "title": shown.settings.title,
            "url": url,
            "updated_at": _iso(shown.updated_at) if shown.updated_at else None,
        },
        "status": {"indicator": INDICATOR[shown.overall], "description": OVERALL[shown.overall]},
        "components": [
            {"name": c.name, "status": state, "description": STATE_LABELS[state]}
            for c, state in shown.components
        ],
        "incidents": [_incident_json(i) for i in shown.active],
        "history": [_incident_json(i) for i in shown.history],
    }


def _incident_json(incident: PublicIncident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "name": incident.title,
        "status": incident.phase,
        "impact": incident.impact,
        "created_at": _iso(incident.started_at),
        "resolved_at": _iso(incident.resolved_at) if incident.resolved_at else None,
        "components": [c.name for c in incident.components],
        "updates": [
            {"id": p.id, "status": p.phase, "body": p.body, "created_at": _iso(p.at)}
            for p in incident.posts
        ],
    }


def _entries(shown: Board) -> list[tuple[PublicIncident, Any]]:
    """Every post of the page, newest first, with its incident."""
    found = [(i, p) for i in (*shown.active, *shown.history) for p in i.posts]
    return sorted(found, key=lambda pair: pair[1].at, reverse=True)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _when(at: datetime) -> str:
    utc = at.astimezone(UTC)
    return f"{utc:%b} {utc.day}, {utc:%H:%M} UTC"


def _page(request: Request) -> StatusPage:
    page: StatusPage = request.app.state.status_page
    return page


async def _answer(request: Request, kind: str) -> Response:
    rendered = await _page(request).current(str(request.base_url))
    headers = {"Cache-Control": CACHE, "ETag": rendered.etag}
    if request.headers.get("if-none-match") == rendered.etag:
        return Response(status_code=304, headers=headers)
    if kind == "html":
        headers |= {
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }
        return Response(rendered.html, media_type="text/html; charset=utf-8", headers=headers)
    if kind == "json":
        headers["Access-Control-Allow-Origin"] = "*"
        return Response(rendered.json, media_type="application/json", headers=headers)
    return Response(
        rendered.atom, media_type="application/atom+xml; charset=utf-8", headers=headers
    )


@router.get("/status")
async def status_html(request: Request) -> Response:
    """The public page: components, active incidents and their posts, the last 90 days."""
    return await _answer(request, "html")


@router.get("/status.json")
async def status_json(request: Request) -> Response:
    return await _answer(request, "json")


@router.get("/status/feed.atom")
async def status_feed(request: Request) -> Response:
    return await _answer(request, "atom")
