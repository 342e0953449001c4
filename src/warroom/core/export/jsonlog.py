"""The full event log as JSON: the lossless export that `warroom import` reads back."""

from __future__ import annotations

import json
from typing import Any

from warroom.core.events import Event, PayloadError

FORMAT = "warroom.incident"
VERSION = 1


def to_json(incident_id: str, events: list[Event]) -> str:
    ordered = sorted(events, key=lambda e: e.order)
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "incident_id": incident_id,
        "events": [e.to_dict() for e in ordered],
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


class ImportError_(ValueError):
    """A file that is not a warroom export, or holds an invalid event."""


def from_json(text: str) -> list[Event]:
    """Parse and validate an export; raises ImportError_ with a one-line reason."""
    from pydantic import ValidationError  # validation is the only part that needs it

    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportError_(f"not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ImportError_(f"not a warroom export (expected format {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise ImportError_(f"unsupported export version {doc.get('version')!r}")
    raw = doc.get("events")
    if not isinstance(raw, list):
        raise ImportError_("the export has no event list")
    events = []
    for i, item in enumerate(raw):
        try:
            events.append(Event.checked(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ImportError_(f"event {i}: {where}: {err['msg']}") from None
        except PayloadError as exc:
            raise ImportError_(f"event {i}: {exc}") from None
    ids = {e.incident_id for e in events}
    if len(ids) > 1:
        raise ImportError_("the export mixes events of several incidents")
    if ids and ids != {doc.get("incident_id")}:
        raise ImportError_("the events do not belong to the export's incident_id")
    return events
