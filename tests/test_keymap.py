"""The key table and the `[keys]` checks agree with the console's bindings and with Textual."""

import re
import string
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.binding import Binding, BindingsMap
from textual.keys import Keys, _character_to_key

from warroom.keymap import (
    BY_ID,
    KEY_TABLE,
    MODIFIERS,
    TAKEN,
    char_key,
    check_keymap,
    key_name,
    specs,
)


def _bindings(cls) -> list[Binding]:
    return [b for b in cls.BINDINGS if isinstance(b, Binding)]


def test_the_console_binds_exactly_the_tables_keys_with_priority():
    from warroom.tui.app import WarroomApp

    table = [(s.id, s.key, s.action, s.description, s.show) for s in specs("console")]
    bound = _bindings(WarroomApp)
    assert table == [(b.id, b.key, b.action, b.description, b.show) for b in bound]
    assert all(b.priority for b in bound)  # handled before the focused widget sees the key


@pytest.mark.parametrize(
    ("scope", "module", "name"),
    [
        ("pods", "pods", "PodsPane"),
        ("logs", "logs", "LogsPane"),
        ("detail", "inspect", "InspectPane"),
    ],
)
def test_the_table_holds_the_panes_bindings(scope, module, name):
    import importlib

    pane = getattr(importlib.import_module(f"warroom.tui.widgets.{module}"), name)
    table = [(s.key, s.action, s.description, s.show) for s in specs(scope)]
    assert table == [(b.key, b.action, b.description, b.show) for b in _bindings(pane)]


def test_the_taken_keys_are_those_of_the_focused_widgets():
    from textual.app import App
    from textual.screen import Screen
    from textual.widgets import DataTable, OptionList

    from warroom.tui.widgets.logs import LogView
    from warroom.tui.widgets.timeline import Timeline

    def keys(*classes) -> set[str]:
        return {k for cls in classes for b in _bindings(cls) for k in b.key.split(",")}

    everywhere = keys(App, Screen) | {App.COMMAND_PALETTE_BINDING}
    everywhere.discard("super+c")  # copy on macOS's command key: no terminal sends it
    assert set(TAKEN["console"]) == everywhere | keys(Timeline)
    assert set(TAKEN["pods"]) == everywhere | keys(DataTable)
    assert set(TAKEN["logs"]) == everywhere | keys(LogView)
    assert set(TAKEN["detail"]) == everywhere | keys(OptionList)


def test_the_default_table_passes_its_own_checks():
    assert check_keymap({}) == {}
    assert check_keymap({s.id: s.key for s in KEY_TABLE}) == {s.id: s.key for s in KEY_TABLE}


@pytest.mark.parametrize("char", [*string.printable.strip(), " ", "é", "ß", "€"])
def test_characters_get_textuals_names(char):
    assert char_key(char) == _character_to_key(char)
    assert key_name(char) == _character_to_key(char)


def test_every_key_textual_names_is_accepted():
    reported = [k.value for k in Keys if not k.value.startswith("<")]
    legacy = {"return", "ctrl-at"}  # aliases Textual lists but never reports
    refused = []
    for key in reported:
        try:
            key_name(key)
        except ValueError:
            refused.append(key)
    assert set(refused) <= legacy, refused


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("shift+n", "write N"),
        ("ctrl+N", "write ctrl+shift+n"),
        ("shift+ctrl+up", "write ctrl+shift+up"),
        ("cmd+n", "unknown modifier 'cmd'"),
        ("ctrl+", "plus"),
        ("ctrl+?", "write ctrl+question_mark"),
        ("foo", "unknown key 'foo'"),
        ("f99", "unknown key 'f99'"),
        ("\x07", "not a key"),
    ],
)
def test_key_names_textual_never_sends_are_refused(key, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        key_name(key)


def test_modifiers_are_in_textuals_order():
    assert list(MODIFIERS) == sorted(MODIFIERS)


@pytest.mark.parametrize(
    ("keymap", "message"),
    [
        ({"nope": "x"}, "unknown action 'nope'; the actions are note, update, "),
        ({"note": "q"}, "note is on q, which is quit's key in the console, and then no key quits"),
        ({"note": "x", "pin": "x"}, "note and pin are both on x in the console"),
        ({"quit": "k"}, "quit is on k, which the timeline's Up takes first"),
        ({"note": "tab"}, "note is on tab, which Textual's focus next takes first"),
        ({"pods_restart": "enter"}, "the pod table's Select takes first in the pods pane"),
        ({"logs_pin": "s"}, "logs_pin is on s, which is logs_save's key in the logs pane"),
        ({"quit": ""}, "quit = '': give a key"),
        ({"note": "n,"}, "give a key, or several"),
        ({"note": "shift+n"}, "note = 'shift\\+n': 'shift\\+n' never arrives: write N"),
    ],
)
def test_nonsense_keymaps_are_refused_by_name(keymap, message):
    with pytest.raises(ValueError, match=message):
        check_keymap(keymap)


@pytest.mark.parametrize(
    ("keymap", "result"),
    [
        ({"note": "N"}, {"note": "N"}),
        ({"help": "?,f1"}, {"help": "question_mark,f1"}),
        ({"quit": "Q", "note": "q"}, {"quit": "Q", "note": "q"}),  # q moves with its action
        ({"quit": "ctrl+q"}, {"quit": "ctrl+q"}),  # Textual's quit does the same
        ({"pods_logs": "l"}, {"pods_logs": "l"}),
        ({"logs_save": "S"}, {"logs_save": "S"}),  # S restarts in the pods pane, not here
        ({"pin": "s", "status": "x"}, {"pin": "s", "status": "x"}),
    ],
)
def test_sensible_keymaps_are_kept_with_textuals_names(keymap, result):
    assert check_keymap(keymap) == result


POOL = ["n", "q", "Q", "x", "s", "p", "question_mark", "f2", "ctrl+n", "N", "e"]


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([s.id for s in specs("console")]), st.sampled_from(POOL)))
def test_accepted_keymaps_are_clash_free_in_textual(keymap):
    """What the check accepts, Textual applies without a clash and leaves every action a
    key; what it refuses as a shared key, Textual reports as a clash or drops a binding."""
    try:
        check_keymap(keymap)
        accepted = True
    except ValueError as exc:
        accepted = False
        assert " on " in str(exc) and "in the console" in str(exc)
    bindings = BindingsMap(
        [Binding(s.key, s.action, s.description, id=s.id) for s in specs("console")]
    )
    result = bindings.apply_keymap(
        {k: _character_to_key(v) if len(v) == 1 else v for k, v in keymap.items()}
    )
    bound = {b.id for found in bindings.key_to_bindings.values() for b in found}
    textual_fine = not result.clashed_bindings and bound == set(BY_ID) & {
        s.id for s in specs("console")
    }
    assert accepted == textual_fine


def test_reading_the_table_loads_no_textual():
    code = (
        "import sys\n"
        "import warroom.keymap, warroom.config\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'pydantic')])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
