"""The demo's Slack: a small Slack-compatible Web API on 127.0.0.1 that `make demo`'s server
delivers to, so a newcomer sees an update leave warroom and arrive somewhere.

It answers the methods warroom's Slack channel calls (`auth.test`, `chat.postMessage`,
`chat.update`, `chat.getPermalink`, `conversations.history`, `conversations.replies`) with
Slack's response shapes (`{"ok": true, ...}`; `{"ok": false, "error": ...}` with HTTP 200),
checks the bot token, keeps threads (`thread_ts`, `reply_broadcast`) and message metadata
(warroom finds a delivery whose outcome it did not learn by it), and shows what arrived: a
page at `/` (refreshing itself) and one line per message in its log. The page's button takes
it down for a minute (every API call answers 503, as Slack's edge does in an outage) or brings
it back, so the console's `retrying` and then `sent` can be watched. Messages are kept in a
JSON file, so the receiver can also be stopped and started again without losing its threads.

Not a test fake: `tests/delivery/slack_fake.py` checks every request against Slack's
contract and scripts faults. This one only has to be believable and stay up.

    python -m warroom.demo_slack --port 8801 --channel C0DEMO0001 --state .demo/slack.json
    (the bot token comes from WARROOM_DEMO_SLACK_TOKEN)
"""

from __future__ import annotations

import argparse
import html
import json
import os
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

TOKEN_ENV = "WARROOM_DEMO_SLACK_TOKEN"
TEAM_URL = "https://warroom-demo.slack.com/"
BOT_USER = "U0DEMOBOT"
BOT_ID = "B0DEMOBOT"
Message = dict[str, Any]


class Workspace:
    """Channels and their messages, saved to `state` after every change."""

    def __init__(self, token: str, channels: dict[str, str], state: Path | None) -> None:
        self.token = token
        self.names = channels
        """Channel ID -> name."""
        self.state = state
        self.lock = threading.Lock()
        self.messages: dict[str, list[Message]] = {cid: [] for cid in channels}
        self.down_until = 0.0
        """Until then (monotonic), every API call gets a 503: the demo's Slack outage."""
        self._last = 0.0
        if state is not None and state.exists():
            saved = json.loads(state.read_text())
            for cid, kept in saved.get("messages", {}).items():
                self.messages.setdefault(cid, []).extend(kept)
            self._last = float(saved.get("last", 0.0))

    def down(self) -> bool:
        return time.monotonic() < self.down_until

    def _save(self) -> None:
        if self.state is None:
            return
        temp = self.state.with_suffix(".tmp")
        temp.write_text(json.dumps({"messages": self.messages, "last": self._last}))
        temp.replace(self.state)

    def _ts(self) -> str:
        """Slack's ts: seconds.micro, unique and increasing within the workspace."""
        self._last = max(round(time.time(), 6), round(self._last + 0.000001, 6))
        return f"{self._last:.6f}"

    def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = METHODS.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        with self.lock:
            return handler(self, args)

    def channel(self, ref: Any) -> list[Message]:
        if str(ref) not in self.messages:
            raise SlackError("channel_not_found")
        return self.messages[str(ref)]

    def permalink(self, channel: str, ts: str) -> str:
        return f"{TEAM_URL}archives/{channel}/p{ts.replace('.', '')}"


class SlackError(Exception):
    pass


def _auth_test(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "url": TEAM_URL, "team": "Demo", "user": "warroom", "user_id": BOT_USER}


def _post(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    cid = str(args.get("channel", ""))
    messages = ws.channel(cid)
    text = str(args.get("text") or "")
    if not text and not args.get("blocks"):
        raise SlackError("no_text")
    ts = ws._ts()
    message: Message = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "text": text}
    message["ts"] = ts
    for key in ("blocks", "metadata"):
        if args.get(key) is not None:
            message[key] = args[key]
    thread = args.get("thread_ts")
    if thread is not None:
        root = next((m for m in messages if m["ts"] == thread), None)
        if root is None:
            raise SlackError("thread_not_found")
        message["thread_ts"] = thread
        root["thread_ts"] = root["ts"]
        root["reply_count"] = root.get("reply_count", 0) + 1
        if args.get("reply_broadcast"):
            message["subtype"] = "thread_broadcast"
    messages.append(message)
    ws._save()
    where = "reply" if thread else "message"
    first = text.splitlines()[0][:100] if text else ""
    print(f"#{ws.names[cid]} {where} {ts}: {first}", flush=True)
    shown = {k: v for k, v in message.items() if k != "metadata"}
    return {"ok": True, "channel": cid, "ts": ts, "message": shown}


def _update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    cid = str(args.get("channel", ""))
    message = next((m for m in ws.channel(cid) if m["ts"] == args.get("ts")), None)
    if message is None:
        raise SlackError("message_not_found")
    for key in ("text", "blocks", "metadata"):
        if key in args:
            message[key] = args[key]
    message["edited"] = {"user": BOT_USER, "ts": ws._ts()}
    ws._save()
    return {"ok": True, "channel": cid, "ts": message["ts"], "text": message["text"]}


