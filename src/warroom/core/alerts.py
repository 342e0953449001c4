"""Alerts from monitoring: the inbox and each incident's alerts, folded from alert events.

An alert is one firing of a monitoring rule, known by its fingerprint (a hash of its labels,
made by Alertmanager or Grafana) and the moment it started: Alertmanager sends a firing alert
again and again, and a re-fire after resolution is a new firing with a new start. Four event
kinds tell what happened to it:

- `alert_received`: warroom heard of it (the server writes it once per firing), in the
  incident it matched at intake or in the inbox (`INBOX`, a pseudo-incident nobody declares,
  so it syncs to every console like any incident and is never listed as one);
- `alert_resolved`: monitoring said it ended (a real `endsAt`);
- `alert_attached`: someone attached it to an incident (the latest attachment wins);
- `alert_silenced`: someone silenced it in the inbox, with a reason (the latest word wins).

These events sit in different incidents' logs and arrive in any order, so `AlertBoard` folds
them from every incident, order-free like `IncidentState`: the first receipt of a firing and
last-writer-wins marks, all ordered by (clock stamp, id). It also keeps a brief of every
incident (declared, status, components): what the server matches new alerts against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from warroom.core.events import Event
from warroom.core.hlc import stamp_time
from warroom.core.policy import AlertRules

INBOX = "00000000000000000000A1ERTS"
"""The pseudo-incident alerts wait in until someone attaches them, declares or silences them."""

ALERT_KINDS = ("alert_received", "alert_resolved", "alert_attached", "alert_silenced")
BOARD_KINDS = ("declared", "status_changed", "components_changed", *ALERT_KINDS)
"""Every kind the board folds: stores read only these (an index covers them)."""

# Bounds of what an alert may carry, for the webhooks, the commands and the stored payloads.
MAX_LABELS = 64
MAX_ANNOTATIONS = 32
MAX_NAME = 256
"""A label or annotation name, in characters."""
MAX_LABEL_VALUE = 1024
MAX_ANNOTATION_VALUE = 8192
MAX_URL = 2048
MAX_GROUP_KEY = 4096
MAX_VALUES = 32
FINGERPRINT_RE = r"^[0-9A-Za-z._:-]{1,128}$"

LINKS = (
    ("url", "source"),
    ("dashboard_url", "dashboard"),
    ("panel_url", "panel"),
    ("silence_url", "silence"),
    ("image_url", "image"),
)
"""Payload field -> what the link is, in the order people want them."""


def alert_key(fingerprint: str, starts_at: datetime | str | None) -> str:
    """One firing's identity: its fingerprint and start, the start in UTC microseconds."""
    moment = _moment(starts_at) if isinstance(starts_at, str) else starts_at
    if moment is not None:
        return f"{fingerprint}@{moment.astimezone(UTC).isoformat(timespec='microseconds')}"
    return f"{fingerprint}@{starts_at or ''}"


