"""Reading the webhooks: Alertmanager's (a notification a real Alertmanager 0.25 sent) and
Grafana's (fixtures written to its documented format: `receiver`, `status`, `orgId`, `alerts[]`
with `dashboardURL`, `panelURL`, `silenceURL`, `imageURL`, `values`..., `title`, `state`,
`message`; Grafana 9 sent `valueString` and could leave `fingerprint` empty)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from warroom.alerts.webhooks import (
    AlertmanagerWebhook,
    GrafanaWebhook,
    from_alertmanager,
    from_grafana,
)
from warroom.core.alerts import fingerprint_of
from warroom.core.policy import AlertRules

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def test_an_alertmanager_notification_becomes_one_command_per_alert():
    body = AlertmanagerWebhook.model_validate(fixture("alertmanager.json"))
    ended, firing = from_alertmanager(body, AlertRules(), NOW)
    assert (ended.name, ended.fingerprint, ended.service, ended.severity) == (
        "Foo",
        "4623af203d8269a1",
        "checkout",
        "critical",
    )
    assert ended.fired_at == datetime(2026, 11, 30, 9, 57, 23, 2739, tzinfo=UTC)  # ns cut to µs
    assert ended.ends_at == datetime(2026, 11, 30, 9, 57, 26, 2739, tzinfo=UTC)
    assert firing.ends_at is None  # the zero time: still firing
    assert firing.received_at == NOW and firing.summary == "second"
    assert firing.group_key == '{}:{alertname="Foo"}' and firing.receiver == "wr"
    assert firing.source == "Alertmanager http://vm:18556"


def test_the_rules_say_which_labels_name_the_service_and_severity():
    body = AlertmanagerWebhook.model_validate(fixture("alertmanager.json"))
    rules = AlertRules(service_label="alertname", severity_label="service")
    first = from_alertmanager(body, rules, NOW)[0]
    assert (first.service, first.severity) == ("Foo", "checkout")


def test_a_grafana_notification_keeps_its_links_and_values():
    body = GrafanaWebhook.model_validate(fixture("grafana.json"))
    firing, ended = from_grafana(body, AlertRules(), NOW)
    assert firing.name == "Checkout 5xx" and firing.fingerprint == "5be1c0ffee7a9d21"
    assert firing.summary == "checkout answers 5xx to 12% of requests"
    assert firing.dashboard_url == "https://grafana.shop.internal/d/shop-checkout?orgId=3"
    assert firing.panel_url.endswith("viewPanel=7")
    assert firing.silence_url.startswith("https://grafana.shop.internal/alerting/silence/new")
    assert firing.url.startswith("https://grafana.shop.internal/alerting/grafana/fe1a2b3c")
    assert firing.values == {"A": 0.1243, "C": 1.0}
    assert firing.fired_at == datetime(2026, 11, 22, 14, 2, 11, 418366, tzinfo=UTC)
    assert firing.source == "Grafana https://grafana.shop.internal/"
    assert ended.ends_at == datetime(2026, 11, 22, 13, 58, 30, tzinfo=UTC)
    assert ended.service == "payments" and ended.severity == "warning"


def test_grafana_9_without_fingerprint_or_values_is_read_with_one_made_from_the_labels():
    body = GrafanaWebhook.model_validate(fixture("grafana_9.json"))
    (alert,) = from_grafana(body, AlertRules(), NOW)
    assert alert.fingerprint == fingerprint_of({"alertname": "Disk full", "instance": "db-1:9100"})
    assert alert.values == {} and alert.summary == ""


def test_unknown_fields_are_ignored_and_never_stored():
    data = fixture("alertmanager.json")
    data["newField"] = {"x": 1}
    data["alerts"][0]["fromTheFuture"] = True
    body = AlertmanagerWebhook.model_validate(data)
    assert "fromTheFuture" not in from_alertmanager(body, AlertRules(), NOW)[0].model_dump()


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.update(version="3"), "version"),
        (lambda d: d.pop("alerts"), "alerts"),
        (lambda d: d["alerts"][0].pop("startsAt"), "alerts.0.startsAt"),
        (lambda d: d["alerts"][0].update(startsAt="0001-01-01T00:00:00Z"), "alerts.0.startsAt"),
        (lambda d: d["alerts"][0].update(startsAt="2026-11-30T09:57:23"), "alerts.0.startsAt"),
        (lambda d: d["alerts"][0].update(startsAt=1796032643), "alerts.0.startsAt"),
        (
            lambda d: d["alerts"][0].update(startsAt="9999-12-31T23:00:00-05:00"),
            "alerts.0.startsAt",
        ),
        (lambda d: d.update(truncatedAlerts="3"), "truncatedAlerts"),
        (lambda d: d["alerts"][0].update(status="pending"), "alerts.0.status"),
        (lambda d: d["alerts"][0].pop("fingerprint"), "alerts.0.fingerprint"),
        (lambda d: d["alerts"][0].update(fingerprint="a b"), "alerts.0.fingerprint"),
        (lambda d: d["alerts"][0]["labels"].update(x="v" * 1025), "alerts.0.labels.x"),
        (lambda d: d["alerts"][0]["labels"].update(x="nul\x00"), "alerts.0.labels.x"),
        (lambda d: d["alerts"][0]["labels"].update({"\ud800": "v"}), "alerts.0.labels"),
        (
            lambda d: d["alerts"][0]["labels"].update({f"l{i}": "v" for i in range(70)}),
            "alerts.0.labels",
        ),
        (lambda d: d["alerts"][0]["annotations"].update(d="x" * 8193), "alerts.0.annotations.d"),
        (lambda d: d["alerts"][0].update(generatorURL="h" * 2049), "alerts.0.generatorURL"),
        (lambda d: d.update(groupKey="g" * 4097), "groupKey"),
    ],
)
def test_a_malformed_alertmanager_body_is_refused_naming_the_field(change, where):
    data = fixture("alertmanager.json")
    change(data)
    with pytest.raises(ValidationError) as refused:
        AlertmanagerWebhook.model_validate(data)
    assert ".".join(str(p) for p in refused.value.errors()[0]["loc"]).startswith(where)


def test_grafana_values_must_be_finite_numbers():
    data = fixture("grafana.json")
    data["alerts"][0]["values"] = {"A": float("inf")}
    with pytest.raises(ValidationError, match=r"alerts\.0\.values\.A"):
        GrafanaWebhook.model_validate(data)


def test_an_alert_without_a_readable_name_is_called_alert():
    data = fixture("alertmanager.json")
    data["alerts"][1]["labels"]["alertname"] = "\u200b "
    body = AlertmanagerWebhook.model_validate(data)
    assert from_alertmanager(body, AlertRules(), NOW)[1].name == "alert"


def test_a_field_no_command_takes_is_refused_naming_the_alert():
    data = fixture("alertmanager.json")
    data["alerts"][1]["labels"]["severity"] = "s" * 600  # the label fits, the cut one too
    body = AlertmanagerWebhook.model_validate(data)
    assert from_alertmanager(body, AlertRules(), NOW)[1].severity == "s" * 500


def test_an_alert_without_a_name_is_called_alert():
    data = fixture("alertmanager.json")
    del data["alerts"][0]["labels"]["alertname"]
    body = AlertmanagerWebhook.model_validate(data)
    assert from_alertmanager(body, AlertRules(), NOW)[0].name == "alert"


@pytest.mark.parametrize(
    "end", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"]
)
def test_a_resolved_alert_without_a_real_end_ends_when_it_was_heard(end):
    data = fixture("alertmanager.json")
    data["alerts"][0]["endsAt"] = end
    body = AlertmanagerWebhook.model_validate(data)
    assert from_alertmanager(body, AlertRules(), NOW)[0].ends_at == NOW


@pytest.mark.parametrize("where", ["labels", "annotations", "commonLabels", "commonAnnotations"])
def test_a_key_with_nul_is_refused_even_where_nothing_is_stored(where):
    data = fixture("alertmanager.json")
    target = data if where.startswith("common") else data["alerts"][0]
    target[where] = {"ok": "v", "k\x00": "v"}
    with pytest.raises(ValidationError, match="contains U\\+0000"):
        AlertmanagerWebhook.model_validate(data)
