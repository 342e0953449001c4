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

KEYS: list[Binding] = [
    Binding("n", "note", "Note", id="note", priority=True),
    Binding("u", "update", "Update", id="update", priority=True),
    Binding("s", "status", "Status", id="status", priority=True),
    Binding("v", "severity", "Severity", id="severity", priority=True),
    Binding("a", "assign", "Assign", id="assign", priority=True),
    Binding("i", "take_command", "Command", id="take_command", priority=True),
    Binding("p", "pin", "Pin", id="pin", priority=True),
    Binding("m", "milestone", "Milestone", id="milestone", show=False, priority=True),
    Binding("c", "checklist", "Checklist", id="checklist", priority=True),
    Binding("exclamation_mark", "alerts", "Alerts", id="alerts", priority=True),
    Binding("A", "action_item", "Action item", id="action_item", show=False, priority=True),
    Binding("z", "snooze", "Snooze", id="snooze", show=False, priority=True),
    Binding("f", "filter", "Filter", id="filter", show=False, priority=True),
    Binding("t", "jump", "Jump to time", id="jump", show=False, priority=True),
    Binding("T", "toggle_tz", "UTC/local", id="toggle_tz", show=False, priority=True),
    Binding("h", "history", "History", id="history", show=False, priority=True),
    Binding("o", "switch", "Switch incident", id="switch", show=False, priority=True),
    Binding("D", "declare", "Declare", id="declare", show=False, priority=True),
    Binding("e", "export", "Export", id="export", priority=True),
    Binding("r", "toggle_side", "Panels", id="toggle_side", show=False, priority=True),
    Binding("K", "cluster", "Cluster", id="cluster", show=False, priority=True),
    Binding("question_mark", "help", "Keys", id="help", priority=True),
    Binding("q", "leave", "Quit", id="quit", priority=True),
]

ACTIONS = frozenset(b.action for b in KEYS)
"""The console's own actions (`q` is `leave`, so Textual's ctrl+q `quit` works everywhere)."""

OTHER_KEYS: list[tuple[str, str]] = [
    ("Tab / shift+Tab", "move between the timeline, the pods pane and the logs pane"),
    ("↑↓ PgUp PgDn", "move in the focused pane (also j / k)"),
    ("Home End g G", "first / last event"),
    ("ctrl+p", "command palette: every action by name"),
]
COMPOSER_KEYS: list[tuple[str, str]] = [
    ("ctrl+s", "post (asks first; Enter confirms)"),
    ("ctrl+y", "copy the text to the clipboard"),
    ("ctrl+t", "choose another template"),
    ("Esc", "close (asks before throwing away an edited update)"),
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
