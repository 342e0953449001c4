"""PagerDuty (`kind = "pagerduty"`): pages on-call through the Events API v2.

- Declaring an incident at a severity that pages (`severities`, 001's P0/P1 = SEV1/SEV2 by
  default) triggers an alert, and so does raising an open incident to one; an `escalated`
  event naming this channel (a level of the escalation ladder) triggers too. Every trigger
  carries `dedup_key` = the warroom incident id, the severity mapped (SEV1 critical, SEV2
  error, SEV3 warning, SEV4 info), a summary, the source, and links to the status page and
  the incident.
- Resolving the incident resolves the alert (same dedup key), when this channel triggered.
- Playbook actions (`action_taken`: rollout restart, undo, scale) go out as change events.

202 is success; 400 is permanent; 429 and 5xx are retried (Retry-After honoured).

`find` and idempotency: PagerDuty folds events with the same dedup_key into one alert, and
resolving a resolved alert changes nothing, so a trigger or resolve whose outcome is unknown
is safe to send again: `find` answers None ("send it") for them. Change events have no dedup
key and PagerDuty cannot be asked whether one arrived, so `find` raises a permanent
DeliveryError for them: never sent twice by itself; a person resends it if it is missing.

```toml
[channels.oncall]
kind = "pagerduty"
routing_key_env = "PAGERDUTY_ROUTING_KEY"   # or routing_key = "..."
# events_url = "https://events.pagerduty.com/v2"   severities = ["SEV1", "SEV2"]
# on = ["declared", "severity", "resolved"]        change_events = true
```
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from warroom.core.events import Event
from warroom.core.outbound import outbound
from warroom.delivery import remote
from warroom.delivery.channel import Channel, Delivered, DeliveryError, Lifecycle, Outgoing, Request
from warroom.delivery.common import one_secret, secret
from warroom.delivery.remote import SECRET, Call, OutcomeUnknown

EVENTS_URL = "https://events.pagerduty.com/v2"
SEVERITY = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "info"}
MAX_SUMMARY = 1024
MAX_DEDUP = 255
ON_ALLOWED = frozenset({"declared", "severity", "resolved"})


class PagerDutyConfig(BaseModel):
    """`[channels.NAME]` with `kind = "pagerduty"`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["pagerduty"]
    events_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2000)] = EVENTS_URL
    """The Events API v2 base (`.../v2`; a URL ending in `/enqueue` is taken too)."""
    routing_key: SecretStr | None = None
    routing_key_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    severities: tuple[Annotated[str, Field(pattern=r"^SEV[1-9]$")], ...] = ("SEV1", "SEV2")
    """Severities that page when declared (or raised to): the levels whose notification
    is "Page on-call" in the process documents."""
    audiences: tuple[str, ...] = ()
    on: tuple[Lifecycle, ...] = ("declared", "severity", "resolved")
    change_events: bool = True
    source: Annotated[str, Field(min_length=1, max_length=255)] = "warroom"
    pace: Annotated[float, Field(ge=0, le=60)] = 0.0
    timeout: Annotated[float, Field(gt=0, le=120)] = 10.0

    @field_validator("audiences")
    @classmethod
    def _audiences(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if value:
            raise ValueError("PagerDuty pages people; updates go to other channels (no audiences)")
        return value

    @field_validator("on")
    @classmethod
    def _on(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        refused = [v for v in value if v not in ON_ALLOWED]
        if refused:
            raise ValueError(f"{refused[0]!r} does not page: use {', '.join(sorted(ON_ALLOWED))}")
        return value

    @model_validator(mode="after")
    def _one_key(self) -> PagerDutyConfig:
        one_secret(self.routing_key, self.routing_key_env, "routing_key", required=True)
        return self


CONFIG = PagerDutyConfig


def build(name: str, config: PagerDutyConfig) -> PagerDutyChannel:
    """The channel for a validated config. The routing key is read when an event is sent (a
    dry run needs none); a missing variable fails that delivery, naming the variable."""
    return PagerDutyChannel(name, config)


class PagerDutyChannel(Channel):
    kind: ClassVar[str] = "pagerduty"

    def __init__(
        self,
        name: str,
        config: PagerDutyConfig,
        *,
        client: httpx.Client | None = None,
        pacer: remote.KeyPacer = remote.PACER,
    ) -> None:
        super().__init__(
            name, audiences=frozenset(config.audiences), on=frozenset(config.on), pace=config.pace
        )
        self.config = config
        base = config.events_url.rstrip("/").removesuffix("/enqueue")
        self._enqueue = f"{base}/enqueue"
        self._change = f"{base}/change/enqueue"
        self._client = client or httpx.Client(timeout=config.timeout, follow_redirects=False)
        self._pacer = pacer
        self._last_failure = ""

    # -- what to send -------------------------------------------------------------------------

    def wants(self, event: Event) -> bool:
        kind, payload = event.kind, event.payload
        if kind == "declared":
            return "declared" in self.on and payload.get("severity") in self.config.severities
        if kind == "severity_changed":
            return "severity" in self.on and payload.get("severity") in self.config.severities
        if kind == "status_changed":
            return "resolved" in self.on and payload.get("status") == "resolved"
        if kind == "escalated":
            return self.name in (payload.get("channels") or ())
        if kind == "action_taken":
            return self.config.change_events
        return False

    def requests(self, out: Outgoing) -> list[Request]:
        return [call.shown() for call in self._calls(out)]

    def _action(self, out: Outgoing) -> str:
        kind = out.event.kind
        if kind == "action_taken":
            return "change"
        if kind == "status_changed":
            return "resolve" if out.event.payload.get("status") == "resolved" else ""
        if kind in ("declared", "severity_changed", "escalated"):
            return "trigger"
        return ""

    def _calls(self, out: Outgoing) -> list[Call]:
        action = self._action(out)
        headers = {"Content-Type": "application/json"}
        if action == "change":
            return [Call("POST", self._change, headers, self._change_body(out))]
        if action == "resolve":
            if not any(d.extra.get("action") == "trigger" for d in out.previous):
                return []  # this channel never paged for the incident
            body = {"routing_key": SECRET, "event_action": "resolve", "dedup_key": _dedup(out)}
            return [Call("POST", self._enqueue, headers, body)]
        if action == "trigger":
            return [Call("POST", self._enqueue, headers, self._trigger_body(out))]
        return []

    def _trigger_body(self, out: Outgoing) -> dict[str, Any]:
        state, event = out.incident, out.event
        severity = str(event.payload.get("severity") or state.current_severity)
        title = state.title.value or str(event.payload.get("title") or "Incident")
        details: dict[str, Any] = {
            "incident_id": state.incident_id,
            "severity": severity,
            "status": state.current_status,
            "impact": state.impact.value or "",
            "event_id": event.id,
        }
        summary = f"[{severity}] {title}"
        if event.kind == "escalated":
            people = ", ".join(event.payload.get("people") or ()) or "next level"
            summary = f"[{severity}] L{event.payload.get('level')} ({people}): {title}"
            details |= {
                "level": event.payload.get("level"),
                "people": list(event.payload.get("people") or ()),
                "reason": event.payload.get("reason", ""),
            }
        payload: dict[str, Any] = {
            "summary": _cut(outbound(summary), MAX_SUMMARY),
            "source": self.config.source,
            "severity": SEVERITY.get(severity, "error"),
            "timestamp": event.time.astimezone(UTC).isoformat(timespec="milliseconds"),
            "custom_details": details,
        }
        components = state.components.value or []
        if components:
            payload["component"] = _cut(", ".join(components), 255)
        body: dict[str, Any] = {
            "routing_key": SECRET,
            "event_action": "trigger",
            "dedup_key": _dedup(out),
            "payload": payload,
            "client": "warroom",
        }
        if out.links.get("incident", "").startswith(("https://", "http://")):
            body["client_url"] = out.links["incident"]
        links = _links(out)
        if links:
            body["links"] = links
        return body

    def _change_body(self, out: Outgoing) -> dict[str, Any]:
        p, event = out.event.payload, out.event
        done = {True: "done", False: "failed", None: "outcome unknown"}.get(p.get("ok"), "")
        payload = {
            "summary": _cut(
                outbound(f"{p.get('description', 'Playbook action')} ({done})"), MAX_SUMMARY
            ),
            "source": self.config.source,
            "timestamp": event.time.astimezone(UTC).isoformat(timespec="milliseconds"),
            "custom_details": {
                "command": p.get("command", ""),
                "result": p.get("result", ""),
                "ok": p.get("ok"),
                "incident_id": out.incident.incident_id,
                "event_id": event.id,
                "by": event.actor,
            },
        }
        body: dict[str, Any] = {"routing_key": SECRET, "payload": payload}
        links = _links(out)
        if links:
            body["links"] = links
        return body

    # -- sending ----------------------------------------------------------------------------

    def _secret(self) -> str:
        return secret(
            self.name, self.config.routing_key, self.config.routing_key_env, "routing_key"
        )

    def send(self, out: Outgoing) -> Delivered:
        calls = self._calls(out)
        action = self._action(out)
        if not calls:
            return Delivered(out.event.id, _dedup(out), extra={"action": "none"})
        call = calls[0]
        what = f"PagerDuty {action}"
        try:
            key = self._secret()
            response = remote.send(
                self._client, call, key, pace=self.pace, pacer=self._pacer, what=what
            )
        except OutcomeUnknown as exc:
            self._last_failure = exc.reason
            if action == "change":
                raise
            # dedup_key makes a resend harmless: retry without a lookup
            raise DeliveryError(exc.reason, retry=True) from None
        except DeliveryError as exc:
            self._last_failure = exc.reason
            raise
        code = response.status_code
        if code == 202 or 200 <= code < 300:
            data = remote.answer(response)
            dedup = data.get("dedup_key") if isinstance(data, dict) else None
            ref = dedup if isinstance(dedup, str) and dedup else _dedup(out)
            if action == "change":
                ref = f"change:{out.event.id}"
            return Delivered(out.event.id, ref, extra={"action": action})
        reason = f"{what}: {remote.said(response, (key,), 'message', 'errors', 'status')}"
        self._last_failure = reason
        if code >= 500:
            if action == "change":
                raise OutcomeUnknown(reason)
            raise DeliveryError(reason, retry=True, after=remote.retry_after(response))
        raise DeliveryError(reason, retry=False)

    def find(self, out: Outgoing) -> Delivered | None:
        """None for triggers and resolves (a resend is folded by dedup_key: safe); a
        permanent DeliveryError for change events, which PagerDuty cannot look up."""
        if self._action(out) == "change":
            raise DeliveryError(
                "PagerDuty cannot be asked whether a change event arrived (they have no"
                " dedup key); not resent by itself: resend it if the service lacks it",
                retry=False,
            )
        return None

    def test(self) -> Delivered:
        """A change event (it pages nobody): the routing key and URL work."""
        body = {
            "routing_key": SECRET,
            "payload": {
                "summary": f"warroom: test of channel {self.name}",
                "source": self.config.source,
            },
        }
        call = Call("POST", self._change, {"Content-Type": "application/json"}, body)
        key = self._secret()
        response = remote.send(
            self._client, call, key, pace=self.pace, pacer=self._pacer, what="PagerDuty test"
        )
        if response.status_code != 202:
            reason = remote.said(response, (key,), "message", "errors")
            raise DeliveryError(f"PagerDuty test: {reason}", retry=response.status_code >= 500)
        return Delivered("test", "change")

    def health(self) -> str:
        return f"last failure: {self._last_failure}" if self._last_failure else "configured"


def _dedup(out: Outgoing) -> str:
    return out.incident.incident_id[:MAX_DEDUP]


def _links(out: Outgoing) -> list[dict[str, str]]:
    names = {"incident": "Incident in warroom", "status_page": "Public status page"}
    return [
        {"href": out.links[key], "text": text}
        for key, text in names.items()
        if out.links.get(key, "").startswith(("https://", "http://"))
    ]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
