"""Alerts as the console draws them: one line in a list, the details of one, the evidence
beside the resolution checklist. Pure functions of an `Alert` (and the time) to text; every
outside string is cleaned and cut in terminal cells, never read as markup."""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.text import Text

from warroom.cells import cut, fit
from warroom.core import clock
from warroom.core.alerts import Alert
from warroom.core.text import clean, one_line

STATE_STYLES = {"firing": "bold #ff5f5f", "resolved": "#5fd75f", "silenced": "#8a8a8a"}


def _hhmm(at: datetime, tz: tzinfo) -> str:
    try:
        return at.astimezone(tz).strftime("%H:%M")
    except (OverflowError, ValueError):
        return "--:--"


def since(alert: Alert, now: datetime, tz: tzinfo) -> str:
    """`14:02 (12m)`: when it started firing, and for how long it fired (or has fired)."""
    end = alert.ends_at or now
    return f"{_hhmm(alert.since, tz)} ({clock.format_duration(end - alert.since)})"


def line(alert: Alert, now: datetime, tz: tzinfo) -> Text:
    """One alert in a list: state, severity, name, service, since, in columns of cells that
    fit an 80-column terminal's dialog (the summary is in the details beneath)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(fit(alert.state, 8), style=STATE_STYLES.get(alert.state, ""))
    text.append(f" {fit(alert.severity or '—', 8)} ")
    text.append(fit(alert.name, 24), style="bold")
    text.append(f" {fit(alert.service or '—', 10)} {cut(since(alert, now, tz), 14)}")
    return text


def short(alert: Alert, now: datetime, tz: tzinfo) -> Text:
    """An alert in a sentence: `CheckoutHighErrorRate (checkout) since 13:58 (32m)`."""
    text = Text(cut(alert.name, 36), style="bold")
    if alert.service:
        text.append(f" ({cut(alert.service, 16)})")
    text.append(f" since {since(alert, now, tz)}", style="#8a8a8a")
    return text


def details(alert: Alert, now: datetime, tz: tzinfo, where: str) -> Text:
    """Everything about one alert: what it says, its labels, when, where and its links."""
    text = Text()
    text.append(f"{fit(alert.state.upper(), 9)}", style=STATE_STYLES.get(alert.state, ""))
    text.append(cut(alert.name, 60), style="bold")
    if alert.severity:
        text.append(f"  {cut(alert.severity, 20)}", style="#ffaf00")
    text.append("\n")
    started = _hhmm(alert.since, tz)
    text.append(f"since {started}, {clock.format_duration(now - alert.since)} ago", style="#8a8a8a")
    if alert.ends_at is not None:
        text.append(f"; resolved {_hhmm(alert.ends_at, tz)}", style="#5fd75f")
    text.append(f"; heard {_hhmm(alert.received_at, tz)}; {where}\n", style="#8a8a8a")
    if alert.summary:
        text.append(one_line(alert.summary, 400) + "\n")
    description = alert.annotations.get("description", "")
    if description and description != alert.summary:
        text.append(clean(description)[:1000] + "\n", style="#d0d0d0")
    if alert.silenced:
        who = one_line(alert.silenced_by, 30)
        text.append(f"silenced by {who}: {one_line(alert.silence_reason, 200)}\n", style="#8a8a8a")
    labels = "  ".join(
        f"{one_line(k, 40)}={one_line(v, 80)}" for k, v in sorted(alert.labels.items())
    )
    if labels:
        text.append("labels ", style="#8a8a8a")
        text.append(labels + "\n")
    for what, url in alert.links:
        text.append(f"{what:<10}", style="#8a8a8a")
        text.append(one_line(url, 300) + "\n", style="underline #87afd7")
    if alert.source:
        text.append(f"from {one_line(alert.source, 80)}", style="#8a8a8a")
    text.rstrip()
    return text


def evidence(alerts: list[Alert], now: datetime) -> Text:
    """Beside "No error alerts firing": the incident's alerts that still fire, or that none do."""
    firing = [a for a in alerts if a.firing]
    if not firing:
        ended = len(alerts)
        said = f"✓ none firing ({ended} resolved)" if ended else "no alerts attached"
        return Text(said, style="#5fd75f" if ended else "#8a8a8a")
    names = ", ".join(
        f"{one_line(a.name, 30)} {clock.format_duration(now - a.since)}" for a in firing[:3]
    )
    more = f" +{len(firing) - 3} more" if len(firing) > 3 else ""
    return Text(f"⚠ {len(firing)} firing: {names}{more}", style="bold #ff5f5f")
