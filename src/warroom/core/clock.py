"""Cadence, escalation and metrics: pure functions of incident state, policy and `now`.

Nothing here reads a clock: the caller passes `now`, so the console recomputes a deadline on
every tick (deadline minus now, never a decremented counter) and tests freeze time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from warroom.core.hlc import stamp_time
from warroom.core.policy import EscalationStep, Policy, Status
from warroom.core.state import IncidentState

CadenceLevel = Literal["ok", "amber", "overdue", "stopped"]


@dataclass(frozen=True, slots=True)
class Cadence:
    level: CadenceLevel
    every: timedelta
    last_update_at: datetime | None
    due_at: datetime | None
    remaining: timedelta | None
    snoozed_until: datetime | None = None
    snooze_reason: str = ""


def cadence(state: IncidentState, policy: Policy, now: datetime) -> Cadence:
    """When the next stakeholder update is due, and how urgent that is.

    The clock runs from the last posted update (or the declaration). An update that promised
    an earlier next-update time is held to it. A snooze made after the last update pushes
    the deadline out. A resolved incident has no cadence.
    """
    every = policy.severity(state.current_severity).update_every
    last = state.last_update.time if state.last_update else None
    if state.is_resolved:
        return Cadence("stopped", every, last, None, None)
    start = last or state.declared_at
    if start is None:
        return Cadence("stopped", every, last, None, None)
    due = start + every
    if state.last_update and state.last_update.next_update_at:
        due = min(due, datetime.fromisoformat(state.last_update.next_update_at))
    snoozed_until, reason = None, ""
    snooze = state.snooze.current
    if snooze is not None and (state.last_update is None or snooze.hlc > state.last_update.hlc):
        until = datetime.fromisoformat(snooze.value["until"])
        if until > due:
            due, snoozed_until, reason = until, until, snooze.value["reason"]
    remaining = due - now
    if remaining <= timedelta(0):
        level: CadenceLevel = "overdue"
    elif remaining <= min(policy.amber_before, every / 4):
        level = "amber"
    else:
        level = "ok"
    return Cadence(level, every, last, due, remaining, snoozed_until, reason)


@dataclass(frozen=True, slots=True)
class Escalation:
    step: EscalationStep
    elapsed: timedelta
    people: list[str]
    next_step: EscalationStep | None
    next_at: datetime | None


def escalation(state: IncidentState, policy: Policy, now: datetime) -> Escalation | None:
    """The rung of the escalation ladder that elapsed time has reached (from detection)."""
    start = detected_at(state)
    if start is None:
        return None
    elapsed = (resolved_at(state) or now) - start
    ladder = policy.escalation_for(state.current_severity)
    reached = [s for s in ladder if elapsed >= s.after] or ladder[:1]
    step = reached[-1]
    later = [s for s in ladder if s.after > elapsed]
    nxt = later[0] if later and not state.is_resolved else None
    return Escalation(
        step,
        elapsed,
        step.people(state.current_severity),
        nxt,
        start + nxt.after if nxt else None,
    )


def escalation_due(state: IncidentState, policy: Policy, now: datetime) -> EscalationStep | None:
    """The level to page now, or None: the rung elapsed time has reached, when it is above
    level 1 (the on-call who declared, or whom the declaration paged), nobody has paged it
    or a higher one yet, and the incident is neither mitigated nor resolved."""
    if state.is_resolved or mitigated_at(state) is not None:
        return None
    esc = escalation(state, policy, now)
    if esc is None or esc.step.level <= 1 or state.escalated_to() >= esc.step.level:
        return None
    return esc.step


def escalation_reason(state: IncidentState, policy: Policy, now: datetime, level: int) -> str:
    """Why a level is paged, as the timeline keeps it: "SEV1 open 32m, not mitigated
    (L3 from 30m)"."""
    esc = escalation(state, policy, now)
    ladder = {s.level: s for s in policy.escalation_for(state.current_severity)}
    step = ladder.get(level)
    elapsed = format_duration(esc.elapsed) if esc else "—"
    when = f" (L{level} from {format_duration(step.after)})" if step else ""
    return f"{state.current_severity} open {elapsed}, not mitigated{when}"


# -- milestones, with the defaults a responder would assume ---------------------------------


def impact_started_at(state: IncidentState) -> datetime | None:
    return state.milestone("impact_started")


