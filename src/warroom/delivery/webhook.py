"""Signed webhooks: a JSON POST of the event and its message, for any receiver.

    [channels.ops-hook]
    kind = "webhook"
    url = "https://hooks.example.com/warroom"
    secret_env = "OPS_HOOK_SECRET"          # or secret = "..."

Each delivery is one request:

    POST <url>
    Content-Type: application/json
    Idempotency-Key: <event id>             the same on every retry of this delivery
    Warroom-Signature: t=<unix seconds>,v1=<hex>

The body follows `schemas/webhook-v1.json` (shipped with warroom). `v1` is the hex
HMAC-SHA256, keyed with the channel's secret, of the ASCII timestamp `t`, a dot, then the raw
body bytes. A receiver verifies it like `verify` below (copy it): recompute the HMAC over the
body exactly as received, compare in constant time, refuse timestamps more than five
minutes away (replays), then deduplicate on `Idempotency-Key`: a delivery whose answer was
lost is sent again with the same key.

It answers 2xx to take the delivery (a JSON body's `"id"` is kept as its reference), 429
with Retry-After to slow warroom down, 5xx to have it retried later; any other status
refuses it for good (shown in red; retried only on request). A webhook receiver cannot be
asked whether it got something, so `find` says "send again": the key makes that safe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import SecretStr

from warroom import __version__
from warroom.core.hlc import stamp_time
from warroom.core.ids import new_id
from warroom.core.text import one_line
from warroom.delivery.channel import (
    REDACTED,
    Channel,
    Delivered,
    DeliveryError,
    Lifecycle,
    Outgoing,
    Request,
)
from warroom.delivery.config import (
    ALL_AUDIENCES,
    ALL_LIFECYCLE,
    Audience,
    ChannelConfig,
    ChannelKind,
    EnvName,
    HttpEndpoint,
)

SCHEMA = "warroom.webhook.v1"
SIGNATURE_HEADER = "Warroom-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TOLERANCE = 300
"""Seconds a receiver accepts between the signature's timestamp and its own clock."""
MAX_ANSWER = 64 * 1024
"""Bytes of a receiver's answer that are read (an id, or an error to show)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `Warroom-Signature` header value for this body at this time."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    """A receiver's check (copy it): the signature is the secret's, over this very body,
    and recent. Compare before parsing the body; refuse what fails."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp, given = fields.get("t", ""), fields.get("v1", "")
    if not (stamp.isascii() and stamp.isdigit()) or not given:
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > TOLERANCE:
        return False
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(mac.hexdigest(), given)


class WebhookConfig(ChannelConfig):
    kind: Literal["webhook"]
    url: HttpEndpoint
    secret: SecretStr | None = None
    secret_env: EnvName | None = None
    audiences: tuple[Audience, ...] = ALL_AUDIENCES
    on: tuple[Lifecycle, ...] = ALL_LIFECYCLE


