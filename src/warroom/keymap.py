"""The console's keys as data: each action's id, default key, description and scope.

The console builds its Textual `Binding`s from this table, and the config's `[keys]` is
checked against it here, without importing Textual (it is read at start-up): an unknown
action, a key two actions of one scope share, a key that Textual or the focused widget takes
first, or a key name Textual never sends is an error naming it, where Textual would drop the
binding or keep the clash without a word.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Scope = Literal["console", "pods", "logs", "detail"]

SCOPES: dict[Scope, str] = {
    "console": "the console",
    "pods": "the pods pane",
    "logs": "the logs pane",
    "detail": "the events, describe and history panes",
}
"""Where a scope's keys work: the console's everywhere unless the focused pane binds the same
key (a pane's own keys win there, by design: `p` pins an event, or a log line in the logs
pane)."""


@dataclass(frozen=True)
class KeySpec:
    """One remappable key: `id` is its name in `[keys]` and its Textual binding id."""

    id: str
    key: str
    """Textual's key names, comma-separated when several keys do the same."""
    action: str
    description: str
    scope: Scope = "console"
    show: bool = True
    """Shown in the footer (every key is listed by `?`)."""


KEY_TABLE: tuple[KeySpec, ...] = (
    KeySpec("note", "n", "note", "Note"),
    KeySpec("update", "u", "update", "Update"),
    KeySpec("status", "s", "status", "Status"),
    KeySpec("severity", "v", "severity", "Severity"),
    KeySpec("assign", "a", "assign", "Assign"),
    KeySpec("take_command", "i", "take_command", "Command"),
    KeySpec("pin", "p", "pin", "Pin"),
    KeySpec("milestone", "m", "milestone", "Milestone", show=False),
    KeySpec("checklist", "c", "checklist", "Checklist"),
    KeySpec("alerts", "exclamation_mark", "alerts", "Alerts"),
    KeySpec("action_item", "A", "action_item", "Action item", show=False),
    KeySpec("snooze", "z", "snooze", "Snooze", show=False),
    KeySpec("filter", "f", "filter", "Filter", show=False),
    KeySpec("jump", "t", "jump", "Jump to time", show=False),
    KeySpec("toggle_tz", "T", "toggle_tz", "UTC/local", show=False),
    KeySpec("history", "h", "history", "History", show=False),
    KeySpec("switch", "o", "switch", "Switch incident", show=False),
    KeySpec("declare", "D", "declare", "Declare", show=False),
    KeySpec("export", "e", "export", "Export"),
    KeySpec("escalate", "E", "escalate", "Escalate", show=False),
    KeySpec("toggle_side", "r", "toggle_side", "Panels", show=False),
    KeySpec("cluster", "K", "cluster", "Cluster", show=False),
    KeySpec("keep_changes", "C", "keep_changes", "Keep changes", show=False),
    KeySpec("help", "question_mark", "help", "Keys"),
    KeySpec("quit", "q", "leave", "Quit"),  # `leave`: Textual's ctrl+q keeps `quit`
    KeySpec("pods_logs", "enter", "select", "Logs", "pods"),
    KeySpec("pods_previous", "P", "inspect('previous')", "Previous logs", "pods"),
    KeySpec("pods_logs_all", "L", "inspect('deployment')", "All pods' logs", "pods", show=False),
    KeySpec("pods_events", "e", "inspect('events')", "Events", "pods"),
    KeySpec("pods_describe", "d", "inspect('describe')", "Describe", "pods"),
    KeySpec("pods_history", "H", "inspect('history')", "History", "pods"),
    KeySpec("pods_restart", "R", "restart", "Restart", "pods", show=False),
    KeySpec("pods_undo", "U", "undo", "Undo", "pods"),
    KeySpec("pods_scale", "S", "scale", "Scale", "pods", show=False),
    KeySpec("logs_pause", "space", "pause", "Pause", "logs"),
    KeySpec("logs_include", "slash", "ask('include')", "Include", "logs"),
    KeySpec("logs_exclude", "backslash", "ask('exclude')", "Exclude", "logs"),
    KeySpec("logs_highlight", "h", "ask('highlight')", "Highlight", "logs", show=False),
    KeySpec("logs_wrap", "w", "wrap", "Wrap", "logs", show=False),
    KeySpec("logs_timestamps", "t", "timestamps", "Times", "logs", show=False),
    KeySpec("logs_pin", "p", "pin", "Pin line", "logs"),
    KeySpec("logs_save", "s", "save", "Save", "logs"),
    KeySpec("logs_previous", "P", "previous", "Previous run", "logs"),
    KeySpec("logs_range", "r", "range", "Since/last", "logs"),
    KeySpec("logs_container", "c", "container", "Container", "logs", show=False),
    KeySpec("logs_all_pods", "L", "all_pods", "All pods", "logs", show=False),
    KeySpec("logs_close", "x", "close", "Close", "logs", show=False),
    KeySpec("logs_close_input", "escape", "close_input", "Close", "logs", show=False),
    KeySpec("detail_pin", "p", "pin", "Pin", "detail"),
    KeySpec("detail_undo", "U", "undo", "Undo to it", "detail"),
    KeySpec("detail_close", "x", "close", "Close", "detail"),
)

