"""Alertmanager notifications as a real Alertmanager (version 4) sends them, and reading back
what a server stored, for the intake tests."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

ZERO = "0001-01-01T00:00:00Z"


def fingerprint() -> str:
    """A fresh fingerprint (16 hex digits, as Alertmanager's), so tests sharing a server never
    meet each other's alerts."""
    return secrets.token_hex(8)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alert(
    print_: str,
    name: str = "HighErrorRate",
    *,
    starts: datetime | None = None,
    ends: datetime | None = None,
    **labels: str,
) -> dict[str, Any]:
    start = starts or datetime(2026, 11, 22, 14, 0, tzinfo=UTC)
    return {
        "status": "resolved" if ends else "firing",
        "labels": {"alertname": name, "severity": "critical", **labels},
        "annotations": {"summary": f"{name} on {labels.get('service', 'something')}"},
        "startsAt": stamp(start),
        "endsAt": stamp(ends) if ends else ZERO,
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up",
        "fingerprint": print_,
    }


def notification(
    *alerts: dict[str, Any], group: str = "", receiver: str = "warroom"
) -> dict[str, Any]:
    name = alerts[0]["labels"]["alertname"] if alerts else "none"
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "receiver": receiver,
        "status": "firing" if firing else "resolved",
        "alerts": list(alerts),
        "groupLabels": {"alertname": name},
        "commonLabels": {"alertname": name},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": group or f'{{}}:{{alertname="{name}"}}',
        "truncatedAlerts": 0,
    }


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stored(url: str, token: str, *prints: str, kinds: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every event on the server about these fingerprints (all of them when none is given),
    read through the API as a client pulls them."""
    found: list[dict[str, Any]] = []
    after = 0
    with httpx.Client(timeout=30) as http:
        while True:
            page = http.get(f"{url}/v1/events", params={"after": after}, headers=auth(token))
            page.raise_for_status()
            data = page.json()
            for item in data["events"]:
                event = item["event"]
                mine = not prints or event["payload"].get("fingerprint") in prints
                wanted = event["kind"] in kinds if kinds else event["kind"].startswith("alert_")
                if wanted and mine:
                    found.append(event)
            if data["next"] >= data["head"]:
                return found
            after = data["next"]


def head(url: str, token: str) -> int:
    with httpx.Client(timeout=30) as http:
        page = http.get(f"{url}/v1/events", params={"limit": 1}, headers=auth(token))
        page.raise_for_status()
        return int(page.json()["head"])


def later(minutes: float) -> datetime:
    return datetime(2026, 11, 22, 14, 0, tzinfo=UTC) + timedelta(minutes=minutes)
