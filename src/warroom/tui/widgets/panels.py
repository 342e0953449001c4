"""The side panels and header: small widgets that draw `rich.text.Text` from incident state.

Each panel is a pure function of (state, policy, now, ...) turned into Text, so it can be
tested without an app; widgets only call `update`. Outside text goes in as plain strings
(`Text.append`), never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from rich.text import Text
from textual.widgets import Static

from warroom.core import clock
from warroom.core.describe import conflict_sides
from warroom.core.policy import Policy
from warroom.core.state import IncidentState
from warroom.core.text import one_line

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

    def hhmm(self, at: datetime | None) -> str:
        return at.astimezone(self.tz).strftime("%H:%M") if at else "—"


def countdown(value: timedelta | None) -> str:
    if value is None:
        return "--:--"
    seconds = int(abs(value.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    body = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
    return ("-" if value.total_seconds() < 0 else "") + body


def header_text(ctx: Context) -> Text:
    s = ctx.state
    sev, status = s.current_severity, s.current_status
    text = Text()
    text.append(f" {sev} ", style=f"bold #ffffff on {SEVERITY_COLOURS.get(sev, '#5f5f5f')}")
    text.append(" ")
    text.append(
        f" {status.upper()} ", style=f"bold #000000 on {STATUS_COLOURS.get(status, '#8a8a8a')}"
    )
    text.append("  ")
    text.append(one_line(s.title.value or "Untitled", 80), style="bold")
    elapsed = clock.format_duration(ctx.now - s.declared_at) if s.declared_at else "—"
    text.append(f"   ⏱ {elapsed}", style="#d0d0d0")
    text.append("\n")
    ic = s.holder("incident_commander")
    text.append(f" {s.incident_id[-6:]}", style="#8a8a8a")
    text.append("  IC ", style="#8a8a8a")
    text.append(one_line(ic.value, 20) if ic else "none", style="bold" if ic else "bold #ff5f5f")
    cad = clock.cadence(s, ctx.policy, ctx.now)
    if cad.level != "stopped":
        text.append("  next update ", style="#8a8a8a")
        text.append(countdown(cad.remaining), style=f"bold {CADENCE_COLOURS[cad.level]}")
    text.append("  ⇅ ", style="#8a8a8a")
    text.append(ctx.sync)
    text.append("  ☸ ", style="#8a8a8a")
    text.append(one_line(ctx.cluster, 40))
    return text


def roles_text(ctx: Context) -> Text:
    s = ctx.state
    text = Text()
    for role in ctx.policy.roles:
        holder = s.holder(role.key)
        text.append(f"{role.name[:18]:<18} ", style="#8a8a8a")
        if holder:
            text.append(one_line(holder.value, 11).ljust(11), style="bold")
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
        sides = conflict_sides([one_line(str(e.value), 12) for e in last.entries], limit=2)
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
            f"due {ctx.hhmm(cad.due_at)} · every {clock.format_duration(cad.every)}",
            style="#8a8a8a",
        )
        text.append(f" · last {ctx.hhmm(cad.last_update_at)}\n", style="#8a8a8a")
        if cad.snoozed_until:
            text.append(f"snoozed: {one_line(cad.snooze_reason, 30)}\n", style="#ffaf00")
    esc = clock.escalation(s, p, ctx.now)
    if esc:
        text.append(f"Escalation L{esc.step.level} ", style="bold")
        text.append(one_line(", ".join(esc.people), 40))
        if esc.step.notify:
            text.append(f" ({esc.step.notify})", style="#8a8a8a")
        if esc.next_step and esc.next_at:
            text.append(f"\n  L{esc.next_step.level} at {ctx.hhmm(esc.next_at)}", style="#8a8a8a")
        text.append("\n")
    for m in clock.metrics(s, p, ctx.now):
        if m.name not in ("MTTA", "MTTR") or m.value is None:
            continue
        colour = "#5fd75f" if m.met in (True, None) else "#ff5f5f"
        target = f"/{clock.format_duration(m.target)}" if m.target else ""
        text.append(f"{m.name} ", style="#8a8a8a")
        text.append(f"{clock.format_duration(m.value)}{target}", style=colour)
        text.append("… " if m.running else "  ", style="#8a8a8a")
    done = sum(s.checked(i) for i in p.checklist)
    text.append(f"\nChecklist {done}/{len(p.checklist)}", style="#8a8a8a")
    return text


class Panel(Static):
    """A bordered panel whose body is replaced wholesale."""

    def __init__(self, title: str, **kwargs: object) -> None:
        super().__init__("", **kwargs)
        self.border_title = title

    def show(self, text: Text) -> None:
        self.update(text)
