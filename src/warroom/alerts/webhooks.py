"""The webhook bodies warroom accepts, as their senders document them, and the commands they
become.

- Prometheus Alertmanager, webhook version 4 (`webhook_config`): `version`, `groupKey`,
  `truncatedAlerts`, `status`, `receiver`, `groupLabels`, `commonLabels`,
  `commonAnnotations`, `externalURL`, and `alerts[]` with `status`, `labels`, `annotations`,
  `startsAt`, `endsAt`, `generatorURL`, `fingerprint`. Firing alerts carry the zero time
  `0001-01-01T00:00:00Z` as `endsAt`.
- Grafana alerting's webhook contact point, version 1: the same, plus `orgId`, `title`,
  `state`, `message`, and per alert `silenceURL`, `dashboardURL`, `panelURL`, `imageURL`,
  `values` (older Grafanas: `valueString`); its `fingerprint` may be missing.

Unknown fields are ignored (senders add fields over time) and never stored. What is stored is
bounded and storable by every backend: a field out of bounds is a 422 that names it, and the
whole notification is refused (nothing of it is stored), so the sender's log says what to fix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

from warroom.core.alerts import (
    FINGERPRINT_RE,
    MAX_ANNOTATION_VALUE,
    MAX_ANNOTATIONS,
    MAX_GROUP_KEY,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    MAX_NAME,
    MAX_URL,
    MAX_VALUES,
    fingerprint_of,
)
from warroom.core.commands import CommandError, ReceiveAlert, make
from warroom.core.policy import AlertRules

MAX_ALERTS = 1000
"""Alerts per notification: set Alertmanager's `max_alerts` to this or less."""
MAX_BODY = 8 * 1024 * 1024
"""Bytes per notification: a thousand alerts with plenty of labels."""
MAX_TEXT = 65_536

NO_NUL = r"^[^\x00]*$"
"""PostgreSQL cannot store NUL: a pattern, checked in Rust and stated in the spec (the API says
"contains U+0000" when it fails). Lone surrogates never get past pydantic's strings."""


NAMES = {"propertyNames": {"minLength": 1, "maxLength": MAX_NAME, "pattern": NO_NUL}}
"""A map's keys, in the spec: a pattern on a key type would make pydantic write
`patternProperties`, which lets other keys through."""

Text = Annotated[str, Field(max_length=MAX_TEXT, pattern=NO_NUL)]
Short = Annotated[str, Field(max_length=500, pattern=NO_NUL)]
Url = Annotated[str, Field(max_length=MAX_URL, pattern=NO_NUL)]
GroupKey = Annotated[str, Field(max_length=MAX_GROUP_KEY, pattern=NO_NUL)]


def _key(name: str) -> str:
    if "\x00" in name:
        raise ValueError("contains U+0000, which cannot be stored")
    return name


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME), AfterValidator(_key)]
LabelValue = Annotated[str, Field(max_length=MAX_LABEL_VALUE, pattern=NO_NUL)]
AnnotationValue = Annotated[str, Field(max_length=MAX_ANNOTATION_VALUE, pattern=NO_NUL)]
Labels = Annotated[dict[Name, LabelValue], Field(max_length=MAX_LABELS, json_schema_extra=NAMES)]
Annotations = Annotated[
    dict[Name, AnnotationValue], Field(max_length=MAX_ANNOTATIONS, json_schema_extra=NAMES)
]
Value = Annotated[float, Field(ge=-(2**53 - 1), le=2**53 - 1, allow_inf_nan=False)]
Values = Annotated[dict[Name, Value], Field(max_length=MAX_VALUES, json_schema_extra=NAMES)]
Status = Literal["firing", "resolved"]


YEARS = r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])-"
"""Starts from 1970 to 9998: the zero time is no start, and any offset stays within
datetime's range when it is turned to UTC."""


def _real(moment: datetime) -> datetime:
    if not _plausible(moment):
        raise ValueError("must be a real time, from 1970 to 9998 (the zero time means none)")
    return moment


def _plausible(moment: datetime | None) -> bool:
    return moment is not None and 1970 <= moment.year <= 9998


