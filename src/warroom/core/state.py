"""Incident state as a fold over events, independent of the order they arrive in.

Sync delivers events late and out of order, and a cached state must absorb them without a
refold. So every field is built from order-free pieces: last-writer-wins registers that keep
their entries sorted by (clock stamp, id), counters, and sorted lists. Applying the same set of
events in any order gives the same state (a property test proves it).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable
from dataclasses import astuple, dataclass, field, replace
from datetime import datetime
from typing import Any

from warroom.core.events import Event
from warroom.core.hlc import stamp_time
from warroom.core.policy import PUBLIC_AUDIENCE, STATUS_ORDER, Status

PROJECTION_VERSION = 3  # 2: dataclass state, entries stored as arrays; 3: escalations, posts
INITIAL = "initial"


@dataclass(frozen=True, slots=True)
class Entry:
    """One value written to a register by one event."""

    hlc: str
    id: str
    actor: str
    value: Any = None
    replaces: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.hlc, self.id)

    @property
    def time(self) -> datetime:
        return stamp_time(self.hlc)


@dataclass(slots=True)
class Register:
    """A last-writer-wins value that remembers every write, for history and conflicts."""

    entries: list[Entry] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        if not self.entries or entry.key > self.entries[-1].key:
            self.entries.append(entry)
            return
        keys = [e.key for e in self.entries]
        at = bisect.bisect_left(keys, entry.key)
        if at < len(keys) and keys[at] == entry.key:
            return
        self.entries.insert(at, entry)

    @property
    def current(self) -> Entry | None:
        return self.entries[-1] if self.entries else None

    @property
    def value(self) -> Any:
        return self.entries[-1].value if self.entries else None

    def conflicts(self) -> list[list[Entry]]:
        """Groups of writes made concurrently (they replaced the same write) that disagree."""
        groups: dict[str | None, list[Entry]] = {}
        for entry in self.entries:
            groups.setdefault(entry.replaces, []).append(entry)
        return [
            group
            for group in groups.values()
            if len(group) > 1 and len({repr(e.value) for e in group}) > 1
        ]

    def copy(self) -> Register:
        return Register(list(self.entries))  # entries are immutable and can be shared


@dataclass(frozen=True, slots=True)
class ActionItemRef:
    hlc: str
    id: str
    actor: str
    text: str
    owner: str = ""
    due: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateRef:
    hlc: str
    id: str
    actor: str
    audience: str
    template: str
    next_update_at: str | None = None

    @property
    def time(self) -> datetime:
        return stamp_time(self.hlc)


@dataclass(frozen=True, slots=True)
class EscalationRef:
    """A level of the ladder paged: by whom (actor), who (people, channels) and why."""

    hlc: str
    id: str
    actor: str
    level: int
    people: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    reason: str = ""
    auto: bool = False

    @property
    def time(self) -> datetime:
        return stamp_time(self.hlc)


@dataclass(frozen=True, slots=True)
class PostRef:
    """An update posted for the status page (`PUBLIC_AUDIENCE`): public words, kept whole so
    the public page and the Statuspage channel need no other read. No actor: it is public."""

    hlc: str
    id: str
    template: str
    body: str

    @property
    def time(self) -> datetime:
        return stamp_time(self.hlc)


@dataclass(frozen=True, slots=True)
class Tenure:
    role: str
    person: str
    start: datetime
    end: datetime | None
    by: str


@dataclass(frozen=True, slots=True)
class Transition:
    old: str | None
    new: str
    at: datetime
    actor: str
    warning: str | None


@dataclass(frozen=True, slots=True)
class Conflict:
    field: str
    entries: tuple[Entry, ...]

    @property
    def winner(self) -> Entry:
        return self.entries[-1]


def transition_warning(old: str | None, new: str) -> str | None:
    """Why a status change is unusual, or None. Unusual changes are recorded, never refused."""
    if old is None:
        return None
    if old == new:
        return f"status was already {new}"
    a, b = STATUS_ORDER.index(Status(old)), STATUS_ORDER.index(Status(new))
    if b < a:
        return f"moved back from {old} to {new}" + (" (reopened)" if old == "resolved" else "")
    if b > a + 1:
        skipped = ", ".join(s.value for s in STATUS_ORDER[a + 1 : b])
        return f"skipped {skipped}"
    return None


_REGISTERS = ("title", "severity", "status", "impact", "components", "snooze")
_KEYED = ("roles", "milestones", "checklist", "postmortem", "pins")
_SCALARS = (
    "incident_id",
    "declared_id",
    "declared_hlc",
    "declared_by",
    "update_count",
    "first_alert_hlc",
    "event_count",
    "max_hlc",
)


@dataclass
class IncidentState:
    """Everything the console shows about an incident except the event list itself.

    A plain dataclass, not a pydantic model: the console folds and loads it before its
    first frame, and its snapshot (`to_json`) is the store's own trusted data.
    """

    incident_id: str
    declared_id: str | None = None
    declared_hlc: str | None = None
    declared_by: str | None = None
    title: Register = field(default_factory=Register)
    severity: Register = field(default_factory=Register)
    status: Register = field(default_factory=Register)
    impact: Register = field(default_factory=Register)
    components: Register = field(default_factory=Register)
    roles: dict[str, Register] = field(default_factory=dict)
    milestones: dict[str, Register] = field(default_factory=dict)
    checklist: dict[str, Register] = field(default_factory=dict)
    postmortem: dict[str, Register] = field(default_factory=dict)
    pins: dict[str, Register] = field(default_factory=dict)
    snooze: Register = field(default_factory=Register)
    last_update: UpdateRef | None = None
    update_count: int = 0
    action_items: list[ActionItemRef] = field(default_factory=list)
    escalations: list[EscalationRef] = field(default_factory=list)
    """Every level paged, in (hlc, id) order."""
    public_posts: list[PostRef] = field(default_factory=list)
    """Status-page updates, in (hlc, id) order."""
    first_alert_hlc: str | None = None
    event_count: int = 0
    kind_counts: dict[str, int] = field(default_factory=dict)
    max_hlc: str = ""

    # -- copying and snapshots -----------------------------------------------------------

    def copy(self) -> IncidentState:
        """An independent copy (what the store hands out must never change under a holder).

        Entries and refs are immutable, so only the containers are copied.
        """
        other = replace(self)
        for name in _REGISTERS:
            setattr(other, name, getattr(self, name).copy())
        for name in _KEYED:
            setattr(other, name, {k: r.copy() for k, r in getattr(self, name).items()})
        other.action_items = list(self.action_items)
        other.escalations = list(self.escalations)
        other.public_posts = list(self.public_posts)
        other.kind_counts = dict(self.kind_counts)
        return other

    def to_json(self) -> str:
        """Compact JSON for the store's snapshot cache; entries are arrays, not objects."""

        def reg(r: Register) -> list[list[Any]]:
            return [[e.hlc, e.id, e.actor, e.value, e.replaces] for e in r.entries]

        data: dict[str, Any] = {name: getattr(self, name) for name in _SCALARS}
        data.update({name: reg(getattr(self, name)) for name in _REGISTERS})
        for name in _KEYED:
            data[name] = {k: reg(r) for k, r in getattr(self, name).items()}
        data["last_update"] = astuple(self.last_update) if self.last_update else None
        data["action_items"] = [astuple(i) for i in self.action_items]
        data["escalations"] = [astuple(i) for i in self.escalations]
        data["public_posts"] = [astuple(i) for i in self.public_posts]
        data["kind_counts"] = self.kind_counts
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> IncidentState:
        """The state `to_json` wrote; ValueError (or KeyError/TypeError) if it is not one."""
        data = json.loads(text)

        def reg(rows: list[list[Any]]) -> Register:
            return Register([Entry(*row) for row in rows])

        state = cls(**{name: data[name] for name in _SCALARS})
        for name in _REGISTERS:
            setattr(state, name, reg(data[name]))
        for name in _KEYED:
            setattr(state, name, {k: reg(rows) for k, rows in data[name].items()})
        state.last_update = UpdateRef(*data["last_update"]) if data["last_update"] else None
        state.action_items = [ActionItemRef(*row) for row in data["action_items"]]
        state.escalations = [
            EscalationRef(row[0], row[1], row[2], row[3], tuple(row[4]), tuple(row[5]), *row[6:])
            for row in data["escalations"]
        ]
        state.public_posts = [PostRef(*row) for row in data["public_posts"]]
        state.kind_counts = dict(data["kind_counts"])
        return state

    # -- folding -------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Fold one event in. Each event must be applied once (the store guarantees ids)."""
        self.event_count += 1
        self.kind_counts[event.kind] = self.kind_counts.get(event.kind, 0) + 1
        self.max_hlc = max(self.max_hlc, event.hlc)
        handler = _HANDLERS.get(event.kind)
        if handler is not None:
            try:
                handler(self, event, event.payload)
            except (KeyError, TypeError, ValueError):
                # A malformed payload from a trusted store is counted, never fatal.
                self.kind_counts["invalid"] = self.kind_counts.get("invalid", 0) + 1

    def _entry(self, event: Event, value: Any) -> Entry:
        return Entry(
            hlc=event.hlc,
            id=event.id,
            actor=event.actor,
            value=value,
            replaces=event.payload.get("replaces"),
        )

    # -- reading -------------------------------------------------------------------------

    @property
    def declared_at(self) -> datetime | None:
        return stamp_time(self.declared_hlc) if self.declared_hlc else None

    @property
    def current_status(self) -> str:
        return self.status.value or Status.INVESTIGATING.value

    @property
    def current_severity(self) -> str:
        return self.severity.value or "SEV4"

    @property
    def is_resolved(self) -> bool:
        return self.current_status == Status.RESOLVED.value

    def holder(self, role: str) -> Entry | None:
        """The current assignment of a role, or None when nobody holds it."""
        reg = self.roles.get(role)
        if reg is None or reg.current is None or reg.current.value is None:
            return None
        return reg.current

    def role_history(self, role: str) -> list[Tenure]:
        """Who held a role from when to when; each write ends the tenure before it."""
        reg = self.roles.get(role)
        if reg is None:
            return []
        out: list[Tenure] = []
        entries = reg.entries
        for i, entry in enumerate(entries):
            if entry.value is None:
                continue
            end = entries[i + 1].time if i + 1 < len(entries) else None
            out.append(Tenure(role, entry.value, entry.time, end, entry.actor))
        return out

    def transitions(self) -> list[Transition]:
        out: list[Transition] = []
        old: str | None = None
        for entry in self.status.entries:
            warning = transition_warning(old, entry.value)
            out.append(Transition(old, entry.value, entry.time, entry.actor, warning))
            old = entry.value
        return out

    def conflicts(self) -> list[Conflict]:
        registers: list[tuple[str, Register]] = [
            ("title", self.title),
            ("severity", self.severity),
            ("status", self.status),
            ("impact", self.impact),
            ("components", self.components),
        ]
        registers += [(f"role {k}", r) for k, r in sorted(self.roles.items())]
        registers += [(f"milestone {k}", r) for k, r in sorted(self.milestones.items())]
        registers += [(f"postmortem {k}", r) for k, r in sorted(self.postmortem.items())]
        return [
            Conflict(name, tuple(group)) for name, reg in registers for group in reg.conflicts()
        ]

    def register_for(self, kind: str, payload: dict[str, Any]) -> Register | None:
        """The last-writer-wins register an event of this kind and payload writes to."""
        keyed = _KEYED_REGISTERS.get(kind)
        if keyed is not None:
            registers: dict[str, Register] = getattr(self, keyed[0])
            return registers.get(str(payload.get(keyed[1], "")))
        name = _FIELD_REGISTERS.get(kind)
        return getattr(self, name) if name else None

    def with_replaces(
        self, kind: str, payload: dict[str, Any], written: dict[tuple[str, str], str] | None = None
    ) -> dict[str, Any]:
        """The payload naming the write it replaces, as every writer must (see `Replacing`).

        `written` maps `register_key`s to ids of events planned earlier in the same batch
        but not yet folded into this state, so a batch's second write replaces its first.
        """
        key = register_key(kind, payload)
        if key is None:
            return payload
        if written and key in written:
            return {**payload, "replaces": written[key]}
        reg = self.register_for(kind, payload)
        return {**payload, "replaces": reg.current.id if reg and reg.current else None}

    def is_pinned(self, event_id: str) -> bool:
        reg = self.pins.get(event_id)
        return bool(reg and reg.value)

    def pinned_ids(self) -> list[str]:
        return sorted(k for k, reg in self.pins.items() if reg.value)

    def checked(self, item: str) -> bool:
        reg = self.checklist.get(item)
        return bool(reg and reg.value)

    def escalated_to(self) -> int:
        """The highest level of the ladder paged so far (0: none)."""
        return max((e.level for e in self.escalations), default=0)

    def milestone(self, name: str) -> datetime | None:
        """An explicitly set milestone (back-datable), or None."""
        reg = self.milestones.get(name)
        return datetime.fromisoformat(reg.value) if reg and reg.value else None

    def status_reached(self, status: str) -> datetime | None:
        """When the status was first set to `status`; for resolved, the last time (reopens)."""
        hits = [e.time for e in self.status.entries if e.value == status]
        if not hits:
            return None
        return hits[-1] if status == Status.RESOLVED.value else hits[0]


