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

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

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
from warroom.core.commands import CommandError, ReceiveAlert, Storable, make
from warroom.core.policy import AlertRules

MAX_ALERTS = 1000
"""Alerts per notification: set Alertmanager's `max_alerts` to this or less."""
MAX_BODY = 8 * 1024 * 1024
"""Bytes per notification: a thousand alerts with plenty of labels."""
MAX_TEXT = 65_536

Text = Annotated[str, Field(max_length=MAX_TEXT), Storable]
Url = Annotated[str, Field(max_length=MAX_URL), Storable]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME), Storable]
Labels = Annotated[
    dict[Name, Annotated[str, Field(max_length=MAX_LABEL_VALUE), Storable]],
    Field(max_length=MAX_LABELS),
]
Annotations = Annotated[
    dict[Name, Annotated[str, Field(max_length=MAX_ANNOTATION_VALUE), Storable]],
    Field(max_length=MAX_ANNOTATIONS),
]
Value = Annotated[float, Field(ge=-(2**53 - 1), le=2**53 - 1, allow_inf_nan=False)]
Status = Literal["firing", "resolved"]


def _real(moment: datetime) -> datetime:
    if moment.year < 1970:
        raise ValueError("must be a real time, after 1970 (the zero time means none)")
    return moment


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AlertmanagerAlert(_Body):
    status: Status
    labels: Labels
    annotations: Annotations = {}
    startsAt: Annotated[AwareDatetime, AfterValidator(_real)]
    endsAt: AwareDatetime | None = None
    """The zero time while firing."""
    generatorURL: Url = ""
    fingerprint: Annotated[str, Field(pattern=FINGERPRINT_RE)]


class AlertmanagerWebhook(_Body):
    """Prometheus Alertmanager's webhook notification (version 4): one group of alerts."""

    version: Literal["4"] = Field(description="The payload version; warroom reads version 4.")
    groupKey: Annotated[str, Field(max_length=MAX_GROUP_KEY), Storable] = ""
    truncatedAlerts: Annotated[int, Field(ge=0, le=2**53 - 1)] = 0
    status: Status
    receiver: Annotated[str, Field(max_length=500), Storable] = ""
    groupLabels: Labels = {}
    commonLabels: Labels = {}
    commonAnnotations: Annotations = {}
    externalURL: Url = ""
    alerts: list[AlertmanagerAlert] = Field(max_length=MAX_ALERTS)


class GrafanaAlert(AlertmanagerAlert):
    fingerprint: Annotated[str, Field(pattern=r"^(?:[0-9A-Za-z._:-]{1,128})?$")] = ""
    silenceURL: Url = ""
    dashboardURL: Url = ""
    panelURL: Url = ""
    imageURL: Url = ""
    values: Annotated[dict[Name, Value], Field(max_length=MAX_VALUES)] | None = None
    valueString: Text = ""


class GrafanaWebhook(AlertmanagerWebhook):
    """Grafana alerting's webhook notification (version 1)."""

    version: Literal["1"] = Field(description="The payload version; warroom reads version 1.")
    orgId: Annotated[int, Field(ge=0, le=2**53 - 1)] = 0
    title: Text = ""
    state: Annotated[str, Field(max_length=64), Storable] = ""
    message: Text = ""
    alerts: list[GrafanaAlert] = Field(max_length=MAX_ALERTS)  # type: ignore[assignment]


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
    body: AlertmanagerWebhook,
    alert: AlertmanagerAlert,
    index: int,
    source: str,
    rules: AlertRules,
    received_at: datetime,
    **extra: object,
) -> ReceiveAlert:
    labels = alert.labels
    ended = alert.endsAt if alert.endsAt and alert.endsAt.year >= 1970 else None
    try:
        return make(
            ReceiveAlert,
            name=(labels.get("alertname") or "").strip()[:200] or "alert",
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
