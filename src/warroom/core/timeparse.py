"""Parsing the times and durations people type: `15m`, `-10m`, `14:05`, ISO 8601."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|days|w)?\s*$", re.I)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """`90s`, `15m`, `2h`, `1d`; a bare number is minutes."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float):
        return timedelta(minutes=text)
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (try 15m, 2h, 1d)")
    unit = (match[2] or "m").lower()
    unit = "d" if unit.startswith("d") else unit
    return timedelta(seconds=float(match[1]) * _UNITS[unit])


def parse_when(text: str, now: datetime, tz: tzinfo) -> datetime:
    """A moment: ISO 8601 (naive means `tz`), `HH:MM` today in `tz`, `-15m` / `15m ago`, `now`."""
    raw = text.strip()
    lowered = raw.lower()
    if lowered == "now":
        return now
    rel = lowered.removesuffix("ago").strip()
    if rel != lowered or lowered.startswith("-"):
        return now - parse_duration(rel.lstrip("-"))
    if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", raw):
        parts = [int(p) for p in raw.split(":")]
        moment = datetime.combine(now.astimezone(tz).date(), time(*parts), tz)
        return moment - timedelta(days=1) if moment > now + timedelta(minutes=1) else moment
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"not a time: {text!r} (try 14:05, -15m, or 2026-11-22T14:05Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def parse_date(text: str, today: date) -> date:
    """A due date: ISO `YYYY-MM-DD`, `today`, `tomorrow`, or `+3d`."""
    lowered = text.strip().lower()
    if lowered == "today":
        return today
    if lowered == "tomorrow":
        return today + timedelta(days=1)
    if lowered.startswith("+"):
        return today + timedelta(days=parse_duration(lowered[1:]).days)
    try:
        return date.fromisoformat(lowered)
    except ValueError:
        raise ValueError(f"not a date: {text!r} (try 2026-12-01, tomorrow, +7d)") from None
