"""Atlassian Statuspage (`kind = "statuspage"`): status-page posts become a Statuspage incident.

REST API v1, `Authorization: OAuth KEY`. The first status-page post of an incident creates
the Statuspage incident (name, status, body, `impact_override` from the severity, the
affected components with their status); later posts PATCH it (status, body, components);
resolving sets the components back to operational. The remote incident id is the delivery's
`ref`, which later deliveries find in `Outgoing.previous`.

Statuspage has no idempotency key, so each incident carries a marker in its `metadata`
(`{"warroom": {"incident": ID, "event": EVENT_ID}}`, rewritten by every request): `find`
lists the page's unresolved incidents (and, for a post that resolved, searches by name) for
the marker of a create, and reads the incident back for the marker of a PATCH. A request
whose outcome is unknown is looked up that way before it is sent again.

The API allows about one request per second per key: requests are paced per key (`pace`,
shared by every channel with the same key), and 420/429 hold the key back.

```toml
[channels.status]
kind = "statuspage"
page_id = "kctbh9vrtdwd"
api_key_env = "STATUSPAGE_API_KEY"      # or api_key = "..."
components = { checkout = "8kbf7d35c070", api = "vtnh60py4yd7" }
# api_url = "https://api.statuspage.io/v1"   audiences = ["status-page"]   on = ["resolved"]
```
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from warroom.core.events import Event
from warroom.core.outbound import outbound
from warroom.core.policy import AUDIENCES, PUBLIC_AUDIENCE
from warroom.core.public import COMPONENT_STATE, IMPACT, post_phase
from warroom.delivery import remote
from warroom.delivery.channel import Channel, Delivered, DeliveryError, Lifecycle, Outgoing, Request
from warroom.delivery.common import one_secret, secret
from warroom.delivery.remote import SECRET, Call, OutcomeUnknown

API_URL = "https://api.statuspage.io/v1"
MAX_NAME = 255
MAX_BODY = 25_000
PER_PAGE = 100
MAX_PAGES = 10
ON_ALLOWED = frozenset({"severity", "status", "resolved"})
MARKER = "warroom"

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class StatuspageConfig(BaseModel):
    """`[channels.NAME]` with `kind = "statuspage"`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["statuspage"]
    api_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2000)] = API_URL
    page_id: Id
    api_key: SecretStr | None = None
    api_key_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    components: dict[Annotated[str, Field(min_length=1, max_length=500)], Id] = {}
    """Component as incidents name it -> Statuspage component id."""
    audiences: tuple[str, ...] = (PUBLIC_AUDIENCE,)
    on: tuple[Lifecycle, ...] = ("resolved",)
    pace: Annotated[float, Field(ge=0, le=60)] = 1.0
    timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    notify_subscribers: bool = True
    """Statuspage's `deliver_notifications`: email and SMS to the page's subscribers."""

    @field_validator("audiences")
    @classmethod
    def _audiences(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [a for a in value if a not in AUDIENCES]
        if unknown:
            raise ValueError(f"unknown audience {unknown[0]!r}: use {', '.join(AUDIENCES)}")
        if any(a != PUBLIC_AUDIENCE for a in value):
            raise ValueError(f"a Statuspage is public: it carries only {PUBLIC_AUDIENCE!r}")
        return value

    @field_validator("on")
    @classmethod
    def _on(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        refused = [v for v in value if v not in ON_ALLOWED]
        if refused:
            raise ValueError(
                f"{refused[0]!r} is not shown on a Statuspage (post the status-page template);"
                f" use {', '.join(sorted(ON_ALLOWED))}"
            )
        return value

    @model_validator(mode="after")
    def _one_key(self) -> StatuspageConfig:
        one_secret(self.api_key, self.api_key_env, "api_key", required=True)
        return self


CONFIG = StatuspageConfig


def build(name: str, config: StatuspageConfig) -> StatuspageChannel:
    """The channel for a validated config. The key is read when a request is sent (a dry
    run needs none); a missing variable fails that delivery, naming the variable."""
    return StatuspageChannel(name, config)


class StatuspageChannel(Channel):
    kind: ClassVar[str] = "statuspage"

    def __init__(
        self,
        name: str,
        config: StatuspageConfig,
        *,
        client: httpx.Client | None = None,
        pacer: remote.KeyPacer = remote.PACER,
    ) -> None:
        super().__init__(
            name, audiences=frozenset(config.audiences), on=frozenset(config.on), pace=config.pace
        )
        self.config = config
        self._base = f"{config.api_url.rstrip('/')}/pages/{config.page_id}"
        self._client = client or httpx.Client(timeout=config.timeout, follow_redirects=False)
        self._pacer = pacer
        self._unknown: set[str] = set()
        self._last_failure = ""

    # -- what to send -------------------------------------------------------------------------

    def wants(self, event: Event) -> bool:
        if event.kind == "severity_changed":
            return "severity" in self.on
        return super().wants(event)

    def requests(self, out: Outgoing) -> list[Request]:
        return [call.shown() for call in self._calls(out)]

    def _calls(self, out: Outgoing) -> list[Call]:
        remote_id, remote_status = _remote(out)
        event = out.event
        incident: dict[str, Any]
        if event.kind == "update_posted":
            phase = post_phase(str(event.payload.get("template", "")), out.text)
            phase = phase or remote_status or "investigating"  # a post naming none carries on
            incident = {"status": phase, "body": _cut(outbound(out.text), MAX_BODY)}
            incident |= self._components(out, phase)
            if remote_id is None:
                incident = {
                    "name": _cut(outbound(out.incident.title.value or "Incident"), MAX_NAME),
                    **incident,
                    "impact_override": IMPACT.get(out.incident.current_severity, "minor"),
                    "deliver_notifications": self.config.notify_subscribers,
                }
        elif remote_id is None:
            return []  # nothing public yet: lifecycle events only follow a posted incident
        elif event.kind == "status_changed":
            status = str(event.payload.get("status", ""))
            if status == remote_status:
                return []
            incident = {"status": status, **self._components(out, status)}
        elif event.kind == "severity_changed":
            if remote_status == "resolved":
                return []
            severity = str(event.payload.get("severity", ""))
            incident = {"impact_override": IMPACT.get(severity, "minor")}
            incident |= self._components(out, remote_status or "investigating", severity)
        else:
            return []
        incident["metadata"] = {MARKER: {"incident": out.incident.incident_id, "event": event.id}}
        headers = {"Authorization": f"OAuth {SECRET}", "Content-Type": "application/json"}
        if remote_id is None:
            return [Call("POST", f"{self._base}/incidents", headers, {"incident": incident})]
        url = f"{self._base}/incidents/{remote_id}"
        return [Call("PATCH", url, headers, {"incident": incident})]

    def _components(self, out: Outgoing, phase: str, severity: str | None = None) -> dict[str, Any]:
        """The Statuspage components the incident names, and the status each gets."""
        ids = _component_ids(self.config.components, out.incident.components.value or [])
        if not ids:
            return {}
        level = severity or out.incident.current_severity
        status = "operational" if phase == "resolved" else COMPONENT_STATE.get(level, "")
        return {"component_ids": ids, "components": dict.fromkeys(ids, status)}

    # -- sending ----------------------------------------------------------------------------

    def send(self, out: Outgoing) -> Delivered:
        if out.event.id in self._unknown:  # an earlier attempt may have landed
            found = self.find(out)
            if found is not None:
                self._unknown.discard(out.event.id)
                return found
        calls = self._calls(out)
        remote_id, status = _remote(out)
        if not calls:
            return Delivered(out.event.id, remote_id or "", extra={"status": status or ""})
        try:
            data = self._request(calls[0])
        except OutcomeUnknown:
            self._unknown.add(out.event.id)
            raise
        self._unknown.discard(out.event.id)
        return self._delivered(out.event.id, data)

    def _secret(self) -> str:
        return secret(self.name, self.config.api_key, self.config.api_key_env, "api_key")

    def _request(self, call: Call) -> dict[str, Any]:
        what = f"Statuspage {call.method} {call.url.removeprefix(self.config.api_url)}"
        try:
            key = self._secret()
            response = remote.send(
                self._client, call, key, pace=self.pace, pacer=self._pacer, what=what
            )
        except DeliveryError as exc:
            self._last_failure = exc.reason
            raise
        if response.status_code >= 500:
            reason = f"{what}: {remote.said(response, (key,), 'message', 'error')}"
            self._last_failure = reason
            if call.method == "GET":
                raise DeliveryError(reason, retry=True)
            raise OutcomeUnknown(reason)  # it may have been applied before the failure
        if response.status_code >= 300:
            reason = f"{what}: {remote.said(response, (key,), 'message', 'error')}"
            self._last_failure = reason
            raise DeliveryError(reason, retry=False)
        data = remote.answer(response)
        if not isinstance(data, dict | list):
            raise DeliveryError(f"{what}: the answer is not JSON", retry=call.method == "GET")
        return data if isinstance(data, dict) else {"items": data}

    def _delivered(self, event_id: str, data: dict[str, Any]) -> Delivered:
        incident_id = data.get("id")
        if not isinstance(incident_id, str) or not incident_id:
            raise DeliveryError("Statuspage answered without an incident id", retry=False)
        status = data.get("status")
        link = data.get("shortlink")
        return Delivered(
            event_id,
            incident_id,
            permalink=link if isinstance(link, str) else "",
            extra={"status": status if isinstance(status, str) else ""},
        )

    def find(self, out: Outgoing) -> Delivered | None:
        """Whether Statuspage has this delivery, by the marker in the incident's metadata:
        for a PATCH, the incident read back names this event; for a create, an incident of
        the page names this warroom incident. Raises DeliveryError when it cannot tell."""
        calls = self._calls(out)
        if not calls:
            return None
        headers = {"Authorization": f"OAuth {SECRET}"}
        if calls[0].method == "PATCH":
            data = self._request(Call("GET", calls[0].url, headers))
            if _marker(data).get("event") == out.event.id:
                return self._delivered(out.event.id, data)
            return None
        wanted = out.incident.incident_id
        for page in range(1, MAX_PAGES + 1):
            url = f"{self._base}/incidents/unresolved?page={page}&per_page={PER_PAGE}"
            items = self._request(Call("GET", url, headers)).get("items", [])
            for item in items:
                if isinstance(item, dict) and _marker(item).get("incident") == wanted:
                    return self._delivered(out.event.id, item)
            if len(items) < PER_PAGE:
                break
        if calls[0].body["incident"].get("status") == "resolved":  # created resolved
            name = calls[0].body["incident"]["name"]
            url = f"{self._base}/incidents"
            query = httpx.QueryParams({"q": name, "limit": PER_PAGE})
            items = self._request(Call("GET", f"{url}?{query}", headers)).get("items", [])
            for item in items:
                if isinstance(item, dict) and _marker(item).get("incident") == wanted:
                    return self._delivered(out.event.id, item)
        return None

    def test(self) -> Delivered:
        """Reads the page (an incident would be public): the key and page id work."""
        data = self._request(Call("GET", self._base, {"Authorization": f"OAuth {SECRET}"}))
        name = data.get("name")
        return Delivered("test", self.config.page_id, extra={"page": str(name or "")})

    def health(self) -> str:
        return f"last failure: {self._last_failure}" if self._last_failure else "configured"


def _remote(out: Outgoing) -> tuple[str | None, str]:
    """The Statuspage incident earlier deliveries made (None: none yet), and its status."""
    remote_id = next((d.ref for d in out.previous if d.ref), None)
    status = next((d.extra.get("status", "") for d in reversed(out.previous) if d.ref), "")
    return remote_id, status


def _component_ids(mapping: dict[str, str], named: list[str]) -> list[str]:
    folded = {k.casefold(): v for k, v in mapping.items()}
    ids = (folded.get(str(c).strip().casefold()) for c in named)
    return list(dict.fromkeys(i for i in ids if i))


def _marker(data: dict[str, Any]) -> dict[str, Any]:
    metadata = data.get("metadata")
    marker = metadata.get(MARKER) if isinstance(metadata, dict) else None
    return marker if isinstance(marker, dict) else {}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
