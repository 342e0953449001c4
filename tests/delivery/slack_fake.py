"""A local Slack Web API for the tests: a real HTTP server on 127.0.0.1 (Starlette + uvicorn
on a thread) that answers the methods warroom calls the way Slack does.

It speaks `auth.test`, `chat.postMessage`, `chat.update`, `chat.getPermalink`,
`conversations.create`, `.history`, `.replies`, `.list`, `.join` and `.invite`, with the
response shapes of Slack's method reference (`{"ok": true, ...}`, `{"ok": false, "error":
...}` with HTTP 200, 429 with Retry-After). It checks the bearer token, validates blocks with
slack_sdk's models (`invalid_blocks` otherwise), keeps channels and messages (ts, thread_ts,
reply_broadcast, metadata, edits), and pages history with cursors.

Every request is also checked against the documented contract of its method (`ARGS`: the
arguments Slack's reference lists; required ones; JSON or form bodies; and warroom's own
rules: no `link_names`, no `parse`). Anything off is recorded in `violations`, which the
tests' fixture asserts empty.

Faults, queued per method: `fail(method, Fault.http(500))`, `Fault.http(429, after=7)`,
`Fault.error("channel_not_found")`, `Fault.hang()` (until `release()` or stop), and
`Fault.after_commit(...)`: the request takes effect, then the answer is the fault (the
"outcome unknown" case).
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from slack_sdk.models.blocks import Block
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

TEAM_URL = "https://warroom-test.slack.com/"
BOT_USER = "U0WARBOT1"
BOT_ID = "B0WARBOT1"
APP_ID = "A0WARROOM"

_COMMON = {"token"}
ARGS: dict[str, tuple[set[str], set[str]]] = {
    # method: (required, optional) as Slack's method reference lists them
    "auth.test": (set(), set()),
    "chat.postMessage": (
        {"channel"},
        {
            "as_user",
            "attachments",
            "blocks",
            "current_draft_last_updated_ts",
            "icon_emoji",
            "icon_url",
            "link_names",
            "markdown_text",
            "metadata",
            "mrkdwn",
            "parse",
            "reply_broadcast",
            "text",
            "thread_ts",
            "unfurl_links",
            "unfurl_media",
            "username",
        },
    ),
    "chat.update": (
        {"channel", "ts"},
        {
            "as_user",
            "attachments",
            "blocks",
            "file_ids",
            "link_names",
            "markdown_text",
            "metadata",
            "parse",
            "reply_broadcast",
            "text",
            "unfurled_attachments",
        },
    ),
    "chat.getPermalink": ({"channel", "message_ts"}, set()),
    "conversations.create": ({"name"}, {"is_private", "team_id"}),
    "conversations.history": (
        {"channel"},
        {"cursor", "include_all_metadata", "inclusive", "latest", "limit", "oldest"},
    ),
    "conversations.replies": (
        {"channel", "ts"},
        {"cursor", "include_all_metadata", "inclusive", "latest", "limit", "oldest"},
    ),
    "conversations.list": (set(), {"cursor", "exclude_archived", "limit", "team_id", "types"}),
    "conversations.join": ({"channel"}, set()),
    "conversations.invite": ({"channel", "users"}, {"force"}),
}
JSON_METHODS = {"chat.postMessage", "chat.update"}
FORBIDDEN = {"link_names", "parse"}
"""warroom never lets Slack find mentions or links in its text by itself."""


@dataclass
class Fault:
    kind: str
    status: int = 200
    code: str = ""
    after: float | None = None
    then: Fault | None = None

    @staticmethod
    def http(status: int, after: float | None = None) -> Fault:
        return Fault("http", status=status, after=after)

    @staticmethod
    def error(code: str) -> Fault:
        return Fault("error", code=code)

    @staticmethod
    def hang() -> Fault:
        return Fault("hang")

    @staticmethod
    def after_commit(then: Fault) -> Fault:
        return Fault("commit", then=then)


@dataclass
class Call:
    """A request as received: method, the parsed arguments, the raw body, the answer."""

    method: str
    args: dict[str, Any]
    body: str
    content_type: str
    authorization: str
    answer: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    at: float = field(default_factory=time.time)
    """When it arrived (benchmarks measure up to here)."""


class SlackError(Exception):
    def __init__(self, code: str, status: int = 200) -> None:
        self.code = code
        self.status = status


class SlackFake:
    def __init__(self, token: str = "xoxb-fake-0123456789-secret") -> None:
        self.token = token
        self.lock = threading.Lock()
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.faults: dict[str, list[Fault]] = {}
        self.unknown_users: set[str] = set()
        self._released = threading.Event()
        self._seq = 0
        self._last_sec = 0
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        app = Starlette(routes=[Route("/api/{method}", self._endpoint, methods=["POST"])])
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", ws="none")
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> SlackFake:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Slack fake did not start")
            time.sleep(0.01)  # polling the server's readiness flag, with a deadline
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()

    def release(self) -> None:
        """Let hung requests finish (they answer 500, as a load balancer that gave up)."""
        self._released.set()

    # -- setting the scene -------------------------------------------------------------

    def add_channel(
        self, name: str, *, member: bool = True, private: bool = False, archived: bool = False
    ) -> str:
        with self.lock:
            channel_id = f"C{len(self.channels) + 1:08d}"
            self.channels[channel_id] = _channel(channel_id, name, member, private, archived)
            self.messages[channel_id] = []
            return channel_id

    def fail(self, method: str, *faults: Fault) -> None:
        with self.lock:
            self.faults.setdefault(method, []).extend(faults)

    # -- reading the record ------------------------------------------------------------

    def posted(self, channel: str) -> list[dict[str, Any]]:
        """Every message in a channel (roots and replies), oldest first."""
        with self.lock:
            return [dict(m) for m in self.messages.get(channel, [])]

    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    # -- the server --------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        method = request.path_params["method"]
        raw = (await request.body()).decode("utf-8")
        content_type = request.headers.get("content-type", "")
        call = Call(method, {}, raw, content_type, request.headers.get("authorization", ""))
        with self.lock:
            self.calls.append(call)
            fault = self.faults.get(method, []).pop(0) if self.faults.get(method) else None
        try:
            call.args = self._parse(call)
        except ValueError as exc:
            self._violation(f"{method}: {exc}")
            return self._answer(call, {"ok": False, "error": "invalid_form_data"})
        if fault is not None and fault.kind != "commit":
            return await self._fault(call, fault)
        try:
            with self.lock:
                self._authorize(call)
                self._check(call)
                answer = self._dispatch(call)
        except SlackError as exc:
            answer = {"ok": False, "error": exc.code}
        if fault is not None and fault.then is not None:
            return await self._fault(call, fault.then)
        return self._answer(call, answer)

    async def _fault(self, call: Call, fault: Fault) -> Response:
        if fault.kind == "hang":
            await asyncio.to_thread(self._released.wait, 30)
            call.status = 500
            return PlainTextResponse("upstream gave up", status_code=500)
        if fault.kind == "error":
            return self._answer(call, {"ok": False, "error": fault.code})
        headers = {"Retry-After": f"{fault.after:g}"} if fault.after is not None else {}
        call.status = fault.status
        if fault.status == 429:
            call.answer = {"ok": False, "error": "ratelimited"}
            return JSONResponse(call.answer, status_code=429, headers=headers)
        return PlainTextResponse("<html>Internal Server Error</html>", fault.status, headers)

    def _answer(self, call: Call, answer: dict[str, Any]) -> Response:
        call.answer = answer
        return JSONResponse(answer)

    def _violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)

    def _parse(self, call: Call) -> dict[str, Any]:
        if call.method in JSON_METHODS:
            if not call.content_type.startswith("application/json"):
                raise ValueError(f"expected a JSON body, got {call.content_type!r}")
            data = json.loads(call.body)
            if not isinstance(data, dict):
                raise ValueError("the JSON body is not an object")
            return data
        if call.body and not call.content_type.startswith("application/x-www-form-urlencoded"):
            raise ValueError(f"expected a form body, got {call.content_type!r}")
        return {k: v[-1] for k, v in parse_qs(call.body, keep_blank_values=True).items()}

    def _authorize(self, call: Call) -> None:
        if not call.authorization:
            raise SlackError("not_authed")
        if call.authorization != f"Bearer {self.token}":
            raise SlackError("invalid_auth")

    def _check(self, call: Call) -> None:
        """The request against the method's documented arguments and warroom's rules."""
        if call.method not in ARGS:
            self.violations.append(f"{call.method}: a method this fake does not know")
            raise SlackError("unknown_method")
        required, optional = ARGS[call.method]
        known = required | optional | _COMMON
        for name in sorted(set(call.args) - known):
            self.violations.append(f"{call.method}: undocumented argument {name!r}")
        for name in sorted(required - set(call.args)):
            self.violations.append(f"{call.method}: missing required argument {name!r}")
        for name in sorted(FORBIDDEN & set(call.args)):
            self.violations.append(f"{call.method}: warroom must not send {name!r}")
        if "token" in call.args:
            self.violations.append(f"{call.method}: token sent in the body, not the header")
        if call.method in JSON_METHODS:
            for name in ("reply_broadcast", "unfurl_links", "unfurl_media"):
                if name in call.args and not isinstance(call.args[name], bool):
                    self.violations.append(f"{call.method}: {name} is not a boolean")
            if not (call.args.get("text") or "").strip():
                self.violations.append(f"{call.method}: no fallback text")

    # -- methods -----------------------------------------------------------------------

    def _dispatch(self, call: Call) -> dict[str, Any]:
        handler = getattr(self, "_" + call.method.replace(".", "_"))
        result: dict[str, Any] = handler(call.args)
        return result

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": TEAM_URL,
            "team": "Warroom Test",
            "user": "warroom",
            "team_id": "T0WARROOM",
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
        }

    def _channel_for(self, ref: str, *, member: bool = True) -> dict[str, Any]:
        channel = self.channels.get(ref) or next(
            (c for c in self.channels.values() if "#" + c["name"] == ref), None
        )
        if channel is None:
            raise SlackError("channel_not_found")
        if channel["is_private"] and not channel["is_member"]:
            raise SlackError("channel_not_found")
        if member and not channel["is_member"]:
            raise SlackError("not_in_channel")
        return channel

    def _next_ts(self) -> str:
        now = int(time.time())
        if now > self._last_sec:
            self._last_sec, self._seq = now, 0
        self._seq += 1
        return f"{self._last_sec}.{self._seq:06d}"

    def _blocks(self, method: str, blocks: Any) -> list[dict[str, Any]] | None:
        if blocks is None:
            return None
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not isinstance(blocks, list) or len(blocks) > 50:
            self.violations.append(f"{method}: blocks is not a list of at most 50")
            raise SlackError("invalid_blocks")
        for raw in blocks:
            try:
                block = Block.parse(raw)
                if block is None or block.to_dict() != raw:
                    raise ValueError(f"not a known block: {raw!r:.200}")
                block.validate_json()
            except Exception as exc:
                self.violations.append(f"{method}: invalid block: {exc}")
                raise SlackError("invalid_blocks") from None
        return blocks

    def _metadata(self, method: str, meta: Any) -> dict[str, Any] | None:
        if meta is None:
            return None
        if isinstance(meta, str):
            meta = json.loads(meta)
        if (
            not isinstance(meta, dict)
            or not isinstance(meta.get("event_type"), str)
            or not isinstance(meta.get("event_payload"), dict)
        ):
            self.violations.append(f"{method}: metadata needs event_type and event_payload")
            raise SlackError("invalid_metadata_format")
        return meta

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_for(str(args["channel"]))
        if channel["is_archived"]:
            raise SlackError("is_archived")
        blocks = self._blocks("chat.postMessage", args.get("blocks"))
        text = args.get("text") or ""
        if not text and not blocks:
            raise SlackError("no_text")
        if len(text) > 40_000:
            raise SlackError("msg_too_long")
        meta = self._metadata("chat.postMessage", args.get("metadata"))
        messages = self.messages[channel["id"]]
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": text,
            "ts": ts,
        }
        if blocks is not None:
            message["blocks"] = blocks
        if meta is not None:
            message["metadata"] = meta
        thread_ts = args.get("thread_ts")
        if thread_ts is not None:
            parent = next((m for m in messages if m["ts"] == thread_ts), None)
            if parent is None or parent.get("thread_ts", parent["ts"]) != parent["ts"]:
                self.violations.append(f"chat.postMessage: thread_ts {thread_ts} is no root")
                raise SlackError("thread_not_found")
            message["thread_ts"] = thread_ts
            message["parent_user_id"] = parent["user"]
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["latest_reply"] = ts
            if args.get("reply_broadcast"):
                message["subtype"] = "thread_broadcast"
        elif args.get("reply_broadcast"):
            self.violations.append("chat.postMessage: reply_broadcast without thread_ts")
        messages.append(message)
        shown = {k: v for k, v in message.items() if k != "metadata"}
        return {"ok": True, "channel": channel["id"], "ts": ts, "message": shown}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_for(str(args["channel"]))
        message = next((m for m in self.messages[channel["id"]] if m["ts"] == args["ts"]), None)
        if message is None:
            raise SlackError("message_not_found")
        if message.get("bot_id") != BOT_ID:
            raise SlackError("cant_update_message")
        blocks = self._blocks("chat.update", args.get("blocks"))
        if "text" in args:
            message["text"] = args["text"]
        if blocks is not None:
            message["blocks"] = blocks
        if "metadata" in args:
            message["metadata"] = self._metadata("chat.update", args["metadata"])
        message["edited"] = {"user": BOT_USER, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel["id"],
            "ts": message["ts"],
            "text": message["text"],
            "message": {"text": message["text"], "user": BOT_USER},
        }

    def _chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_for(str(args["channel"]), member=False)
        ts = str(args["message_ts"])
        if not any(m["ts"] == ts for m in self.messages[channel["id"]]):
            raise SlackError("message_not_found")
        link = f"{TEAM_URL}archives/{channel['id']}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel["id"], "permalink": link}

    def _conversations_create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args["name"])
        if not name:
            raise SlackError("invalid_name_required")
        if len(name) > 80:
            raise SlackError("invalid_name_maxlength")
        if any(not (ch.islower() or ch.isdigit() or ch in "-_") for ch in name):
            self.violations.append(f"conversations.create: invalid channel name {name!r}")
            raise SlackError("invalid_name_specials")
        if any(c["name"] == name for c in self.channels.values()):
            raise SlackError("name_taken")
        private = args.get("is_private") in ("1", "true", True)
        channel_id = f"C{len(self.channels) + 1:08d}"
        self.channels[channel_id] = _channel(channel_id, name, True, private, False)
        self.messages[channel_id] = []
        return {"ok": True, "channel": _public(self.channels[channel_id])}

    def _page(
        self, items: list[Any], args: dict[str, Any], key: str, default: int
    ) -> dict[str, Any]:
        limit = int(args.get("limit") or default)
        start = int(base64.b64decode(args["cursor"]).decode()) if args.get("cursor") else 0
        page = items[start : start + limit]
        more = start + limit < len(items)
        cursor = base64.b64encode(str(start + limit).encode()).decode() if more else ""
        return {
            "ok": True,
            key: page,
            "has_more": more,
            "response_metadata": {"next_cursor": cursor},
        }

    def _shown(self, message: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        if args.get("include_all_metadata") in ("1", "true"):
            return dict(message)
        return {k: v for k, v in message.items() if k != "metadata"}

    def _window(self, messages: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
        inclusive = args.get("inclusive") in ("1", "true")
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or 1e12)

        def inside(m: dict[str, Any]) -> bool:
            ts = float(m["ts"])
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        return [m for m in messages if inside(m)]

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_for(str(args["channel"]))
        top = [
            m
            for m in self.messages[channel["id"]]
            if "thread_ts" not in m
            or m["thread_ts"] == m["ts"]
            or m.get("subtype") == "thread_broadcast"
        ]
        newest_first = [self._shown(m, args) for m in reversed(self._window(top, args))]
        answer = self._page(newest_first, args, "messages", 100)
        answer["pin_count"] = 0
        return answer

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_for(str(args["channel"]))
        messages = self.messages[channel["id"]]
        parent = next((m for m in messages if m["ts"] == args["ts"]), None)
        if parent is None:
            raise SlackError("thread_not_found")
        root = parent.get("thread_ts", parent["ts"])
        thread = [m for m in messages if m["ts"] == root or m.get("thread_ts") == root]
        head, rest = thread[:1], self._window(thread[1:], args)
        return self._page([self._shown(m, args) for m in head + rest], args, "messages", 1000)

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        types = set(str(args.get("types") or "public_channel").split(","))
        skip_archived = args.get("exclude_archived") in ("1", "true")
        seen = []
        for channel in self.channels.values():
            kind = "private_channel" if channel["is_private"] else "public_channel"
            if kind not in types or (skip_archived and channel["is_archived"]):
                continue
            if channel["is_private"] and not channel["is_member"]:
                continue
            seen.append(_public(channel))
        return self._page(seen, args, "channels", 100)

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_for(str(args["channel"]), member=False)
        if channel["is_archived"]:
            raise SlackError("is_archived")
        answer: dict[str, Any] = {"ok": True, "channel": _public(channel)}
        if channel["is_member"]:
            answer["warning"] = "already_in_channel"
            answer["response_metadata"] = {"warnings": ["already_in_channel"]}
        channel["is_member"] = True
        answer["channel"]["is_member"] = True
        return answer

    def _conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_for(str(args["channel"]))
        users = [u for u in str(args["users"]).split(",") if u]
        if not users or len(users) > 100:
            raise SlackError("no_user")
        for user in users:
            if user in self.unknown_users:
                raise SlackError("user_not_found")
            if user in channel["members"]:
                raise SlackError("already_in_channel")
        channel["members"].extend(users)
        return {"ok": True, "channel": _public(channel)}


def _public(channel: dict[str, Any]) -> dict[str, Any]:
    """A channel object as Slack shows it (its member list is another method's)."""
    return {k: v for k, v in channel.items() if k != "members"}


def _channel(
    channel_id: str, name: str, member: bool, private: bool, archived: bool
) -> dict[str, Any]:
    return {
        "id": channel_id,
        "name": name,
        "name_normalized": name,
        "is_channel": True,
        "is_group": False,
        "is_im": False,
        "is_private": private,
        "is_archived": archived,
        "is_general": False,
        "is_member": member,
        "created": int(time.time()),
        "creator": BOT_USER,
        "members": [],
    }