BY_ID: dict[str, KeySpec] = {spec.id: spec for spec in KEY_TABLE}


def specs(scope: Scope) -> tuple[KeySpec, ...]:
    """The keys of one scope, in the table's order (the footer's)."""
    return tuple(spec for spec in KEY_TABLE if spec.scope == scope)


_EVERYWHERE = {
    "tab": "Textual's focus next",
    "shift+tab": "Textual's focus previous",
    "ctrl+p": "the command palette",
    "ctrl+q": "Textual's quit",
    "ctrl+c": "Textual's copy",
}
_TIMELINE = {
    "up": "the timeline's Up",
    "k": "the timeline's Up",
    "down": "the timeline's Down",
    "j": "the timeline's Down",
    "pageup": "the timeline's Page up",
    "pagedown": "the timeline's Page down",
    "home": "the timeline's Top",
    "g": "the timeline's Top",
    "end": "the timeline's Bottom",
    "G": "the timeline's Bottom",
}
_POD_TABLE = {
    "enter": "the pod table's Select",
    "up": "the pod table's Up",
    "down": "the pod table's Down",
    "left": "the pod table's Left",
    "right": "the pod table's Right",
    "pageup": "the pod table's Page up",
    "pagedown": "the pod table's Page down",
    "home": "the pod table's Home",
    "end": "the pod table's End",
    "ctrl+home": "the pod table's Top",
    "ctrl+end": "the pod table's Bottom",
}
_LOG_VIEW = {
    "up": "the log view's Up",
    "k": "the log view's Up",
    "down": "the log view's Down",
    "j": "the log view's Down",
    "pageup": "the log view's Page up",
    "pagedown": "the log view's Page down",
    "end": "the log view's Tail",
    "G": "the log view's Tail",
}
_LIST = {
    "enter": "the list's Select",
    "up": "the list's Up",
    "down": "the list's Down",
    "home": "the list's First",
    "end": "the list's Last",
    "pageup": "the list's Page up",
    "pagedown": "the list's Page down",
}
TAKEN: dict[Scope, dict[str, str]] = {
    "console": {**_EVERYWHERE, **_TIMELINE},
    "pods": {**_EVERYWHERE, **_POD_TABLE},
    "logs": {**_EVERYWHERE, **_LOG_VIEW},
    "detail": {**_EVERYWHERE, **_LIST},
}
"""Keys looked up before a scope's own: Textual's, and those of the widget that has the focus
there (the timeline, the pod table, the log view). Not remappable from `[keys]`."""

SAME_ACTION: dict[tuple[Scope, str], str] = {
    ("console", "ctrl+q"): "leave",
    ("pods", "enter"): "select",  # the table's Select is what opens a pod's logs
}
"""Taken keys that do what a table action does, so binding that action to them is fine."""

MODIFIERS = ("alt", "ctrl", "hyper", "meta", "shift", "super")
"""In the order Textual writes them in a key name (sorted)."""

NAMED_KEYS = frozenset(
    {
        "escape",
        "enter",
        "tab",
        "backspace",
        "delete",
        "insert",
        "home",
        "end",
        "pageup",
        "pagedown",
        "up",
        "down",
        "left",
        "right",
        "space",
        *(f"f{n}" for n in range(1, 25)),
    }
)
"""Keys without a character that Textual reports by name."""