def _permalink(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    cid, ts = str(args.get("channel", "")), str(args.get("message_ts", ""))
    if not any(m["ts"] == ts for m in ws.channel(cid)):
        raise SlackError("message_not_found")
    return {"ok": True, "channel": cid, "permalink": ws.permalink(cid, ts)}


def _shown(messages: list[Message], args: dict[str, Any]) -> list[Message]:
    oldest = float(args.get("oldest") or 0)
    full = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
    return [
        m if full else {k: v for k, v in m.items() if k != "metadata"}
        for m in messages
        if float(m["ts"]) >= oldest
    ]


def _history(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    top = [
        m
        for m in ws.channel(args.get("channel"))
        if m.get("thread_ts", m["ts"]) == m["ts"] or m.get("subtype") == "thread_broadcast"
    ]
    shown = list(reversed(_shown(top, args)))  # newest first, as Slack pages them
    return {"ok": True, "messages": shown, "has_more": False, "response_metadata": {}}


def _replies(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    messages = ws.channel(args.get("channel"))
    root = str(args.get("ts", ""))
    thread = [m for m in messages if m["ts"] == root or m.get("thread_ts") == root]
    if not thread:
        raise SlackError("thread_not_found")
    shown = _shown(thread, args)
    return {"ok": True, "messages": shown, "has_more": False, "response_metadata": {}}


METHODS = {
    "auth.test": _auth_test,
    "chat.postMessage": _post,
    "chat.update": _update,
    "chat.getPermalink": _permalink,
    "conversations.history": _history,
    "conversations.replies": _replies,
}


def app(ws: Workspace) -> Starlette:
    async def api(request: Request) -> Response:
        if ws.down():  # as Slack's edge answers in an outage; warroom retries it
            return PlainTextResponse("<html>503 Service Unavailable</html>", status_code=503)
        if request.headers.get("authorization") != f"Bearer {ws.token}":
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        raw = await request.body()
        try:
            if request.headers.get("content-type", "").startswith("application/json"):
                args = json.loads(raw or b"{}")
            else:
                form = parse_qs(raw.decode(), keep_blank_values=True)
                args = {k: v[-1] for k, v in form.items()}
            for key in ("blocks", "metadata"):  # form bodies carry them as JSON text
                if isinstance(args.get(key), str):
                    args[key] = json.loads(args[key])
        except ValueError:
            return JSONResponse({"ok": False, "error": "invalid_form_data"})
        try:
            return JSONResponse(ws.call(request.path_params["method"], args))
        except SlackError as exc:
            return JSONResponse({"ok": False, "error": str(exc)})

    async def page(request: Request) -> Response:
        return HTMLResponse(render(ws))

    async def outage(request: Request) -> Response:
        """The page's buttons: Slack down for a while, or back now."""
        try:
            seconds = min(max(float(request.query_params.get("seconds", "60")), 0.0), 3600.0)
        except ValueError:
            return PlainTextResponse("seconds: a number", status_code=400)
        ws.down_until = time.monotonic() + seconds
        print(f"down for {seconds:g} s" if seconds else "back up", flush=True)
        return RedirectResponse("/", status_code=303)

    return Starlette(
        routes=[
            Route("/api/{method}", api, methods=["POST"]),
            Route("/", page, methods=["GET"]),
            Route("/outage", outage, methods=["POST"]),
        ]
    )


def render(ws: Workspace) -> str:
    """What arrived, newest thread first; every text escaped (it came from an incident)."""
    with ws.lock:
        chunks = []
        for cid, messages in ws.messages.items():
            chunks.append(f"<h2>#{html.escape(ws.names[cid])}</h2>")
            roots = [m for m in messages if m.get("thread_ts", m["ts"]) == m["ts"]]
            for root in reversed(roots):
                replies = [m for m in messages if m.get("thread_ts") == root["ts"] and m != root]
                chunks.append(f"<div class=thread>{_message(root)}")
                chunks.extend(f"<div class=reply>{_message(m)}</div>" for m in replies)
                chunks.append("</div>")
            if not roots:
                chunks.append("<p>Nothing yet: post an update in warroom (u, ctrl+s, Enter).</p>")
    style = (
        "body{font-family:sans-serif;background:#1a1d21;color:#d1d2d3;max-width:60em;margin:auto}"
        ".thread{border-left:3px solid #611f69;margin:1em 0;padding:.5em 1em}"
        ".reply{margin:.5em 0 .5em 2em;border-left:2px solid #444;padding-left:1em}"
        "pre{white-space:pre-wrap;margin:.2em 0}.meta{color:#888;font-size:80%}"
        ".down{color:#fff;background:#d70000;padding:.5em}"
    )
    return (
        "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=3>"
        f"<title>Demo Slack</title><style>{style}</style>"
        "<h1>Demo Slack: what warroom delivered</h1>" + _outage(ws) + "".join(chunks)
    )


def _outage(ws: Workspace) -> str:
    """Buttons to take this Slack down (the console shows `retrying`) and bring it back."""
    if ws.down():
        left = ws.down_until - time.monotonic()
        return (
            f"<p class=down>Down: every API call answers 503 for {left:.0f} s more."
            "<form method=post action='/outage?seconds=0'><button>Bring it back</button></form>"
        )
    return (
        "<form method=post action='/outage?seconds=60'>"
        "<button>Take Slack down for 60 s</button></form>"
    )


def _message(m: Message) -> str:
    at = time.strftime("%H:%M:%S", time.localtime(float(m["ts"])))
    notes = " · edited" if "edited" in m else ""
    notes += " · also sent to the channel" if m.get("subtype") == "thread_broadcast" else ""
    return f"<div class=meta>warroom · {at}{notes}</div><pre>{html.escape(_read(m))}</pre>"


def _read(m: Message) -> str:
    """The text as a Slack client shows it: Slack's three escapes undone (then the page
    escapes it again for HTML)."""
    text = str(m.get("text") or "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--channel", default="C0DEMO0001", help="the channel's ID")
    parser.add_argument("--name", default="incidents", help="the channel's name")
    parser.add_argument("--state", type=Path, help="a JSON file that keeps the messages")
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise SystemExit(f"demo_slack: set {TOKEN_ENV} to the bot token it accepts")
    ws = Workspace(token, {args.channel: args.name}, args.state)
    print(f"demo Slack on http://127.0.0.1:{args.port}/ (#{args.name})", flush=True)
    uvicorn.run(app(ws), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
