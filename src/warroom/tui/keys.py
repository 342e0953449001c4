"""The console's keys: one table for the bindings, the footer, `?` and the command palette.

Console keys are priority bindings: the App handles them before the focused widget sees the
key, so `n` opens its dialog (and focuses its field) before the next key is handled. They
step aside (see `WarroomApp.check_action`) while a text field has focus, a dialog is open,
or the focused pane binds the same key itself.
"""

from __future__ import annotations

import asyncio

from textual.binding import Binding
from textual.widget import Widget

from warroom.keymap import specs

KEYS: list[Binding] = [
    Binding(spec.key, spec.action, spec.description, show=spec.show, id=spec.id, priority=True)
    for spec in specs("console")
]
"""Built from `warroom.keymap` (which the config's `[keys]` is checked against)."""

ACTIONS = frozenset(b.action for b in KEYS)
"""The console's own actions (`q` is `leave`, so Textual's ctrl+q `quit` works everywhere)."""

OTHER_KEYS: list[tuple[str, str]] = [
    ("Tab", "next pane (timeline, pods, logs)"),
    ("shift+Tab", "previous pane"),
    ("↑↓ j k PgUp PgDn", "move in the focused pane"),
    ("Home End g G", "first / last event"),
    ("ctrl+p", "every action by name"),
    ("ctrl+q", "quit from anywhere"),
]
COMPOSER_KEYS: list[tuple[str, str]] = [
    ("ctrl+s", "post (Enter confirms)"),
    ("ctrl+r", "dry run: what each channel would receive"),
    ("ctrl+y", "copy the text"),
    ("ctrl+t", "another template"),
    ("Esc", "close (asks if edited)"),
]


def shown(key: str) -> str:
    """A key as people write it."""
    names = {
        "question_mark": "?",
        "exclamation_mark": "!",
        "slash": "/",
        "backslash": "\\",
        "space": "Space",
        "enter": "Enter",
    }
    return names.get(key, key)


async def settle(widget: Widget | None) -> None:
    """Wait until `widget` has handled every message queued to it before now.

    The App hands keys to the focused widget's queue and moves on; a priority binding runs
    ahead of keys still queued there. So before a key's action reads what earlier keys did
    (the text typed, the row the cursor moved to), it lets them land: a callback queued
    behind them says when.
    """
    if widget is None or not widget.is_running:
        return
    done = asyncio.Event()
    if widget.call_later(done.set):
        await done.wait()
