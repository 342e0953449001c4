"""The timeline as CSV, for spreadsheets."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from warroom.core.describe import label, summarize
from warroom.core.events import Event
from warroom.core.text import one_line


def to_csv(events: list[Event], tz: ZoneInfo) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["time", "kind", "actor", "summary", "event_id", "device_id", "hlc"])
    for e in sorted(events, key=lambda e: e.order):
        writer.writerow(
            [
                e.time.astimezone(tz).isoformat(timespec="seconds"),
                label(e.kind),
                one_line(e.actor),
                _defuse(summarize(e)),
                e.id,
                e.device_id,
                e.hlc,
            ]
        )
    return buf.getvalue()


def _defuse(cell: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas; prefix a quote."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell
