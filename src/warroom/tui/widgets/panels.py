"""The side panels and header: small widgets that draw `rich.text.Text` from incident state.

Each panel is a pure function of (state, policy, now, ...) turned into Text, so it can be
tested without an app; widgets only call `update`. Outside text goes in as plain strings
(`Text.append`), never as markup, cleaned and cut to a width in terminal cells
(`warroom.cells`), so a name in CJK or with a bidi override keeps every column in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from rich.text import Text
from textual.widgets import Static

from warroom.cells import cut, fit
from warroom.core import clock
from warroom.core.alerts import AlertBoard
from warroom.core.describe import conflict_sides
from warroom.core.policy import Policy
from warroom.core.state import IncidentState

SEVERITY_COLOURS = {"SEV1": "#ff0000", "SEV2": "#ff8700", "SEV3": "#d7af00", "SEV4": "#5f87af"}
STATUS_COLOURS = {
    "investigating": "#ff5f5f",
    "identified": "#ffaf00",
    "monitoring": "#5fafff",
    "resolved": "#5fd75f",
}
CADENCE_COLOURS = {"ok": "#5fd75f", "amber": "#ffaf00", "overdue": "#ff0000", "stopped": "#8a8a8a"}


@dataclass(frozen=True)
class Context:
    """What every panel draws from."""

    state: IncidentState
    policy: Policy
    now: datetime
    tz: tzinfo
    sync: str = "local only"
    cluster: str = "no cluster"
    board: AlertBoard | None = None
    failed: int = 0
    """Deliveries that failed for good: a badge until they are sent."""

    def hhmm(self, at: datetime | None) -> str:
        """The local clock time; in UTC, marked, where the local date would pass year 9999."""
        if at is None:
            return "—"
        try:
            return at.astimezone(self.tz).strftime("%H:%M")
        except (OverflowError, ValueError):
            return f"{at.astimezone(UTC):%H:%M} UTC"

    def moment(self, at: datetime | None) -> str:
        """A clock time when within a day of now, else with its date: a deadline that a
        snooze pushed to next week (or to year 9999) must not read as today's."""
        if at is None or abs(at - self.now) < timedelta(days=1):
            return self.hhmm(at)
        try:
            local = at.astimezone(self.tz)
        except (OverflowError, ValueError):
            local = at.astimezone(UTC)
            return f"{local.year:04d}-{local:%m-%d %H:%M} UTC"
        return f"{local.year:04d}-{local:%m-%d %H:%M}"


def countdown(value: timedelta | None) -> str:
    if value is None:
        return "--:--"
    seconds = int(abs(value.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    body = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
    return ("-" if value.total_seconds() < 0 else "") + body


def header_text(ctx: Context) -> Text:
    """Severity, status, how long it has run (or ran) and the title; then who leads it.

    The title comes last on its line: a long one is cut there, never pushing the rest out.
    """
    s = ctx.state
    sev, status = s.current_severity, s.current_status
    text = Text()
    text.append(f" {sev} ", style=f"bold #ffffff on {SEVERITY_COLOURS.get(sev, '#5f5f5f')}")
    text.append(" ")
    text.append(
        f" {status.upper()} ", style=f"bold #000000 on {STATUS_COLOURS.get(status, '#8a8a8a')}"
    )
    resolved = clock.resolved_at(s)
    if s.declared_at is None:
        text.append("  ⏱ —", style="#d0d0d0")
    elif resolved is not None:
        ran = clock.format_duration(resolved - s.declared_at)
        text.append(f"  ✓ resolved after {ran}", style="#5fd75f")
    else:
        text.append(f"  ⏱ {clock.format_duration(ctx.now - s.declared_at)}", style="#d0d0d0")
    text.append("  ")
    text.append(cut(s.title.value or "Untitled", 80), style="bold")
    text.append("\n")
    ic = s.holder("incident_commander")
    text.append(f" {s.incident_id[-6:]}", style="#8a8a8a")
    text.append("  IC ", style="#8a8a8a")
    text.append(cut(ic.value, 20) if ic else "none", style="bold" if ic else "bold #ff5f5f")
    cad = clock.cadence(s, ctx.policy, ctx.now)
    if cad.level != "stopped":
        text.append("  next update ", style="#8a8a8a")
        text.append(countdown(cad.remaining), style=f"bold {CADENCE_COLOURS[cad.level]}")
    if ctx.failed:
        plural = "delivery" if ctx.failed == 1 else "deliveries"
        text.append("  ")
        text.append(f" ✗ {ctx.failed} {plural} FAILED ", style="bold #ffffff on #d70000")
    if ctx.board is not None:
        firing = len(ctx.board.firing(s.incident_id))
        if firing:
            text.append(f"  ⚠ {firing} firing", style="bold #ff5f5f")
        waiting = ctx.board.inbox_firing()
        if waiting:
            text.append(f"  inbox {waiting} (!)", style="bold #ffaf00")
    text.append("  ⇅ ", style="#8a8a8a")
    text.append(cut(ctx.sync, 40))
    text.append("  ☸ ", style="#8a8a8a")
    text.append(cut(ctx.cluster, 40))
    return text


def roles_text(ctx: Context) -> Text:
    s = ctx.state
    text = Text()
    for role in ctx.policy.roles:
        holder = s.holder(role.key)
        text.append(fit(role.name, 18) + " ", style="#8a8a8a")
        if holder:
            text.append(fit(holder.value, 11), style="bold")
            since = clock.format_duration(ctx.now - holder.time)
            text.append(f" {ctx.hhmm(holder.time)} {since}", style="#8a8a8a")
        else:
            text.append("—", style="#5f5f5f")
        text.append("\n")
    missing = clock.ic_missing_for(s, ctx.now)
    if (
        missing is not None
        and missing >= ctx.policy.ic_missing_warning
        and s.current_severity in ("SEV1", "SEV2")
    ):
        text.append(
            f"⚠ no Incident Commander for {clock.format_duration(missing)}", style="bold #ff5f5f"
        )
        text.append("\n")
    conflicts = s.conflicts()
    if conflicts:
        last = conflicts[-1]
        sides = conflict_sides([cut(str(e.value), 12) for e in last.entries], limit=2)
        text.append(f"⚡ conflict on {last.field}: {sides}", style="#ffaf00")
    text.rstrip()
    return text


def cadence_text(ctx: Context) -> Text:
    s, p = ctx.state, ctx.policy
    cad = clock.cadence(s, p, ctx.now)
    text = Text()
    if cad.level == "stopped":
        text.append("Updates stopped", style="bold #8a8a8a")
        text.append(" (resolved)\n" if s.is_resolved else "\n", style="#8a8a8a")
    else:
        word = {"ok": "Next update in ", "amber": "Update due in ", "overdue": "UPDATE OVERDUE "}
        colour = CADENCE_COLOURS[cad.level]
        text.append(word[cad.level], style=f"bold {colour}")
        text.append(countdown(cad.remaining), style=f"bold {colour}")
        text.append("\n")
        text.append(
            f"due {ctx.moment(cad.due_at)} · every {clock.format_duration(cad.every)}",
            style="#8a8a8a",
        )
        text.append(f" · last {ctx.moment(cad.last_update_at)}\n", style="#8a8a8a")
        if cad.snoozed_until:
            text.append(f"snoozed: {cut(cad.snooze_reason, 30)}\n", style="#ffaf00")
    esc = clock.escalation(s, p, ctx.now)
    if esc:
        text.append(f"Escalation L{esc.step.level} ", style="bold")
        text.append(cut(", ".join(esc.people), 40))
        if esc.step.notify:
            text.append(f" ({cut(esc.step.notify, 40)})", style="#8a8a8a")
        text.append(escalation_state(ctx, esc))
        text.append("\n")
    for m in clock.metrics(s, p, ctx.now):
        if m.name not in ("MTTA", "MTTR") or m.value is None:
            continue
        colour = "#ff5f5f" if m.met is False else "#5fd75f"
        text.append(f"{m.name} ", style="#8a8a8a")
        text.append(m.shown, style=colour)
        text.append("  ")
    done = sum(s.checked(i) for i in p.checklist)
    text.append(f"\nChecklist {done}/{len(p.checklist)}", style="#8a8a8a")
    return text


def escalation_state(ctx: Context, esc: clock.Escalation) -> Text:
    """Below the level reached: whether it was paged (or E pages it), then the next level,
    when it is reached and in how long."""
    s, text = ctx.state, Text()
    paged = [e for e in s.escalations if e.level >= esc.step.level]
    due = clock.escalation_due(s, ctx.policy, ctx.now)
    if paged:
        last = paged[-1]
        how = "auto-paged" if last.auto else "paged"
        text.append(f"\n  L{last.level} {how} {ctx.hhmm(last.time)}", style="#5fd75f")
        text.append(f" by {cut(last.actor, 16)}", style="#8a8a8a")
    elif due is not None:
        word = "paging…" if due.auto and due.channels else "not paged: E pages"
        text.append(f"\n  ⚠ L{due.level} {word}", style="bold #ffaf00")
    if esc.next_step and esc.next_at:
        text.append(
            f"\n  next L{esc.next_step.level} at {ctx.moment(esc.next_at)}"
            f" (in {clock.format_duration(esc.next_at - ctx.now)})",
            style="#8a8a8a",
        )
    return text


class Panel(Static):
    """A bordered panel whose body is replaced wholesale."""

    def __init__(self, title: str, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.border_title = title

    def show(self, text: Text) -> None:
        self.update(text)