def detected_at(state: IncidentState) -> datetime | None:
    """Explicit, else the first alert, else the declaration."""
    if at := state.milestone("detected"):
        return at
    if state.first_alert_hlc:
        return stamp_time(state.first_alert_hlc)
    return state.declared_at


def acknowledged_at(state: IncidentState) -> datetime | None:
    """Explicit, else the declaration: declaring an incident acknowledges it."""
    return state.milestone("acknowledged") or state.declared_at


def identified_at(state: IncidentState) -> datetime | None:
    return state.milestone("identified") or state.status_reached(Status.IDENTIFIED.value)


def mitigated_at(state: IncidentState) -> datetime | None:
    return state.milestone("mitigated") or state.status_reached(Status.MONITORING.value)


def resolved_at(state: IncidentState) -> datetime | None:
    if not state.is_resolved:
        return None
    return state.milestone("resolved") or state.status_reached(Status.RESOLVED.value)


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    title: str
    value: timedelta | None
    target: timedelta | None
    running: bool

    @property
    def met(self) -> bool | None:
        """Within target once it has ended; None while it runs within target or has none.

        A running metric is not met yet (it may still miss), but it has missed as soon as
        it runs past its target.
        """
        if self.value is None or self.target is None:
            return None
        if self.value > self.target:
            return False
        return None if self.running else True

    @property
    def verdict(self) -> str:
        """The "Met" column: yes, no, running, or — (no value or no target)."""
        if self.met is None:
            return "running" if self.running and self.target and self.value else "—"
        return "yes" if self.met else "no"

    @property
    def shown(self) -> str:
        """`42m/4h (running)`: the value, its target, and whether it is still counting."""
        target = f"/{format_duration(self.target)}" if self.target else ""
        running = " (running)" if self.running else ""
        return f"{format_duration(self.value)}{target}{running}"


def metrics(state: IncidentState, policy: Policy, now: datetime) -> list[Metric]:
    """MTTD, MTTA, MTTI, MTTR as the process docs define them, each against its target.

    A metric whose end has not happened yet is shown as running (elapsed so far), so the
    console can say "MTTR 42m of 4h" while the incident is open.
    """
    try:
        level = policy.severity(state.current_severity)
        mtta_target, mttr_target = level.mtta_target, level.mttr_target
    except ValueError:
        mtta_target = mttr_target = None
    impact, detected = impact_started_at(state), detected_at(state)
    acked, identified = acknowledged_at(state), identified_at(state)
    resolved = resolved_at(state)

    def span(start: datetime | None, end: datetime | None) -> tuple[timedelta | None, bool]:
        if start is None:
            return None, False
        if end is None:
            return max(now - start, timedelta(0)), True
        return max(end - start, timedelta(0)), False

    rows = [
        ("MTTD", "Time to detect", impact, detected, policy.targets.mttd),
        ("MTTA", "Time to acknowledge", detected, acked, mtta_target),
        ("MTTI", "Time to identify", acked, identified, None),
        ("MTTR", "Time to resolve", acked, resolved, mttr_target),
    ]
    out = []
    for name, title, start, end, target in rows:
        value, running = span(start, end)
        out.append(Metric(name, title, value, target, running))
    return out


def ic_missing_for(state: IncidentState, now: datetime) -> timedelta | None:
    """How long the incident has gone without an Incident Commander (None if it has one)."""
    if state.holder("incident_commander") is not None or state.is_resolved:
        return None
    reg = state.roles.get("incident_commander")
    since = reg.current.time if reg and reg.current else state.declared_at
    return now - since if since else None


def format_duration(value: timedelta | None) -> str:
    """Compact human duration, two units at most and no empty one: 45s, 1m05s, 12m, 1h,
    1h05m, 1d, 2d3h."""
    if value is None:
        return "—"
    # Whole seconds toward zero, in integers: floats lose seconds past ~100 million days.
    micros = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    seconds = abs(micros) // 1_000_000
    sign = "-" if micros < 0 and seconds else ""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        body = f"{days}d{hours}h" if hours else f"{days}d"
    elif hours:
        body = f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    elif minutes:
        body = f"{minutes}m{secs:02d}s" if minutes < 10 and secs else f"{minutes}m"
    else:
        body = f"{secs}s"
    return sign + body
