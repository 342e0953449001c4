"""Slack: an incident's thread in a channel, through the official `slack_sdk` WebClient.

The first delivery of an incident on a channel (the initial announcement, or `declared`)
is posted in the configured channel (or in the incident's own channel, `create_channel`)
and becomes the thread's root; later ones are replies in that thread (`thread_ts` from the
root's `Delivered`), and severity changes and the resolution are also broadcast to the
channel. Before each reply the root is rewritten in place (`chat.update`) with the current
title, severity, status, Incident Commander and next update time, so the channel's own
history always shows where the incident stands. Text rules: `warroom.delivery.slack_format`.

Never twice: every message carries the event id as message metadata (`warroom_delivery`).
When an attempt's outcome is unknown (timeout, dropped connection, a 5xx, Slack's
`fatal_error`) the next attempt first looks for it (`find`: `conversations.history` for a
root, `conversations.replies` in the thread), and so does the engine after a crash.

Errors: a 429 (or `ratelimited`) retries after Retry-After; 5xx, timeouts, dropped
connections and Slack's transient errors retry; every other refusal (`channel_not_found`,
`not_in_channel`, `invalid_auth`, `missing_scope`, `invalid_blocks`...) is permanent, with a
hint of what to fix. slack_sdk's own retries are off: the engine decides when to try again.
The token lives in the WebClient's Authorization header only: never in a `Request` (dry
run), a reason or a log line.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.error
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator

from warroom.core.events import Event
from warroom.core.export.markdown import channel_name
from warroom.core.outbound import outbound
from warroom.core.policy import DEFAULT_POLICY, Policy
from warroom.core.text import one_line
from warroom.delivery import slack_format as fmt
from warroom.delivery.channel import (
    REDACTED,
    Channel,
    Delivered,
    DeliveryError,
    Lifecycle,
    Outgoing,
    Request,
)
from warroom.delivery.common import (
    Audience,
    ChannelConfig,
    EnvName,
    Seconds,
    one_secret,
    secret,
)

log = logging.getLogger(__name__)

ChannelId = Annotated[str, Field(pattern=r"^[CGD][A-Z0-9]{2,}$")]
UserId = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]

RETRYABLE = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "message_limit_exceeded",
        "request_timeout",
        "service_unavailable",
        "fatal_error",
        "internal_error",
        "team_added_to_org",
        "org_login_required",
    }
)
"""Slack errors (`ok: false`) worth trying again: rate limits and Slack's own trouble (its
method references: "temporarily unavailable", "transient issue on our end", workspace
migration in progress). Every other error code is a refusal that repeats until fixed."""

MAYBE_DONE = frozenset({"fatal_error", "internal_error", "request_timeout"})
"""Errors after which Slack says "some aspect of the operation" may have succeeded."""

_HINTS = {
    "channel_not_found": "no such channel, or the app cannot see it (check `channel`)",
    "not_in_channel": "the app is not in the channel: /invite it there",
    "is_archived": "the channel is archived",
    "invalid_auth": "the token was refused (check token/token_env)",
    "not_authed": "no token was sent (check token/token_env)",
    "token_revoked": "the token was revoked",
    "token_expired": "the token expired",
    "account_inactive": "the token's app or user was deactivated",
    "missing_scope": "the token lacks a scope (chat:write; channels:history and "
    "groups:history to check past deliveries; channels:manage to create channels)",
    "no_permission": "the token may not do this here",
    "restricted_action": "a workspace setting forbids this",
    "name_taken": "a channel with that name exists",
}

HISTORY_MARGIN = timedelta(minutes=10)
"""How far before the event's own stamp `find` looks (clocks of devices and Slack differ)."""
HISTORY_PAGES = 20
HISTORY_PAGE = 200


