"""The postmortem as Markdown, in the structure of the process docs' postmortem template.

It must paste cleanly into Notion or Confluence and no text from the incident may break its
structure: everything user-written is cleaned of escape codes, folded or escaped so that a
note reading "# Root Cause" or "| a | b |" stays a note. Running figures are computed as of
the last event, so the same log always gives the same bytes.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from operator import attrgetter

from warroom.core import clock
from warroom.core.deliveries import Result, fold
from warroom.core.describe import label, summarize
from warroom.core.events import Event
from warroom.core.policy import POSTMORTEM_FIELDS, Policy
from warroom.core.state import IncidentState
from warroom.core.text import clean, one_line, slug
from warroom.core.timefmt import TimeFormatter

_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_BLOCK_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])")
_STARTERS = frozenset("#>+-=")


def escape_line(line: str) -> str:
    """Escape one already-clean line so that Markdown shows it literally."""
    if _INLINE.search(line):
        line = _INLINE.sub(r"\\\1", line)
    if line[:1] in _STARTERS or line[:1].isdigit() or line[:1].isspace():
        line = _BLOCK_START.sub(lambda m: "\\" + m[2], line, count=1)
    return line


def inline(text: str) -> str:
    """One line of text that Markdown shows literally (also safe inside a table cell)."""
    return escape_line(one_line(text))


def block(text: str) -> str:
    """Several paragraphs of text that Markdown shows literally."""
    lines = []
    for raw in clean(text).split("\n"):
        line = raw.strip()
        lines.append(escape_line(line))
    out = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", out)


def _bullets(text: str) -> list[str]:
    items = [line.strip().lstrip("-*•").strip() for line in clean(text).split("\n")]
    return [f"- {inline(item)}" for item in items if item]


def channel_name(state: IncidentState, tz: tzinfo) -> str:
    day = state.declared_at.astimezone(tz).strftime("%Y-%m-%d") if state.declared_at else "unknown"
    return f"#incident-{day}-{slug(state.title.value or '', 30)}"


def to_markdown(
    state: IncidentState, events: list[Event], policy: Policy, tz: tzinfo, author: str = ""
) -> str:
    ordered = sorted(events, key=attrgetter("hlc", "id"))
    as_of = ordered[-1].time if ordered else datetime.fromtimestamp(0, tz)
    zone = as_of.astimezone(tz).tzname() or str(tz)

    fmt = TimeFormatter(tz)
    when = fmt.dt

    sev = state.current_severity
    try:
        level = policy.severity(sev)
        sev_text = f"{sev} ({level.label})"
    except ValueError:
        level, sev_text = None, sev
    start = clock.impact_started_at(state) or clock.detected_at(state)
    end = clock.resolved_at(state)
    duration = clock.format_duration((end or as_of) - start) if start else "—"
    ic = state.holder("incident_commander")
    author = author or (ic.value if ic else state.declared_by or "")

    out: list[str] = [f"# Incident Postmortem: {inline(state.title.value or 'Untitled')}", ""]
    out += [
        f"**Date**: {when(state.declared_at)[:10]}  ",
        f"**Duration**: {when(start)} – {when(end) if end else 'ongoing'} ({zone}, {duration})  ",
        f"**Severity**: {inline(sev_text)}  ",
        f"**Status**: {inline(state.current_status)}  ",
        f"**Author**: {inline(author) or '—'}  ",
        f"**Incident**: `{state.incident_id}` in {inline(channel_name(state, tz))}",
        "",
    ]

    def field(name: str) -> str:
        reg = state.postmortem.get(name)
        return reg.value if reg and reg.value else ""

    def section(title: str, body: list[str], empty: str = "_Not written yet._") -> None:
        out.extend([f"## {title}", "", *(body or [empty]), ""])

    section(POSTMORTEM_FIELDS["summary"], [block(field("summary"))] if field("summary") else [])

    impact = [f"- {inline(line)}" for line in clean(field("impact")).split("\n") if line.strip()]
    if state.impact.value:
        impact.append(f"- Reported impact: {inline(state.impact.value)}")
    if state.components.value:
        impact.append(f"- Components: {inline(', '.join(state.components.value))}")
    impact.append(f"- Duration of impact: {duration}")
    if level is not None:
        impact.append(f"- Customer communication ({sev}): {inline(level.customer_communication)}")
    impact.append(f"- Stakeholder updates posted: {state.update_count}")
    section(POSTMORTEM_FIELDS["impact"], impact)

    key = [
        ("Impact started", clock.impact_started_at(state)),
        ("Detected (first alert)", clock.detected_at(state)),
        ("Acknowledged", clock.acknowledged_at(state)),
        ("Root cause identified", clock.identified_at(state)),
        ("Mitigation applied", clock.mitigated_at(state)),
        ("Service restored", clock.resolved_at(state)),
    ]
    timeline = [f"| Time ({zone}) | Milestone |", "|---|---|"]
    timeline += [f"| {when(at)} | {name} |" for name, at in key if at]
    timeline += ["", f"| Time ({zone}) | Who | Kind | What |", "|---|---|---|---|"]
    pinned = set(state.pinned_ids())
    actors: dict[str, str] = {}
    kinds: dict[str, str] = {}
    by_id: dict[str, Event] = {}

    def find(event_id: str) -> Event | None:
        """A pin without a summary (older clients) names its target by id; built on need."""
        if not by_id:
            by_id.update((e.id, e) for e in ordered)
        return by_id.get(event_id)

    for e in ordered:
        who = actors.get(e.actor) or actors.setdefault(e.actor, inline(e.actor))
        kind = kinds.get(e.kind) or kinds.setdefault(e.kind, inline(label(e.kind)))
        what = ("📌 " if e.id in pinned else "") + escape_line(summarize(e, lookup=find))
        timeline.append(f"| {fmt.hlc(e.hlc)} | {who} | {kind} | {what} |")
    timeline += _communication(ordered, fmt, zone)
    section("Timeline", timeline)

    section(
        POSTMORTEM_FIELDS["root_cause"],
        [block(field("root_cause"))] if field("root_cause") else [],
    )
    for name in ("contributing_factors", "went_well", "could_improve"):
        section(POSTMORTEM_FIELDS[name], _bullets(field(name)))

    items = []
    for item in state.action_items:
        owner = inline(item.owner) or "unassigned"
        due = inline(item.due or "") or "no date"
        items.append(f"- [ ] {inline(item.text)} - Owner: {owner} - Due: {due}")
    section("Action Items", items, "_None recorded._")

    rows = ["| Metric | Value | Target | Met |", "|---|---|---|---|"]
    for m in clock.metrics(state, policy, as_of):
        value = clock.format_duration(m.value) + (" (running)" if m.running else "")
        met = "**no**" if m.verdict == "no" else m.verdict
        target = clock.format_duration(m.target) if m.target else "—"
        rows.append(f"| {m.name} ({m.title.lower()}) | {value} | {target} | {met} |")
    section("Metrics", rows)

    roles = [f"| Role | Person | From ({zone}) | To |", "|---|---|---|---|"]
    for role in policy.roles:
        for t in state.role_history(role.key):
            roles.append(
                f"| {inline(role.name)} | {inline(t.person)} | {when(t.start)} | {when(t.end)} |"
            )
    section("Roles", roles if len(roles) > 2 else [], "_No roles were assigned._")
    return "\n".join(out).rstrip("\n") + "\n"


def _communication(ordered: list[Event], fmt: TimeFormatter, zone: str) -> list[str]:
    """When each update was drafted and when it reached whom: the updates, and the events
    a channel received, with every channel's outcome (from the delivery result events)."""
    results = fold(ordered)
    rows = [
        "",
        "### Updates and Delivery",
        "",
        f"| Drafted ({zone}) | By | Audience | What | Reached |",
        "|---|---|---|---|---|",
    ]
    for e in ordered:
        outcomes = results.of(e.id)
        if e.kind != "update_posted" and not outcomes:
            continue
        if e.kind == "update_posted":
            audience = str(e.payload.get("audience") or "internal")
            what = one_line(str(e.payload.get("body", "")), 80)
        else:
            audience, what = "—", summarize(e, 80)
        reached = "; ".join(_reached(r, fmt) for _, r in sorted(outcomes.items())) or "—"
        rows.append(
            f"| {fmt.hlc(e.hlc)} | {inline(e.actor)} | {inline(audience)} |"
            f" {escape_line(what)} | {reached} |"
        )
    return rows if len(rows) > 5 else []


def _reached(result: Result, fmt: TimeFormatter) -> str:
    channel = inline(result.channel)
    if result.state == "sent":
        tries = f" (attempt {result.attempt})" if result.attempt > 1 else ""
        return f"{channel} at {fmt.dt(result.at)}{tries}"
    reason = inline(result.reason)
    if result.state == "retrying":
        return f"{channel}: not yet, retrying ({reason})"
    return f"{channel}: **failed** ({reason})"