def _declared(s: IncidentState, e: Event, p: dict[str, Any]) -> None:
    if s.declared_hlc is None or (e.hlc, e.id) < (s.declared_hlc, s.declared_id or ""):
        s.declared_id, s.declared_hlc, s.declared_by = e.id, e.hlc, e.actor
    # Initial values replace nothing and so never conflict with the first change.
    base = {"hlc": e.hlc, "id": e.id, "actor": e.actor, "replaces": INITIAL}
    s.title.add(Entry(**base, value=p["title"]))
    s.severity.add(Entry(**base, value=p["severity"]))
    s.status.add(Entry(**base, value=p.get("status", Status.INVESTIGATING.value)))
    s.impact.add(Entry(**base, value=p.get("impact", "")))
    s.components.add(Entry(**base, value=list(p.get("components", []))))


Handler = Callable[["IncidentState", Event, dict[str, Any]], None]


def _field(name: str, key: str) -> Handler:
    def handler(s: IncidentState, e: Event, p: dict[str, Any]) -> None:
        getattr(s, name).add(s._entry(e, p[key]))

    return handler


def _keyed(name: str, key: str, value_key: str | None, default: Any = None) -> Handler:
    def handler(s: IncidentState, e: Event, p: dict[str, Any]) -> None:
        registers: dict[str, Register] = getattr(s, name)
        value = p.get(value_key, default) if value_key else default
        registers.setdefault(p[key], Register()).add(s._entry(e, value))

    return handler


