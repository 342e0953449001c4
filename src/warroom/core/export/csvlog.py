"""The timeline as CSV, for spreadsheets."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from warroom.core.describe import label, summarize
from warroom.core.events import Event
from warroom.core.text import one_line

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def to_csv(events: list[Event], tz: ZoneInfo) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["time", "kind", "actor", "summary", "event_id", "device_id", "hlc"])
    for e in sorted(events, key=lambda e: e.order):
        row = [
            e.time.astimezone(tz).isoformat(timespec="seconds"),
            label(e.kind),
            one_line(e.actor),
            summarize(e),
            e.id,
            e.device_id,
            e.hlc,
        ]
        writer.writerow([_defuse(cell) for cell in row])
    return buf.getvalue()


def _defuse(cell: str) -> str:
    """Spreadsheets run a cell starting with = + - @ (or a tab or CR before one) as a formula.

    Every cell is checked, not only the free text: actors come from `--as` or any peer,
    device ids from any peer (`-1+1` is a valid one). A leading quote makes it text.
    """
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
