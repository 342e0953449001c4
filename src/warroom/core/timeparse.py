"""Parsing the times and durations people type: `15m`, `-10m`, `14:05`, ISO 8601.

Digits are ASCII only (`\\d` would take Arabic-Indic and other digits), and anything that
would overflow a date is a ValueError that says so, never an OverflowError.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

_DURATION = re.compile(
    r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(s|sec|m|min|h|hr|d|day|days|w)?\s*$", re.I | re.A
)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "w": 604800}
_CLOCK = re.compile(r"[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?", re.A)
MAX_DURATION = timedelta(days=3660)
"""About ten years: longer spans are typing mistakes, and would overflow dates."""


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """`90s`, `15m`, `2h`, `1d`; a bare number is minutes; at most about ten years."""
    if isinstance(text, timedelta):
        value = text
    elif isinstance(text, int | float):
        if abs(text) > MAX_DURATION.total_seconds() / 60:
            raise ValueError(f"{text} minutes is out of range (at most ten years)")
        value = timedelta(minutes=text)
    else:
        match = _DURATION.match(text)
        if not match:
            raise ValueError(f"not a duration: {text!r} (try 15m, 2h, 1d)")
        unit = (match[2] or "m").lower()
        unit = "d" if unit.startswith("d") else unit
        seconds = float(match[1]) * _UNITS[unit]
        if seconds > MAX_DURATION.total_seconds():
            raise ValueError(f"{text.strip()} is out of range (at most ten years)")
        value = timedelta(seconds=seconds)
    if abs(value) > MAX_DURATION:
        raise ValueError("durations are at most ten years")
    return value


def parse_when(text: str, now: datetime, tz: tzinfo) -> datetime:
    """A moment: ISO 8601 (naive means `tz`), `HH:MM` today in `tz`, `-15m` / `15m ago`, `now`."""
    raw = text.strip()
    lowered = raw.lower()
    if lowered == "now":
        return now
    rel = lowered.removesuffix("ago").strip()
    if rel != lowered or lowered.startswith("-"):
        return now - parse_duration(rel.lstrip("-"))
    if _CLOCK.fullmatch(raw):
        hour, minute, second = (int(p) for p in (raw + ":0").split(":")[:3])
        try:
            moment = datetime.combine(now.astimezone(tz).date(), time(hour, minute, second), tz)
        except ValueError:
            raise ValueError(f"not a time of day: {text!r} (try 14:05)") from None
        return moment - timedelta(days=1) if moment > now + timedelta(minutes=1) else moment
    if not raw.isascii():
        raise ValueError(f"not a time: {text!r} (use ASCII digits: 14:05, -15m, 2026-11-22T14:05Z)")
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
        try:
            return today + timedelta(days=parse_duration(lowered[1:]).days)
        except OverflowError:
            raise ValueError(f"{text.strip()} is out of range") from None
    if not lowered.isascii():
        raise ValueError(f"not a date: {text!r} (use ASCII digits: 2026-12-01, +7d)")
    try:
        return date.fromisoformat(lowered)
    except ValueError:
        raise ValueError(f"not a date: {text!r} (try 2026-12-01, tomorrow, +7d)") from None
