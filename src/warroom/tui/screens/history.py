"""The history view (`h`) and the keys view (`?`): read-only text built from state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import tzinfo
from itertools import zip_longest

from rich.text import Text

from warroom.cells import cut, fit
from warroom.core.describe import conflict_sides
from warroom.core.policy import Policy
from warroom.core.state import IncidentState

FMT = "%Y-%m-%d %H:%M"


def history_text(state: IncidentState, policy: Policy, tz: tzinfo) -> Text:
    """Role handoffs, status changes (with unusual ones marked) and concurrent changes."""
    text = Text()
    text.append("Role handoffs\n", style="bold")
    for role in policy.roles:
        for t in state.role_history(role.key):
            end = t.end.astimezone(tz).strftime(FMT) if t.end else "now"
            start = t.start.astimezone(tz).strftime(FMT)
            text.append(f"  {fit(role.name, 20)} {fit(t.person, 16)} {start} → {end}\n")
    text.append("\nStatus changes\n", style="bold")
    for tr in state.transitions():
        text.append(
            f"  {tr.at.astimezone(tz):{FMT}}  {tr.old or '—'} → {tr.new} ({cut(tr.actor, 16)})"
        )
        if tr.warning:
            text.append(f"  ⚠ {tr.warning}", style="#ffaf00")
        text.append("\n")
    conflicts = state.conflicts()
    if conflicts:
        text.append("\nConcurrent changes (kept the latest by clock)\n", style="bold")
        for c in conflicts:
            sides = conflict_sides(
                [f"{cut(str(e.value), 20)} ({cut(e.actor, 16)})" for e in c.entries],
                limit=10,
            )
            text.append(f"  {c.field}: {sides} → kept {cut(str(c.winner.value), 20)}\n")
    return text


def keys_text(sections: Sequence[tuple[str, Iterable[tuple[str, str]]]], width: int = 94) -> Text:
    """Every key, by where it works: (section, [(key, what it does)]), in two columns so
    the whole list fits a 35-line terminal."""
    column = width // 2
    text = Text()
    for n, (title, keys) in enumerate(sections):
        text.append(("\n" if n else "") + f"{title}\n", style="bold")
        pairs = list(keys)
        half = (len(pairs) + 1) // 2
        for left, right in zip_longest(pairs[:half], pairs[half:]):
            for at, pair in enumerate((left, right)):
                if pair is None:
                    continue
                key, description = pair
                text.append(f"  {fit(key, 13)}", style="bold #ffaf00")
                text.append(
                    fit(description, column - 15) if at == 0 else cut(description, column - 15)
                )
            text.append("\n")
    return text