def _note(s: IncidentState, e: Event, p: dict[str, Any]) -> None:
    if p.get("pinned"):
        s.pins.setdefault(e.id, Register()).add(s._entry(e, True))


def _insort(items: list[Any], item: Any) -> None:
    """Insert a ref (with hlc and id) in (hlc, id) order, once."""
    keys = [(i.hlc, i.id) for i in items]
    at = bisect.bisect_left(keys, (item.hlc, item.id))
    if at == len(keys) or keys[at] != (item.hlc, item.id):
        items.insert(at, item)


def _escalated(s: IncidentState, e: Event, p: dict[str, Any]) -> None:
    ref = EscalationRef(
        hlc=e.hlc,
        id=e.id,
        actor=e.actor,
        level=int(p["level"]),
        people=tuple(str(x) for x in p.get("people", ())),
        channels=tuple(str(x) for x in p.get("channels", ())),
        reason=str(p.get("reason", "")),
        auto=bool(p.get("auto", False)),
    )
    _insort(s.escalations, ref)


def _update(s: IncidentState, e: Event, p: dict[str, Any]) -> None:
    if p.get("audience") == PUBLIC_AUDIENCE:
        post = PostRef(e.hlc, e.id, str(p.get("template", "")), str(p.get("body", "")))
        _insort(s.public_posts, post)
    s.update_count += 1
    if s.last_update is None or (e.hlc, e.id) > (s.last_update.hlc, s.last_update.id):
        s.last_update = UpdateRef(
            hlc=e.hlc,
            id=e.id,
            actor=e.actor,
            audience=p.get("audience", ""),
            template=p.get("template", ""),
            next_update_at=p.get("next_update_at"),
        )