def fingerprint_of(labels: Mapping[str, str]) -> str:
    """A fingerprint for an alert that came without one: 16 hex digits of its sorted labels."""
    text = "\x1f".join(f"{k}\x1e{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Mark:
    """One write about an alert or an incident; the greatest (hlc, id) wins."""

    hlc: str
    id: str
    actor: str
    incident_id: str
    value: Any = None

    @property
    def order(self) -> tuple[str, str]:
        return (self.hlc, self.id)


def _later(old: Mark | None, new: Mark) -> Mark:
    return new if old is None or new.order > old.order else old


@dataclass(frozen=True, slots=True)
class Brief:
    """What the board knows of an incident: enough to match alerts against it."""

    incident_id: str
    declared: tuple[str, str] | None = None
    title: Mark | None = None
    status: Mark | None = None
    components: Mark | None = None

    @property
    def is_open(self) -> bool:
        return self.declared is not None and (
            self.status is None or self.status.value != "resolved"
        )

    @property
    def component_names(self) -> tuple[str, ...]:
        value = self.components.value if self.components else ()
        return tuple(str(c) for c in value) if isinstance(value, list | tuple) else ()


@dataclass(frozen=True, slots=True)
class Alert:
    """One firing as the board sees it now: what it says, where it is, whether it ended."""

    key: str
    id: str
    """The `alert_received` event (the first one, if a firing was received twice)."""
    name: str
    fingerprint: str
    starts_at: datetime | None
    received_at: datetime
    """When warroom first heard of it (the server's clock)."""
    incident_id: str
    """Where it is now: the incident it was received in or attached to last, or INBOX."""
    ends_at: datetime | None = None
    """When monitoring said it ended; None while it fires."""
    summary: str = ""
    severity: str = ""
    service: str = ""
    group_key: str = ""
    source: str = ""
    receiver: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    links: tuple[tuple[str, str], ...] = ()
    """(what, url): source (generatorURL), dashboard, panel, silence, image."""
    attached_by: str = ""
    silenced: bool = False
    silence_reason: str = ""
    silenced_by: str = ""

    @property
    def firing(self) -> bool:
        """Still firing. An alert recorded by an older warroom (no fingerprint) has no
        lifecycle to follow: it is evidence, never counted as firing."""
        return self.ends_at is None and bool(self.fingerprint)

    @property
    def in_inbox(self) -> bool:
        return self.incident_id == INBOX

    @property
    def since(self) -> datetime:
        """When it started firing (its start, else when warroom heard of it)."""
        return self.starts_at or self.received_at

    @property
    def headline(self) -> str:
        """What an incident declared from it is called: its summary, else its name."""
        visible = any(ch.isprintable() and not ch.isspace() for ch in self.summary)
        return self.summary if visible else self.name

    @property
    def state(self) -> str:
        if not self.fingerprint:
            return "noted"
        if not self.firing:
            return "resolved"
        return "silenced" if self.silenced else "firing"


@dataclass
class AlertBoard:
    """Every alert and every incident's brief; fold events in with `apply` (any order)."""

    received: dict[str, Event] = field(default_factory=dict)
    resolved: dict[str, Mark] = field(default_factory=dict)
    attached: dict[str, Mark] = field(default_factory=dict)
    silenced: dict[str, Mark] = field(default_factory=dict)
    briefs: dict[str, Brief] = field(default_factory=dict)
    groups: dict[str, frozenset[str]] = field(default_factory=dict)
    """Group key -> the keys of the alerts received under it."""
    invalid: int = 0
    _views: dict[str, Alert] = field(default_factory=dict, repr=False, compare=False)
    """Views made so far; an event about an alert drops that alert's (views are immutable,
    so a copy shares them)."""
    _order: list[Alert] | None = field(default=None, repr=False, compare=False)

    def copy(self) -> AlertBoard:
        """An independent copy: what a store hands out must never change under its holder."""
        return AlertBoard(
            dict(self.received),
            dict(self.resolved),
            dict(self.attached),
            dict(self.silenced),
            dict(self.briefs),
            dict(self.groups),
            self.invalid,
            dict(self._views),
            self._order,
        )

    # -- folding ----------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Fold one event in (others are ignored); a malformed one is counted, never fatal."""
        handler = _HANDLERS.get(event.kind)
        if handler is None:
            return
        try:
            key = handler(self, event, event.payload)
        except (KeyError, TypeError, ValueError, AttributeError):
            self.invalid += 1
            return
        if key is not None:
            self._views.pop(key, None)
            self._order = None

    def apply_all(self, events: Iterable[Event]) -> AlertBoard:
        for event in events:
            self.apply(event)
        return self

    def _receive(self, e: Event, p: dict[str, Any]) -> str:
        fingerprint = str(p.get("fingerprint") or "")
        key = alert_key(fingerprint, p.get("fired_at")) if fingerprint else f"event:{e.id}"
        old = self.received.get(key)
        if old is None or (e.hlc, e.id) < (old.hlc, old.id):
            self.received[key] = e
        group = str(p.get("group_key") or "")
        if group:
            self.groups[group] = self.groups.get(group, frozenset()) | {key}
        ends = _moment(p.get("ends_at"))
        if ends is not None:  # received already resolved
            mark = Mark(e.hlc, e.id, e.actor, e.incident_id, ends.isoformat())
            self.resolved[key] = _later(self.resolved.get(key), mark)
        return key

    def _mark(self, marks: dict[str, Mark], e: Event, p: dict[str, Any], value: Any) -> str:
        key = alert_key(str(p["fingerprint"]), p["starts_at"])
        marks[key] = _later(marks.get(key), Mark(e.hlc, e.id, e.actor, e.incident_id, value))
        return key

    def _brief(self, e: Event, **changes: Mark) -> None:
        brief = self.briefs.get(e.incident_id) or Brief(e.incident_id)
        update: dict[str, Any] = {k: _later(getattr(brief, k), m) for k, m in changes.items()}
        self.briefs[e.incident_id] = replace(brief, **update)

    def _declared(self, e: Event, p: dict[str, Any]) -> None:
        brief = self.briefs.get(e.incident_id) or Brief(e.incident_id)
        if brief.declared is None or (e.hlc, e.id) < brief.declared:
            self.briefs[e.incident_id] = replace(brief, declared=(e.hlc, e.id))
        # The declaration's values lose to any later change (smaller stamps, "" before ids).
        initial = (e.hlc, "", e.actor, e.incident_id)
        self._brief(
            e,
            title=Mark(*initial, str(p["title"])),
            status=Mark(*initial, str(p.get("status", "investigating"))),
            components=Mark(*initial, list(p.get("components", []))),
        )

    # -- reading ----------------------------------------------------------------------------

    def _all(self) -> dict[str, Alert]:
        if len(self._views) < len(self.received):
            for key, event in self.received.items():
                if key not in self._views:
                    self._views[key] = self._view(key, event)
        return self._views

    def _view(self, key: str, e: Event) -> Alert:
        p = e.payload
        attached = self.attached.get(key)
        resolved = self.resolved.get(key)
        silenced = self.silenced.get(key)
        silence = silenced.value if silenced and isinstance(silenced.value, list | tuple) else None
        labels = _strings(p.get("labels"))
        return Alert(
            key=key,
            id=e.id,
            name=_text(p.get("name")) or "alert",
            fingerprint=_text(p.get("fingerprint")),
            starts_at=_moment(p.get("fired_at")),
            received_at=_moment(p.get("received_at")) or stamp_time(e.hlc),
            incident_id=attached.incident_id if attached else e.incident_id,
            ends_at=_moment(resolved.value) if resolved else None,
            summary=_text(p.get("summary")),
            severity=_text(p.get("severity")),
            service=_text(p.get("service")),
            group_key=_text(p.get("group_key")),
            source=_text(p.get("source")),
            receiver=_text(p.get("receiver")),
            labels=labels,
            annotations=_strings(p.get("annotations")),
            links=tuple((what, url) for name, what in LINKS if (url := _text(p.get(name)))),
            attached_by=attached.actor if attached else "",
            silenced=bool(silence and silence[0]),
            silence_reason=str(silence[1]) if silence and silence[0] else "",
            silenced_by=silenced.actor if silence and silence[0] and silenced else "",
        )

    def alert(self, key: str) -> Alert | None:
        view = self._views.get(key)
        if view is None and (event := self.received.get(key)) is not None:
            view = self._views[key] = self._view(key, event)
        return view

    def alerts(self) -> list[Alert]:
        """Every alert, newest first."""
        if self._order is None:
            views = self._all().values()
            self._order = sorted(views, key=lambda a: (a.since, a.id), reverse=True)
        return list(self._order)

    def inbox(self, *, silenced: bool = False) -> list[Alert]:
        """Alerts waiting in the inbox: firing ones first, newest first; silenced ones only
        when asked."""
        waiting = [a for a in self.alerts() if a.in_inbox and (silenced or not a.silenced)]
        return sorted(waiting, key=lambda a: not a.firing)

    def of_incident(self, incident_id: str) -> list[Alert]:
        """An incident's alerts: firing ones first, newest first."""
        mine = [a for a in self.alerts() if a.incident_id == incident_id]
        return sorted(mine, key=lambda a: not a.firing)

    def firing(self, incident_id: str) -> list[Alert]:
        return [a for a in self.of_incident(incident_id) if a.firing]

    def inbox_firing(self) -> int:
        """How many alerts fire in the inbox, silenced ones aside: the header's number."""
        return sum(1 for a in self._all().values() if a.in_inbox and a.firing and not a.silenced)

    def open_incidents(self) -> list[Brief]:
        """Declared, unresolved incidents, the most recently declared first."""
        found = [b for b in self.briefs.values() if b.is_open and b.incident_id != INBOX]
        return sorted(found, key=lambda b: b.declared or ("", ""), reverse=True)

    def find(self, ref: str) -> Alert:
        """The alert whose fingerprint starts with `ref` (its latest firing); LookupError says
        why there is none or what to do when several fingerprints match."""
        wanted = ref.strip().lower()
        if not wanted:
            raise LookupError("give an alert's fingerprint, or a unique prefix of it")
        hits = [a for a in self.alerts() if a.fingerprint.lower().startswith(wanted)]
        if not hits:
            raise LookupError(f"no alert's fingerprint starts with {ref!r} (see `warroom alerts`)")
        prints = {a.fingerprint for a in hits}
        if len(prints) > 1:
            raise LookupError(
                f"{ref!r} starts {len(prints)} alerts' fingerprints; give more characters"
            )
        return hits[0]  # newest first: the latest firing of that fingerprint

    def match(self, *, service: str, group_key: str, rules: AlertRules) -> str | None:
        """The open incident a new alert belongs to, or None (the inbox).

        Its group already attached to an open incident wins (the incident that has the
        group's latest alert); else an open incident one of whose components is the alert's
        service (the most recently declared).
        """
        if not rules.attach:
            return None
        open_ids = {b.incident_id for b in self.open_incidents()}
        if group_key and (keys := self.groups.get(group_key)):
            views = self._all()
            mine = [views[k] for k in keys if k in views and views[k].incident_id in open_ids]
            if mine:
                return max(mine, key=lambda a: (a.received_at, a.id)).incident_id
        wanted = service.strip().casefold()
        if wanted:
            for brief in self.open_incidents():
                if any(c.strip().casefold() == wanted for c in brief.component_names):
                    return brief.incident_id
        return None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def _status(board: AlertBoard, e: Event, p: dict[str, Any]) -> None:
    board._brief(e, status=Mark(e.hlc, e.id, e.actor, e.incident_id, str(p["status"])))


def _components(board: AlertBoard, e: Event, p: dict[str, Any]) -> None:
    value = list(p["components"])
    board._brief(e, components=Mark(e.hlc, e.id, e.actor, e.incident_id, value))


def _resolved(board: AlertBoard, e: Event, p: dict[str, Any]) -> str:
    ends = _moment(p.get("ends_at")) or stamp_time(e.hlc)
    return board._mark(board.resolved, e, p, ends.isoformat())


def _attached(board: AlertBoard, e: Event, p: dict[str, Any]) -> str:
    return board._mark(board.attached, e, p, None)


def _silenced(board: AlertBoard, e: Event, p: dict[str, Any]) -> str:
    silence = (bool(p.get("silenced", True)), str(p.get("reason", "")))
    return board._mark(board.silenced, e, p, silence)


Handler = Callable[[AlertBoard, Event, dict[str, Any]], str | None]

_HANDLERS: dict[str, Handler] = {
    "declared": AlertBoard._declared,
    "status_changed": _status,
    "components_changed": _components,
    "alert_received": AlertBoard._receive,
    "alert_resolved": _resolved,
    "alert_attached": _attached,
    "alert_silenced": _silenced,
}


def board_of(events: Iterable[Event]) -> AlertBoard:
    """Fold a set of events (any order) into a fresh board."""
    return AlertBoard().apply_all(events)
