"""Every error answer is JSON `{"detail": "<one line>"}`, whoever made it.

FastAPI's handlers cover the routes' own errors, but some answers are made outside them as
plain text: Starlette's 413 for a declared Content-Length over the limit (its body-limit
middleware sits outside the exception handlers) and the 500 of an unhandled exception. This
ASGI middleware wraps the whole app, so every route, present or future, answers alike.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_TEXT = 4096
"""Bytes of a plain-text error kept to make the one-line detail."""


def detail_of(status: int, text: bytes) -> str:
    """A plain-text error body as one short line, else the status's reason phrase."""
    lines = text[:MAX_TEXT].decode("utf-8", "replace").strip().splitlines()
    if lines and lines[0].strip():
        return lines[0].strip()[:200]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def json_problem(status: int, detail: str) -> bytes:
    return json.dumps({"detail": detail or detail_of(status, b"")}).encode()


class JsonErrors:
    """Rewrites an error answer (status >= 400) that is not JSON into `{"detail": ...}`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        text = bytearray()

        async def rewrite(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] >= 400:
                content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
                if not content_type.startswith("application/json"):
                    held = message
                    return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            if len(text) < MAX_TEXT:
                text.extend(message.get("body", b"")[: MAX_TEXT - len(text)])
            if message.get("more_body", False):
                return
            body = json_problem(held["status"], detail_of(held["status"], bytes(text)))
            headers = MutableHeaders(raw=list(held.get("headers", [])))
            headers["content-type"] = "application/json"
            headers["content-length"] = str(len(body))
            await send({**held, "headers": headers.raw})
            await send(
                {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
            )

        await self.app(scope, receive, rewrite)