_REPLACEMENTS = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}


def char_key(char: str) -> str:
    """Textual's name for the key that types `char`: "n" -> "n", "?" -> "question_mark"."""
    if char.isalnum():
        return char
    if char == "\t":
        return "tab"
    try:
        name = unicodedata.name(char).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        name = char
    return _REPLACEMENTS.get(name, name)


_CHAR_NAMES = frozenset(char_key(chr(code)) for code in range(0x20, 0x7F)) - {
    chr(code) for code in range(0x20, 0x7F)
}


def key_name(key: str) -> str:
    """The name Textual reports for `key` as written in a binding; ValueError when no key
    press ever arrives under that name."""
    if len(key) == 1:
        if not key.isprintable():
            raise ValueError(f"{key!r} is not a key")
        return char_key(key)
    *mods, base = key.split("+")
    if not base:
        raise ValueError(f"{key!r} has no key after '+' (the + key is called plus)")
    unknown = [m for m in mods if m not in MODIFIERS]
    if unknown:
        raise ValueError(f"unknown modifier {unknown[0]!r} in {key!r} ({', '.join(MODIFIERS)})")
    if len(base) == 1 and not base.isalnum() and key != "ctrl+@":  # Textual's name for ^@
        write = "+".join([*sorted(set(mods)), char_key(base)])
        raise ValueError(f"{key!r} never arrives: write {write}")
    if mods and len(base) == 1 and base.isalpha() and (base.isupper() or "shift" in mods):
        # Textual reports shift+n as N, and ctrl+N as ctrl+shift+n.
        others = sorted(set(mods) - {"shift"})
        write = "+".join([*sorted({*others, "shift"}), base.lower()]) if others else base.upper()
        if write != key:
            raise ValueError(f"{key!r} never arrives: write {write}")
    canonical = "+".join([*sorted(set(mods)), base])
    if canonical != key:
        raise ValueError(f"{key!r} never arrives: write {canonical}")
    if not (len(base) == 1 or base in NAMED_KEYS or base in _CHAR_NAMES):
        raise ValueError(
            f"unknown key {base!r} (a character, or a name like escape, enter, space, up, "
            "pagedown, f5 or question_mark)"
        )
    return key


def check_keymap(keymap: Mapping[str, str]) -> dict[str, str]:
    """`[keys]` with Textual's key names; ValueError naming the first problem in it."""
    unknown = sorted(set(keymap) - BY_ID.keys())
    if unknown:
        raise ValueError(f"unknown action {unknown[0]!r}; the actions are {', '.join(BY_ID)}")
    names: dict[str, str] = {}
    for action_id, value in keymap.items():
        keys = [k.strip() for k in value.split(",")]
        if not all(keys):
            raise ValueError(f"{action_id} = {value!r}: give a key, or several separated by ','")
        try:
            names[action_id] = ",".join(dict.fromkeys(key_name(k) for k in keys))
        except ValueError as exc:
            raise ValueError(f"{action_id} = {value!r}: {exc}") from None
    for scope in SCOPES:
        _check_scope(scope, names)
    return names


def _check_scope(scope: Scope, names: Mapping[str, str]) -> None:
    owners: dict[str, KeySpec] = {}
    for spec in specs(scope):
        for key in names.get(spec.id, spec.key).split(","):
            taken = TAKEN[scope].get(key)
            if taken and SAME_ACTION.get((scope, key)) != spec.action:
                raise ValueError(
                    f"{spec.id} is on {key}, which {taken} takes first in {SCOPES[scope]}"
                )
            other = owners.setdefault(key, spec)
            if other is spec:
                continue
            if spec.id in names and other.id in names:
                clash = f"{other.id} and {spec.id} are both on {key} in {SCOPES[scope]}"
            else:
                moved, still = (spec, other) if spec.id in names else (other, spec)
                clash = f"{moved.id} is on {key}, which is {still.id}'s key in {SCOPES[scope]}"
            hint = ", and then no key quits" if "quit" in (spec.id, other.id) else ""
            raise ValueError(f"{clash}{hint}: give one of them another key")