class SlackConfig(ChannelConfig):
    """`[channels.NAME]` with `kind = "slack"`."""

    kind: Literal["slack"] = "slack"
    channel: ChannelId | None = None
    """The channel's ID (C0123ABCD; in Slack: channel details, at the bottom). Required
    unless `create_channel`. An ID, not a name: history lookups need it."""
    token: SecretStr | None = None
    token_env: EnvName | None = None
    api_url: AnyHttpUrl = AnyHttpUrl("https://slack.com/api/")
    audiences: list[Audience] = ["internal"]
    on: list[Lifecycle] = ["declared", "severity", "status", "resolved"]
    create_channel: bool = False
    """Create the incident's own channel (#incident-YYYY-MM-DD-slug) and post there."""
    private: bool = False
    """The created channel is private."""
    invite: list[UserId] = []
    """Users (U0123ABCD) invited into a created channel."""
    timezone: str = "UTC"
    """The zone of the date in a created channel's name."""
    timeout: Seconds = 10.0
    pace: Annotated[float, Field(ge=0, le=60)] = 1.0
    """Seconds between two messages: Slack allows about one per second per channel."""

    @field_validator("channel", mode="before")
    @classmethod
    def _channel_id(cls, value: object) -> object:
        if isinstance(value, str) and (value.startswith("#") or not value.isupper()):
            raise ValueError(
                "use the channel's ID (like C0123ABCD, shown in the channel's details), "
                "not its name"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _complete(self) -> SlackConfig:
        one_secret(self.token, self.token_env, "token", required=True)
        if self.channel is None and not self.create_channel:
            raise ValueError("channel is required (or create_channel = true)")
        return self


CONFIG = SlackConfig


@dataclass(frozen=True)
class _Call:
    """One Web API call: JSON body for chat.* (as slack_sdk sends them), else a form."""

    method: str
    args: dict[str, Any]

    @property
    def json_body(self) -> bool:
        return self.method.startswith("chat.") and self.method != "chat.getPermalink"

    def body(self) -> str:
        if self.json_body:
            return json.dumps(self.args)
        return urlencode({k: _form(v) for k, v in self.args.items()})


def _form(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


class _Failed(DeliveryError):
    """A DeliveryError that also says whether the request may have taken effect."""

    def __init__(self, reason: str, *, retry: bool, after: float | None, maybe_done: bool):
        super().__init__(reason, retry=retry, after=after)
        self.maybe_done = maybe_done
        self.code = ""


class SlackChannel(Channel):
    kind = "slack"

    def __init__(
        self,
        name: str,
        config: SlackConfig,
        *,
        policy: Policy = DEFAULT_POLICY,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(
            name, audiences=frozenset(config.audiences), on=frozenset(config.on), pace=config.pace
        )
        self.config = config
        self.policy = policy
        self.now = now
        self.api_url = str(config.api_url).rstrip("/") + "/"
        self._client: Any = None
        self._lock = threading.Lock()
        self._unknown: set[str] = set()
        """Events whose last attempt may have posted: looked for before posting again."""
        self._last_error = ""

    # -- the contract ------------------------------------------------------------------

    def requests(self, out: Outgoing) -> list[Request]:
        """The calls that change Slack, as slack_sdk sends them. With `create_channel` the
        new channel's id is not known yet: the post shows `(the id of #incident-...)`. Lookups
        (permalinks; a taken name's `conversations.list`, `.join`, `.invite`) are left out."""
        headers = {
            "Authorization": f"Bearer {REDACTED}",
            "Content-Type": "application/json;charset=utf-8",
        }
        form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        return [
            Request(
                "POST", self.api_url + call.method, headers if call.json_body else form, call.body()
            )
            for call in self._plan(out)
        ]

    def send(self, out: Outgoing) -> Delivered:
        try:
            return self._send(out)
        except DeliveryError as exc:
            self._last_error = exc.reason
            raise

    def find(self, out: Outgoing) -> Delivered | None:
        root = out.previous[0] if out.previous else None
        oldest = out.event.time - HISTORY_MARGIN
        if root is not None:
            channel = root.extra.get("channel") or self.config.channel or ""
            pages = self._pages(
                "conversations.replies",
                {"channel": channel, "ts": root.ref, "include_all_metadata": True},
                oldest,
            )
        else:
            if self.config.create_channel:
                found = self._existing_incident_channel(out)
            else:
                found = self.config.channel
            if found is None:
                return None
            channel = found
            pages = self._pages(
                "conversations.history",
                {"channel": channel, "include_all_metadata": True},
                oldest,
            )
        for messages in pages:
            for message in messages:
                if _is_delivery_of(message, out.event):
                    return self._delivered(out, channel, str(message["ts"]), root)
        return None

    def test(self) -> Delivered:
        who = self._call(_Call("auth.test", {}))
        if self.config.channel is None:
            return Delivered("test", ref=str(who.get("user_id", "")), extra={"auth": "ok"})
        text = fmt.data(f"warroom: a test message from channel {self.name}")
        posted = self._call(
            _Call(
                "chat.postMessage",
                {
                    "channel": self.config.channel,
                    "text": text,
                    "metadata": {
                        "event_type": "warroom_test",
                        "event_payload": {"channel": self.name},
                    },
                },
            )
        )
        channel, ts = str(posted.get("channel", "")), str(posted.get("ts", ""))
        return Delivered(
            "test", ref=ts, permalink=self._permalink(channel, ts), extra={"channel": channel}
        )

    def health(self) -> str:
        if self.config.token is None and self.config.token_env:
            try:
                secret(self.name, None, self.config.token_env, "token")
            except DeliveryError as exc:
                return exc.reason
        return f"last failure: {self._last_error}" if self._last_error else "configured"

    # -- what to send ------------------------------------------------------------------

    def _plan(self, out: Outgoing) -> list[_Call]:
        """The calls `send` makes for `out`, in order (the dry run shows these)."""
        root = out.previous[0] if out.previous else None
        calls: list[_Call] = []
        if root is None:
            channel = self.config.channel or ""
            if self.config.create_channel:
                name = self._incident_channel_name(out)
                calls.append(
                    _Call("conversations.create", {"name": name, "is_private": self.config.private})
                )
                channel = f"(the id of #{name})"
            calls.append(self._root_post(out, channel))
            return calls
        channel = root.extra.get("channel") or self.config.channel or ""
        update = self._root_update(out, root, channel)
        if update is not None:
            calls.append(update)
        calls.append(self._reply(out, root, channel))
        return calls

    def _root_post(self, out: Outgoing, channel: str) -> _Call:
        announcement = fmt.root_announcement(fmt.message_text(out.event, out.text))
        return _Call(
            "chat.postMessage",
            {
                "channel": channel,
                "text": fmt.fallback(announcement),
                "blocks": self._root_blocks(out, announcement),
                "metadata": fmt.metadata(out.event),
                "unfurl_links": False,
                "unfurl_media": False,
            },
        )

    def _root_blocks(self, out: Outgoing, announcement: str) -> list[dict[str, Any]]:
        card = fmt.card(out.incident, self.policy, self.now())
        return fmt.root_blocks(announcement, card, dict(out.links))

    def _root_update(self, out: Outgoing, root: Delivered, channel: str) -> _Call | None:
        announcement = root.extra.get("text")
        if announcement is None:
            return None  # a root delivered without its text: leave it as it is
        return _Call(
            "chat.update",
            {
                "channel": channel,
                "ts": root.ref,
                "text": fmt.fallback(announcement),
                "blocks": self._root_blocks(out, announcement),
            },
        )

    def _reply(self, out: Outgoing, root: Delivered, channel: str) -> _Call:
        body = fmt.message_text(out.event, out.text)
        args: dict[str, Any] = {
            "channel": channel,
            "thread_ts": root.ref,
            "text": fmt.fallback(body),
            "blocks": fmt.reply_blocks(body, fmt.context_line(out.event)),
            "metadata": fmt.metadata(out.event),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if fmt.broadcasts(out.event):
            args["reply_broadcast"] = True
        return _Call("chat.postMessage", args)

    def _incident_channel_name(self, out: Outgoing) -> str:
        name = channel_name(out.incident, ZoneInfo(self.config.timezone)).lstrip("#")
        return name[:80]

    # -- sending -----------------------------------------------------------------------

    def _send(self, out: Outgoing) -> Delivered:
        event_id = out.event.id
        with self._lock:
            unsure = event_id in self._unknown
        if unsure:
            found = self.find(out)
            with self._lock:
                self._unknown.discard(event_id)
            if found is not None:
                return found
        root = out.previous[0] if out.previous else None
        if root is None:
            channel = self.config.channel or ""
            if self.config.create_channel:
                channel = self._incident_channel(out)
            call = self._root_post(out, channel)
        else:
            channel = root.extra.get("channel") or self.config.channel or ""
            update = self._root_update(out, root, channel)
            if update is not None:
                self._update_root(update)
            call = self._reply(out, root, channel)
        try:
            posted = self._call(call)
        except _Failed as exc:
            if exc.maybe_done:
                with self._lock:
                    self._unknown.add(event_id)
            raise
        return self._delivered(out, str(posted.get("channel") or channel), str(posted["ts"]), root)

    def _delivered(self, out: Outgoing, channel: str, ts: str, root: Delivered | None) -> Delivered:
        extra = {"channel": channel}
        if root is None:
            extra["text"] = fmt.root_announcement(fmt.message_text(out.event, out.text))
        else:
            extra["thread_ts"] = root.ref
        return Delivered(out.event.id, ref=ts, permalink=self._permalink(channel, ts), extra=extra)

    def _update_root(self, call: _Call) -> None:
        """Rewrite the root; a root that cannot be edited any more does not stop the reply."""
        try:
            self._call(call)
        except _Failed as exc:
            if exc.retry:
                raise
            log.warning("channel %s: root message not updated: %s", self.name, exc.reason)

    def _permalink(self, channel: str, ts: str) -> str:
        """Best effort: the message is posted whatever this answers."""
        try:
            got = self._call(_Call("chat.getPermalink", {"channel": channel, "message_ts": ts}))
        except DeliveryError as exc:
            log.info("channel %s: no permalink for %s: %s", self.name, ts, exc.reason)
            return ""
        return str(got.get("permalink", ""))

    # -- the incident's own channel ----------------------------------------------------

    def _incident_channel(self, out: Outgoing) -> str:
        """Create #incident-YYYY-MM-DD-slug, or take the one that exists (a retry's, or one a
        person made first); an archived or hidden one of that name means `-2`, `-3`..."""
        base = self._incident_channel_name(out)
        for n in range(1, 10):
            name = base if n == 1 else f"{base[:77]}-{n}"
            try:
                made = self._call(
                    _Call("conversations.create", {"name": name, "is_private": self.config.private})
                )
            except _Failed as exc:
                if exc.code != "name_taken":
                    raise
                existing = self._lookup(name)
                if existing is None:
                    continue
                channel_id, member = existing
                if not member:
                    self._call(_Call("conversations.join", {"channel": channel_id}))
                self._invite(channel_id)
                return channel_id
            channel_id = str(made["channel"]["id"])
            self._invite(channel_id)
            return channel_id
        raise DeliveryError(f"slack: no free channel name for {base}", retry=False)

    def _existing_incident_channel(self, out: Outgoing) -> str | None:
        found = self._lookup(self._incident_channel_name(out))
        return found[0] if found else None

    def _lookup(self, name: str) -> tuple[str, bool] | None:
        """An unarchived channel of this name the app can see: (id, is the app a member)."""
        cursor = ""
        for _ in range(HISTORY_PAGES):
            args: dict[str, Any] = {
                "types": "public_channel,private_channel",
                "exclude_archived": True,
                "limit": 1000,
            }
            if cursor:
                args["cursor"] = cursor
            page = self._call(_Call("conversations.list", args))
            for channel in page.get("channels", []):
                if channel.get("name") == name:
                    return str(channel["id"]), bool(channel.get("is_member"))
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return None
        return None

    def _invite(self, channel_id: str) -> None:
        if not self.config.invite:
            return
        try:
            self._call(
                _Call(
                    "conversations.invite",
                    {"channel": channel_id, "users": ",".join(self.config.invite)},
                )
            )
        except _Failed as exc:
            if exc.retry:
                raise
            if exc.code != "already_in_channel":
                log.warning("channel %s: invite failed: %s", self.name, exc.reason)

    # -- history -----------------------------------------------------------------------

    def _pages(self, method: str, args: dict[str, Any], oldest: datetime) -> Iterator[list[Any]]:
        cursor = ""
        base = {**args, "oldest": f"{oldest.timestamp():.6f}", "limit": HISTORY_PAGE}
        for _ in range(HISTORY_PAGES):
            page = self._call(_Call(method, {**base, "cursor": cursor} if cursor else base))
            yield list(page.get("messages") or [])
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not page.get("has_more") or not cursor:
                return
        raise DeliveryError(
            f"slack {method}: more than {HISTORY_PAGES * HISTORY_PAGE} messages since the "
            "event: cannot tell whether it was posted; look in the channel, then retry",
            retry=False,
        )

    # -- the Web API -------------------------------------------------------------------

    def client(self) -> Any:
        """The WebClient (built on first use: the token is read then)."""
        with self._lock:
            if self._client is None:
                from slack_sdk import WebClient

                token = secret(self.name, self.config.token, self.config.token_env, "token")
                self._client = WebClient(
                    token=token,
                    base_url=self.api_url,
                    timeout=self.config.timeout,  # type: ignore[arg-type]
                    retry_handlers=[],
                    logger=logging.getLogger(f"{__name__}.sdk"),
                )
            return self._client

    def _call(self, call: _Call) -> dict[str, Any]:
        from slack_sdk.errors import SlackApiError, SlackClientError

        client = self.client()
        try:
            if call.json_body:
                response = client.api_call(call.method, json=call.args)
            else:
                response = client.api_call(call.method, params=call.args)
        except SlackApiError as exc:
            raise self._api_error(call.method, exc) from None
        except TimeoutError:
            raise _Failed(
                f"slack {call.method}: no answer within {self.config.timeout:g}s",
                retry=True,
                after=None,
                maybe_done=True,
            ) from None
        except urllib.error.URLError as exc:
            raise self._network_error(call.method, exc.reason) from None
        except (OSError, http.client.HTTPException, SlackClientError) as exc:
            raise self._network_error(call.method, exc) from None
        data = response.data
        return data if isinstance(data, dict) else {}

    def _network_error(self, method: str, reason: object) -> _Failed:
        if isinstance(reason, TimeoutError):
            return _Failed(
                f"slack {method}: no answer within {self.config.timeout:g}s",
                retry=True,
                after=None,
                maybe_done=True,
            )
        refused = isinstance(reason, ConnectionRefusedError)
        what = "connection refused" if refused else self._scrub(one_line(str(reason), 200))
        return _Failed(f"slack {method}: {what}", retry=True, after=None, maybe_done=not refused)

    def _api_error(self, method: str, exc: Any) -> _Failed:
        response = exc.response
        status = int(response.status_code)
        data = response.data if isinstance(response.data, dict) else {}
        code = str(data.get("error") or "")
        after = _retry_after(response.headers)
        if status == 429 or code in ("ratelimited", "rate_limited"):
            wait = f", retry after {after:g}s" if after is not None else ""
            failed = _Failed(
                f"slack {method}: rate limited (429){wait}",
                retry=True,
                after=after,
                maybe_done=False,
            )
        elif status >= 500:
            failed = _Failed(
                f"slack {method}: HTTP {status}", retry=True, after=after, maybe_done=True
            )
        elif status != 200:
            failed = _Failed(
                f"slack {method}: HTTP {status}", retry=False, after=None, maybe_done=False
            )
        else:
            safe = one_line(outbound(code), 80) or "ok: false"
            hint = _HINTS.get(code)
            reason = f"slack {method}: {safe}" + (f" ({hint})" if hint else "")
            failed = _Failed(
                self._scrub(reason),
                retry=code in RETRYABLE,
                after=after,
                maybe_done=code in MAYBE_DONE,
            )
        failed.code = code
        return failed

    def _scrub(self, text: str) -> str:
        token = self._client.token if self._client is not None else None
        return text.replace(token, REDACTED) if token else text


def _retry_after(headers: Any) -> float | None:
    value = None
    if headers:
        for key, item in dict(headers).items():
            if str(key).lower() == "retry-after":
                value = item[0] if isinstance(item, list) and item else item
    try:
        seconds = float(str(value).strip()) if value is not None else None
    except ValueError:
        return None
    if seconds is None or seconds != seconds or seconds < 0:
        return None
    return min(seconds, 3600.0)


def _is_delivery_of(message: Any, event: Event) -> bool:
    if not isinstance(message, dict):
        return False
    meta = message.get("metadata")
    if not isinstance(meta, dict) or meta.get("event_type") != fmt.EVENT_TYPE:
        return False
    payload = meta.get("event_payload")
    return isinstance(payload, dict) and payload.get("event_id") == event.id


def build(name: str, config: SlackConfig, *, policy: Policy | None = None) -> SlackChannel:
    """The registry's factory: a channel from its validated config (`policy`: the team's)."""
    return SlackChannel(name, config, policy=policy or DEFAULT_POLICY)


from_config = build
