"""One-line, human summaries of events for the timeline, the CLI and the exports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from warroom.core.events import Event
from warroom.core.policy import POSTMORTEM_FIELDS
from warroom.core.text import one_line

LABELS: dict[str, str] = {
    "declared": "declared",
    "severity_changed": "severity",
    "status_changed": "status",
    "title_changed": "title",
    "impact_changed": "impact",
    "components_changed": "components",
    "role_assigned": "role",
    "role_released": "role",
    "note": "note",
    "pin": "pin",
    "update_posted": "update",
    "action_taken": "action",
    "alert_received": "alert",
    "alert_resolved": "alert",
    "alert_attached": "alert",
    "alert_silenced": "alert",
    "log_pinned": "log",
    "cluster_fact": "cluster",
    "milestone_set": "milestone",
    "checklist_checked": "checklist",
    "action_item": "action item",
    "postmortem_set": "postmortem",
    "cadence_snoozed": "snooze",
    "escalated": "escalated",
    "delivery_sent": "delivered",
    "delivery_failed": "delivery",
}


def label(kind: str) -> str:
    return LABELS.get(kind, kind)


def _words(key: str) -> str:
    return key.replace("_", " ")


def _role(key: str) -> str:
    return _words(key).title()


def _time(value: Any) -> str:
    """A stored moment in UTC; as written when UTC would fall outside years 1-9999.

    Payloads hold any ISO text a peer sent: a naive time names no zone, so none is claimed.
    Years are always four digits (`strftime("%Y")` gives "1" for year 1 on glibc).
    """
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    zone = ""
    if moment.tzinfo is not None:
        try:
            moment, zone = moment.astimezone(UTC), " UTC"
        except OverflowError:
            zone = f" {moment.tzname()}"
    return f"{moment.year:04d}-{moment:%m-%d %H:%M}{zone}"


Lookup = Callable[[str], Event | None]


def summarize(event: Event, limit: int = 0, lookup: Lookup | None = None) -> str:
    """What happened, in one clean line (no escape codes, no newlines).

    `lookup` finds another event by id, so that a pin can say what it pinned when its
    payload carries no summary (older clients); without it the target is named by a short id.
    """
    p = event.payload
    k = event.kind
    try:
        if k == "pin":
            text = _pin(p, lookup)
        else:
            text = _SUMMARIES[k](p) if k in _SUMMARIES else _generic(p)
    except (KeyError, TypeError, ValueError, AttributeError):
        text = _generic(p)
    return one_line(text, limit)


def _generic(p: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in sorted(p.items()) if not isinstance(v, dict | list)]
    return ", ".join(parts) or "(no details)"


def _pin(p: dict[str, Any], lookup: Lookup | None) -> str:
    verb = "pinned" if p.get("pinned", True) else "unpinned"
    if p.get("summary"):
        return f"{verb}: {p['summary']}"
    target = str(p["target"])
    found = lookup(target) if lookup else None
    if found is None:
        return f"{verb} event {target[-6:]}"
    # The target is described without the lookup: a pin of a pin must not recurse.
    return f"{verb} {found.actor}'s {label(found.kind)}: {summarize(found)}"


def _action(p: dict[str, Any]) -> str:
    """ "Rollout restart of deployment/checkout in shop → done": each thing said once.

    Older consoles wrote the patch as the description and a result repeating the command
    ("kubectl ...: done (<patch>)"); for those the command is the headline.
    """
    text = str(p.get("description") or p.get("command") or "action")
    command = str(p.get("command") or "")
    result = one_line(str(p.get("result") or ""))
    if command and result.startswith(command):
        text, result = command, result[len(command) :].lstrip(" :").split(" (", 1)[0]
    if result == text:  # older consoles' failures: the message was the whole story
        return text
    ok = p.get("ok")
    if ok is False:
        outcome = "FAILED" + (f": {result}" if result else "")
    else:
        outcome = result or ("done" if ok else "")
    return f"{text} → {outcome}" if outcome else text


def _alert(p: dict[str, Any]) -> str:
    """ "CheckoutHighErrorRate firing [critical, checkout]: 5xx ratio 12%" (old events: the
    name, the source in brackets and the summary)."""
    if not p.get("fingerprint"):
        return (
            f"{p['name']}"
            + (f" ({p['source']})" if p.get("source") else "")
            + (f": {p['summary']}" if p.get("summary") else "")
        )
    state = "resolved" if p.get("ends_at") else "firing"
    tags = ", ".join(str(t) for t in (p.get("severity"), p.get("service")) if t)
    text = f"{p['name']} {state}" + (f" [{tags}]" if tags else "")
    return text + (f": {p['summary']}" if p.get("summary") else "")


def _item(p: dict[str, Any]) -> str:
    text = str(p["text"])
    if p.get("owner"):
        text += f" — owner {p['owner']}"
    if p.get("due"):
        text += f", due {p['due']}"
    return text


_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "declared": lambda p: (
        f"{p['severity']} declared: {p['title']}"
        + (f" — impact: {p['impact']}" if p.get("impact") else "")
    ),
    "severity_changed": lambda p: (
        f"severity → {p['severity']}" + (f" ({p['reason']})" if p.get("reason") else "")
    ),
    "status_changed": lambda p: (
        f"status → {p['status']}" + (f" ({p['reason']})" if p.get("reason") else "")
    ),
    "title_changed": lambda p: f"title → {p['title']}",
    "impact_changed": lambda p: f"impact → {p['impact']}",
    "components_changed": lambda p: "components → " + (", ".join(p["components"]) or "none"),
    "role_assigned": lambda p: f"{p['person']} is {_role(p['role'])}",
    "role_released": lambda p: (
        f"{_words(p['role'])} released" + (f" by {p['person']}" if p.get("person") else "")
    ),
    "note": lambda p: p["text"],
    "update_posted": lambda p: f"{p.get('audience', 'internal')} update posted: {p['body']}",
    "action_taken": _action,
    "alert_received": _alert,
    "alert_resolved": lambda p: f"{p['name']} resolved at {_time(p['ends_at'])}",
    "alert_attached": lambda p: (
        f"{p['name']} attached" + (f": {p['summary']}" if p.get("summary") else "")
    ),
    "alert_silenced": lambda p: (
        f"{p['name']} silenced: {p.get('reason', '')}"
        if p.get("silenced", True)
        else f"{p['name']} unsilenced"
    ),
    "log_pinned": lambda p: (
        f"{p['pod']}" + (f"/{p['container']}" if p.get("container") else "") + f": {p['text']}"
    ),
    "cluster_fact": lambda p: (
        f"{p['object']}"
        + (f" ({p['namespace']})" if p.get("namespace") else "")
        + f": {p['text']}"
        + (f" (seen {_time(p['observed_at'])})" if p.get("observed_at") else "")
    ),
    "milestone_set": lambda p: f"{_words(p['milestone'])} at {_time(p['at'])}",
    "checklist_checked": lambda p: ("☑ " if p.get("checked", True) else "☐ ") + p["item"],
    "action_item": _item,
    "postmortem_set": lambda p: f"{POSTMORTEM_FIELDS.get(p['field'], p['field'])}: {p['value']}",
    "cadence_snoozed": lambda p: f"updates snoozed until {_time(p['until'])}: {p['reason']}",
    "escalated": lambda p: _escalated(p),
    "delivery_sent": lambda p: (
        f"sent to {p['channel']} at {_time(p['at'])}"
        + (f" ({p['ref']})" if p.get("ref") else "")
        + (f" after {p['attempt']} attempts" if int(p.get("attempt", 1)) > 1 else "")
    ),
    "delivery_failed": lambda p: (
        f"{'retrying' if p.get('retry') else 'FAILED'} {p['channel']}: {p['reason']}"
        + (f" (attempt {p['attempt']})" if p.get("attempt") else "")
    ),
}


def _escalated(p: dict[str, Any]) -> str:
    """ "paged L2 (Backup on-call, Team Lead) via pagerduty-backup, auto: SEV1 not mitigated" """
    who = ", ".join(p.get("people") or ()) or "nobody named"
    via = f" via {', '.join(p['channels'])}" if p.get("channels") else ""
    how = "auto-paged" if p.get("auto") else "paged"
    reason = f": {p['reason']}" if p.get("reason") else ""
    return f"{how} L{p['level']} ({who}){via}{reason}"


def conflict_sides(values: list[str], limit: int = 3) -> str:
    """The sides of a conflict, at most `limit` of them and a count of the rest.

    Concurrent writes can number thousands (an importer that never names what it
    replaces), and a panel must stay one line.
    """
    shown = " vs ".join(values[:limit])
    return shown + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


def searchable(event: Event) -> str:
    """The words timeline search matches: the kind's label and the summary people read."""
    return f"{label(event.kind)} {summarize(event)}"
