"""The timeline as CSV, for spreadsheets.

Spreadsheets run a cell that starts with = + - @ (or a tab or CR before one) as a formula.
Every cell is checked, not only the free text: actors come from `--as` or any peer, device
ids from any peer (`-1+1` is a valid one). A leading quote makes such a cell text.
"""

from __future__ import annotations

import csv
import io
from datetime import tzinfo

from warroom.core.describe import label, summarize
from warroom.core.events import Event
from warroom.core.text import one_line

FORMULA_STARTS = frozenset("=+-@\t\r")


def to_csv(events: list[Event], tz: tzinfo) -> str:
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
        # Inline rather than a function per cell: 700k calls for a 100k-event log.
        writer.writerow(["'" + c if c[:1] in FORMULA_STARTS else c for c in row])
    return buf.getvalue()