def _alert(s: IncidentState, e: Event, p: dict[str, Any]) -> None:
    if s.first_alert_hlc is None or e.hlc < s.first_alert_hlc:
        s.first_alert_hlc = e.hlc


def _action_item(s: IncidentState, e: Event, p: dict[str, Any]) -> None:
    item = ActionItemRef(
        hlc=e.hlc,
        id=e.id,
        actor=e.actor,
        text=p["text"],
        owner=p.get("owner", ""),
        due=p.get("due"),
    )
    keys = [(i.hlc, i.id) for i in s.action_items]
    at = bisect.bisect_left(keys, (e.hlc, e.id))
    if at == len(keys) or keys[at] != (e.hlc, e.id):
        s.action_items.insert(at, item)


def _snooze(s: IncidentState, e: Event, p: dict[str, Any]) -> None:
    s.snooze.add(s._entry(e, {"until": p["until"], "reason": p["reason"]}))


_HANDLERS = {
    "declared": _declared,
    "severity_changed": _field("severity", "severity"),
    "status_changed": _field("status", "status"),
    "title_changed": _field("title", "title"),
    "impact_changed": _field("impact", "impact"),
    "components_changed": _field("components", "components"),
    "role_assigned": _keyed("roles", "role", "person"),
    "role_released": _keyed("roles", "role", None),
    "note": _note,
    "pin": _keyed("pins", "target", "pinned", True),
    "update_posted": _update,
    "alert_received": _alert,
    "milestone_set": _keyed("milestones", "milestone", "at"),
    "checklist_checked": _keyed("checklist", "item", "checked", True),
    "action_item": _action_item,
    "postmortem_set": _keyed("postmortem", "field", "value"),
    "cadence_snoozed": _snooze,
    "escalated": _escalated,
}


_FIELD_REGISTERS = {
    "severity_changed": "severity",
    "status_changed": "status",
    "title_changed": "title",
    "impact_changed": "impact",
    "components_changed": "components",
}
_KEYED_REGISTERS = {
    "role_assigned": ("roles", "role"),
    "role_released": ("roles", "role"),
    "milestone_set": ("milestones", "milestone"),
    "checklist_checked": ("checklist", "item"),
    "postmortem_set": ("postmortem", "field"),
    "pin": ("pins", "target"),
}


def register_key(kind: str, payload: dict[str, Any]) -> tuple[str, str] | None:
    """Which last-writer-wins register an event writes to, as a hashable key (None: none)."""
    keyed = _KEYED_REGISTERS.get(kind)
    if keyed is not None:
        return (keyed[0], str(payload.get(keyed[1], "")))
    name = _FIELD_REGISTERS.get(kind)
    return (name, "") if name else None


def project(events: list[Event], incident_id: str | None = None) -> IncidentState:
    """Fold a set of events (any order) into a fresh state."""
    if incident_id is None:
        incident_id = events[0].incident_id if events else ""
    state = IncidentState(incident_id=incident_id)
    for event in events:
        state.apply(event)
    return state