def _written(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be a time written as RFC 3339 text")
    return value


Time = Annotated[AwareDatetime, Field(strict=False), BeforeValidator(_written)]
"""Strict like the rest (a number is not a time), but parsed from its text."""


def _number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return value


Count = Annotated[int, Field(ge=0, le=2**53 - 1, strict=False), BeforeValidator(_number)]
"""A JSON integer, 3.0 included (JSON Schema's integer), text never."""


class _Body(BaseModel):
    """Strict types (the numbers and strings the senders document, nothing coerced);
    unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class AlertmanagerAlert(_Body):
    status: Status
    labels: Labels
    annotations: Annotations = {}
    startsAt: Annotated[Time, AfterValidator(_real), Field(json_schema_extra={"pattern": YEARS})]
    endsAt: Time | None = None
    """The zero time while firing (any time outside 1970..9998 is taken for none)."""
    generatorURL: Url = ""
    fingerprint: Annotated[str, Field(pattern=FINGERPRINT_RE)]


class _Notification(_Body):
    """What both senders send: one group of alerts (Grafana's is Alertmanager's, extended)."""

    groupKey: GroupKey = ""
    truncatedAlerts: Count = 0
    status: Status
    receiver: Short = ""
    groupLabels: Labels = {}
    commonLabels: Labels = {}
    commonAnnotations: Annotations = {}
    externalURL: Url = ""


class AlertmanagerWebhook(_Notification):
    """Prometheus Alertmanager's webhook notification (version 4): one group of alerts."""

    version: Literal["4"] = Field(description="The payload version; warroom reads version 4.")
    alerts: list[AlertmanagerAlert] = Field(max_length=MAX_ALERTS)


class GrafanaAlert(AlertmanagerAlert):
    fingerprint: Annotated[str, Field(pattern=r"^(?:[0-9A-Za-z._:-]{1,128})?$")] = ""
    silenceURL: Url = ""
    dashboardURL: Url = ""
    panelURL: Url = ""
    imageURL: Url = ""
    values: Values | None = None
    valueString: Text = ""


class GrafanaWebhook(_Notification):
    """Grafana alerting's webhook notification (version 1)."""

    version: Literal["1"] = Field(description="The payload version; warroom reads version 1.")
    orgId: Count = 0
    title: Text = ""
    state: Annotated[str, Field(max_length=64, pattern=NO_NUL)] = ""
    message: Text = ""
    alerts: list[GrafanaAlert] = Field(max_length=MAX_ALERTS)


class AlertsAccepted(BaseModel):
    """What a notification changed; a re-sent one changes nothing."""

    alerts: int = Field(description="Alerts in the notification.")
    received: int = Field(description="Firings heard of for the first time (stored).")
    resolved: int = Field(description="Firings that ended (stored).")
    unchanged: int = Field(description="Alerts warroom already held as they are (re-sends).")
    attached: int = Field(description="Of the received, how many matched an open incident.")


class WebhookError(ValueError):
    """An alert the body holds cannot be stored; the message names it (a 422)."""


def from_alertmanager(
    body: AlertmanagerWebhook, rules: AlertRules, received_at: datetime
) -> list[ReceiveAlert]:
    source = _source("Alertmanager", body.externalURL)
    return [
        _command(body, alert, i, source, rules, received_at) for i, alert in enumerate(body.alerts)
    ]


def from_grafana(
    body: GrafanaWebhook, rules: AlertRules, received_at: datetime
) -> list[ReceiveAlert]:
    source = _source("Grafana", body.externalURL)
    return [
        _command(
            body,
            alert,
            i,
            source,
            rules,
            received_at,
            dashboard_url=alert.dashboardURL,
            panel_url=alert.panelURL,
            silence_url=alert.silenceURL,
            image_url=alert.imageURL,
            values=alert.values or {},
        )
        for i, alert in enumerate(body.alerts)
    ]


def _source(sender: str, url: str) -> str:
    return f"{sender} {url}"[:500] if url else sender


def _command(
    body: _Notification,
    alert: AlertmanagerAlert,
    index: int,
    source: str,
    rules: AlertRules,
    received_at: datetime,
    **extra: object,
) -> ReceiveAlert:
    labels = alert.labels
    ended = alert.endsAt if _plausible(alert.endsAt) else None
    name = labels.get("alertname", "").strip()[:200]
    if not any(ch.isprintable() and not ch.isspace() for ch in name):
        name = "alert"  # none, or nothing a person could read: called what it is
    try:
        return make(
            ReceiveAlert,
            name=name,
            source=source,
            summary=alert.annotations.get("summary", ""),
            fired_at=alert.startsAt,
            fingerprint=alert.fingerprint or fingerprint_of(labels),
            ends_at=(ended or received_at) if alert.status == "resolved" else None,
            received_at=received_at,
            receiver=body.receiver,
            group_key=body.groupKey,
            severity=labels.get(rules.severity_label, "")[:500],
            service=labels.get(rules.service_label, "")[:500],
            labels=labels,
            annotations=alert.annotations,
            url=alert.generatorURL,
            **extra,
        )
    except CommandError as exc:
        theirs = {"name": "labels.alertname", "summary": "annotations.summary"}
        field = exc.field or ""
        reason = str(exc).removeprefix(f"{field.replace('_', ' ')}: ")
        where = f"alerts.{index}.{theirs.get(field, field)}" if field else f"alerts.{index}"
        raise WebhookError(f"{where}: {reason}") from None