class WebhookChannel(Channel):
    kind: ClassVar[str] = "webhook"

    def __init__(
        self,
        name: str,
        *,
        url: str,
        secret: str,
        audiences: frozenset[str],
        on: frozenset[Lifecycle],
        pace: float = 0.0,
        timeout: float = 10.0,
        clock: Any = time.time,
    ) -> None:
        super().__init__(name, audiences=audiences, on=on, pace=pace)
        self.url = url
        self._secret = secret
        self.timeout = timeout
        self.clock = clock
        self._client: httpx.Client | None = None
        self._last = "configured"

    def __repr__(self) -> str:  # never the secret
        return f"WebhookChannel({self.name!r}, {_where(self.url)})"

    # -- the request ------------------------------------------------------------------------

    def body(self, out: Outgoing) -> bytes:
        """The JSON body for a delivery (schemas/webhook-v1.json)."""
        event, state = out.event, out.incident
        commander = state.holder("incident_commander")
        payload = {
            "schema": SCHEMA,
            "id": out.idempotency_key,
            "type": event.kind,
            "channel": self.name,
            "incident": {
                "id": state.incident_id,
                "title": state.title.value or "",
                "severity": state.current_severity,
                "status": state.current_status,
                "commander": commander.value if commander else None,
                "declared_at": _iso(state.declared_at),
                "links": dict(out.links),
            },
            "event": {
                "id": event.id,
                "kind": event.kind,
                "actor": event.actor,
                "at": _iso(stamp_time(event.hlc)),
                "payload": event.payload,
            },
            "message": {
                "text": out.text,
                "audience": event.payload.get("audience") if _is_update(event.kind) else None,
                "template": event.payload.get("template") if _is_update(event.kind) else None,
            },
        }
        return _dumps(payload)

    def _headers(self, key: str, body: bytes, *, redact: bool) -> dict[str, str]:
        signature = sign(self._secret, int(self.clock()), body)
        if redact:
            signature = signature.split(",v1=")[0] + f",v1={REDACTED}"
        return {
            "Content-Type": "application/json",
            "User-Agent": f"warroom/{__version__}",
            IDEMPOTENCY_HEADER: key,
            SIGNATURE_HEADER: signature,
        }

    def requests(self, out: Outgoing) -> list[Request]:
        body = self.body(out)
        headers = self._headers(out.idempotency_key, body, redact=True)
        return [Request("POST", redact_url(self.url), headers, body.decode())]

    # -- sending ----------------------------------------------------------------------------

    def send(self, out: Outgoing) -> Delivered:
        return self._post(out.idempotency_key, self.body(out))

    def find(self, out: Outgoing) -> Delivered | None:
        """A webhook receiver cannot be asked; sending again is safe, since the receiver
        deduplicates on the Idempotency-Key, which stays the same."""
        return None

    def test(self) -> Delivered:
        key = new_id()
        body = _dumps(
            {
                "schema": SCHEMA,
                "id": key,
                "type": "test",
                "channel": self.name,
                "incident": None,
                "event": None,
                "message": {
                    "text": f"Test message from warroom to the channel {self.name}.",
                    "audience": None,
                    "template": None,
                },
            }
        )
        return self._post(key, body)

    def health(self) -> str:
        return self._last

    def _post(self, key: str, body: bytes) -> Delivered:
        headers = self._headers(key, body, redact=False)
        where = _where(self.url)
        try:
            with self._http().stream("POST", self.url, content=body, headers=headers) as answer:
                data = _read(answer.iter_bytes(), MAX_ANSWER)
        except httpx.TimeoutException:
            raise self._failure(f"{where} did not answer within {self.timeout:g} s", True) from None
        except httpx.HTTPError as exc:
            raise self._failure(f"cannot reach {where} ({type(exc).__name__})", True) from None
        status = answer.status_code
        if 200 <= status < 300:
            self._last = f"sent {datetime.now(UTC):%H:%M:%S} UTC"
            return Delivered(key, _answer_id(data) or f"HTTP {status}")
        said = _said(data)
        reason = f"HTTP {status} from {where}" + (f": {said}" if said else "")
        if status == 429:
            after = retry_after(answer.headers.get("Retry-After"), self.clock())
            raise self._failure(reason, True, after)
        raise self._failure(reason, status >= 500 or status == 408)

    def _failure(self, reason: str, retry: bool, after: float | None = None) -> DeliveryError:
        self._last = f"{'failing' if retry else 'refused'}: {reason}"
        return DeliveryError(reason, retry=retry, after=after)

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _build(name: str, config: WebhookConfig) -> WebhookChannel:
    secret = config.resolve_secret("secret")
    assert secret is not None
    return WebhookChannel(
        name,
        url=config.url,
        secret=secret,
        timeout=config.timeout,
        **config.channel_args(),
    )


KIND = ChannelKind(config=WebhookConfig, build=_build)


# -- helpers ----------------------------------------------------------------------------------


def _is_update(kind: str) -> bool:
    return kind == "update_posted"


def _dumps(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _where(url: str) -> str:
    """The host (and port) of a URL: what errors name, never its path or query, which can
    hold a secret."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.host}{port}"


def redact_url(url: str) -> str:
    """A URL as a dry run shows it: any password and query values replaced."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:{REDACTED}@{host}"
    query = "&".join(
        f"{pair.split('=', 1)[0]}={REDACTED}" if pair else pair for pair in parts.query.split("&")
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query if parts.query else "", ""))


def _read(chunks: Iterator[bytes], limit: int) -> bytes:
    data = b""
    for chunk in chunks:
        data += chunk
        if len(data) >= limit:
            return data[:limit]
    return data


def _answer_id(data: bytes) -> str:
    try:
        parsed = json.loads(data)
    except ValueError:
        return ""
    found = parsed.get("id") if isinstance(parsed, dict) else None
    if isinstance(found, str | int) and not isinstance(found, bool):
        return one_line(str(found), 200)
    return ""


def _said(data: bytes) -> str:
    """What a receiver said when refusing, in one bounded line."""
    text = data.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        return one_line(text, 200)
    if isinstance(parsed, dict):
        for key in ("detail", "error", "message"):
            if isinstance(parsed.get(key), str):
                return one_line(parsed[key], 200)
    return one_line(text, 200)


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(min(int(value), 10**6))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
