"""Every key action, driven with Textual's pilot, asserted on the event log.

"Nothing was written" is never asserted after a pause: a sentinel note is written after the
refused action, and once it is on disk (the writer keeps order) nothing else came before it.
"""

from __future__ import annotations

import re
import subprocess
import sys

from tests.tui.conftest import DEMO_EVENTS, INCIDENT, NOW, kinds, last, wait_for
from tests.writes import note as write_note
from warroom.tui.widgets.timeline import Timeline


async def started(app, pilot):
    await wait_for(pilot, lambda: app.state is not None and app.query_one(Timeline).total > 0)


def screen_name(app) -> str:
    return type(app.screen).__name__


def step_name(app) -> str:
    return type(getattr(app.screen, "step", None)).__name__


async def nothing_written_since(pilot, app, db, before: list[str]) -> None:
    """Prove nothing was stored since `before`: write a sentinel and see it land right after."""
    await wait_for(pilot, lambda: app.screen is app.main)
    burst(app, "n", *"sentinel", "enter")
    await wait_for(pilot, lambda: len(kinds(db)) > len(before))
    assert kinds(db) == [*before, "note"]
    assert last(db).payload["text"] == "sentinel"


async def test_console_opens_on_the_incident(make_app):
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        assert app.query_one(Timeline).total == DEMO_EVENTS
        header = str(app.query_one("#header").render())
        assert "SEV2" in header and "IDENTIFIED" in header and "alice" in header
        cadence = str(app.query_one("#cadence").render())
        assert "Update due in 04:00" in cadence  # amber: an update is due in 4 minutes


async def test_note_key_saves_a_note(make_app, demo_db):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("n")
        await pilot.press(*"db pool exhausted")
        await pilot.press("enter")
        await wait_for(pilot, lambda: kinds(demo_db)[-1] == "note")
        event = last(demo_db)
        assert event.payload == {"text": "db pool exhausted", "pinned": False}
        assert event.actor == "you"
        await wait_for(pilot, lambda: app.query_one(Timeline).total == DEMO_EVENTS + 1)


async def test_keys_in_one_burst_land_where_they_were_aimed(make_app, demo_db):
    """A paste or a macro: every key is queued before the first is handled. Keys typed right
    after `n` used to lose their first characters, and Enter moved focus too late, so the
    next field's text landed in the previous one ("…saturationbob", owner "+7d")."""
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        burst(app, "n", *"queue saturation", "enter")
        burst(app, "A", *"Add a canary", "enter", *"bob", "enter", *"+7d", "enter")
        await wait_for(pilot, lambda: len(kinds(demo_db)) == DEMO_EVENTS + 2)
        with_note = _events(demo_db)[DEMO_EVENTS:]
        assert [e.kind for e in with_note] == ["note", "action_item"]
        assert with_note[0].payload["text"] == "queue saturation"
        item = with_note[1].payload
        assert (item["text"], item["owner"], item["due"]) == ("Add a canary", "bob", "2026-11-29")


def burst(app, *keys: str) -> None:
    """Keys as a terminal delivers a paste: all queued at once, with their characters."""
    from textual import events

    names = {" ": "space", "+": "plus", "-": "minus"}
    for key in keys:
        if key == "enter":
            app.post_message(events.Key("enter", "\r"))
        else:
            app.post_message(events.Key(names.get(key, key), key))


def _events(db):
    from warroom.store import EventLog

    with EventLog(db) as log:
        return log.timeline.events(INCIDENT)


async def test_three_keystrokes_post_a_prefilled_update(make_app, demo_db):
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        await pilot.press("u")
        await wait_for(pilot, lambda: "STATUS UPDATE" in getattr(app.screen, "body", ""))
        await pilot.press("ctrl+s")
        await pilot.press("enter")
        await wait_for(pilot, lambda: kinds(demo_db)[-1] == "update_posted")
        event = last(demo_db)
        assert event.payload["template"] == "status-update"
        assert "Severity: SEV2" in event.payload["body"]
        assert "Status: Identified" in event.payload["body"]
        await wait_for(pilot, lambda: app.state.update_count == 3)
        assert "Next update in 30:00" in str(app.query_one("#cadence").render())


async def test_broken_template_shows_an_error_and_posts_nothing(
    make_app, demo_db, tmp_path, monkeypatch
):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "status-update.txt").write_text("{{ ().__class__.__mro__ }}")
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "config.toml"))
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        before = kinds(demo_db)
        await pilot.press("u")
        await wait_for(pilot, lambda: getattr(app.screen, "error", None) is not None)
        assert "unsafe" in app.screen.error
        await pilot.press("ctrl+s")
        assert screen_name(app) == "Composer"  # no confirmation was offered
        await pilot.press("escape")
        await nothing_written_since(pilot, app, demo_db, before)


async def test_status_and_severity(make_app, demo_db):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("s", "down", "enter")  # identified -> monitoring
        await wait_for(pilot, lambda: app.state.current_status == "monitoring")
        await pilot.press("v", "up", "enter")  # SEV2 -> SEV1
        await wait_for(pilot, lambda: app.state.current_severity == "SEV1")
        assert last(demo_db).payload["replaces"] is not None


async def test_resolving_asks_first(make_app, demo_db):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        before = kinds(demo_db)
        await pilot.press("s", "end", "enter")
        await wait_for(pilot, lambda: step_name(app) == "Confirm")
        await pilot.press("escape")  # the confirmation: nothing recorded
        await nothing_written_since(pilot, app, demo_db, before)
        assert app.state.current_status == "identified"
        await pilot.press("s", "end", "enter")
        await wait_for(pilot, lambda: step_name(app) == "Confirm")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state.is_resolved)
        assert last(demo_db).payload["status"] == "resolved"
        assert "Updates stopped" in str(app.query_one("#cadence").render())


async def test_assign_release_and_take_command(make_app, demo_db):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("a", "down", "enter")  # Tech Lead
        await pilot.press(*"erin", "enter")
        await wait_for(pilot, lambda: app.state.holder("tech_lead").value == "erin")
        await pilot.press("a", "down", "down", "enter")  # Comms Lead: clear -> release
        await wait_for(pilot, lambda: step_name(app) == "Fill")
        app.screen.query_one("Input").value = ""
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state.holder("comms_lead") is None)
        released = last(demo_db)
        assert released.actor == "you" and released.payload["person"] == "carol"
        await pilot.press("i", "enter")
        await wait_for(pilot, lambda: app.state.holder("incident_commander").value == "you")
        assert [t.person for t in app.state.role_history("incident_commander")] == ["alice", "you"]


async def test_pin_milestone_checklist_action_item_snooze(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        timeline = app.query_one(Timeline)
        await wait_for(pilot, lambda: timeline.selected is not None)
        target = timeline.selected
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.is_pinned(target.id))

        await pilot.press("m", "down", "down", "enter")  # acknowledged
        await pilot.press(*"14:01", "enter")
        await wait_for(pilot, lambda: app.state.milestone("acknowledged") is not None)
        assert app.state.milestone("acknowledged").strftime("%H:%M") == "14:01"

        await pilot.press("c", "space", "down", "space", "enter")
        await wait_for(pilot, lambda: app.state.checked("Issue fixed"))
        assert app.state.checked("Service health metrics returned to normal")

        await pilot.press("A", *"Add a canary", "enter", *"bob", "enter", *"+7d", "enter")
        await wait_for(pilot, lambda: len(app.state.action_items) == 2)
        assert app.state.action_items[-1].due == "2026-11-29"

        await pilot.press("z", *"20", "enter", *"waiting on the vendor", "enter")
        await wait_for(pilot, lambda: app.state.snooze.current is not None)
        assert "snoozed" in str(app.query_one("#cadence").render())


async def test_pins_say_what_was_pinned(make_app, demo_db):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        timeline = app.query_one(Timeline)
        await wait_for(pilot, lambda: timeline.selected is not None)
        await pilot.press("p")
        await wait_for(pilot, lambda: kinds(demo_db)[-1] == "pin")
        assert last(demo_db).payload["summary"].startswith("Validate tax_rates covers")


async def test_a_bad_field_keeps_the_dialog_and_its_values(make_app, demo_db):
    """A bad time closed the milestone dialog; now the error shows beside the field."""
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        before = kinds(demo_db)
        await pilot.press("m", "enter", *"whenever", "enter")
        await wait_for(pilot, lambda: "not a time" in _error(app, "at"))
        assert app.screen.query_one("#f-at").value == "whenever"
        await pilot.press("ctrl+u", *"2099-01-01T10:00", "enter")  # a milestone in the future
        await wait_for(pilot, lambda: "in the future" in _error(app, "at"))
        assert step_name(app) == "Fill"
        await pilot.press("escape")
        await pilot.press("n", "enter")  # an empty note: refused in place
        await wait_for(pilot, lambda: "required" in _error(app, "text"))
        await pilot.press("escape")
        await nothing_written_since(pilot, app, demo_db, before)


def _error(app, field: str) -> str:
    try:
        return str(app.screen.query_one(f"#e-{field}").render())
    except Exception:
        return ""


async def test_a_snooze_that_would_change_nothing_says_why(make_app, demo_db):
    """Snoozing at SEV1 until before the current deadline said "snoozed" and did nothing."""
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        before = kinds(demo_db)
        await pilot.press("z", *"2", "enter", *"vendor call", "enter")  # due in 4 minutes
        await wait_for(pilot, lambda: "would change nothing" in _error(app, "minutes"))
        assert app.screen.query_one("#f-reason").value == "vendor call"
        await pilot.press("escape")
        await nothing_written_since(pilot, app, demo_db, before)


async def test_the_checklist_dialog_keeps_resolution_and_after_resolution_apart(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: step_name(app) == "Tick")
        prompts = [str(o.prompt) for o in app.screen.query_one("SelectionList")._options]
        assert prompts[0] == "Resolution checklist (0/5)"
        assert prompts.index("After resolution (0/4)") == 6


async def test_filter_jump_and_timezone(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        timeline = app.query_one(Timeline)
        await pilot.press("f", *"kind:note", "enter")
        await wait_for(pilot, lambda: timeline.total == 3)
        await pilot.press("f", *"actor:bob", "enter")
        await wait_for(pilot, lambda: timeline.total == 4)
        await pilot.press("f", *"keyerr", "enter")  # words people read, as prefixes
        await wait_for(pilot, lambda: timeline.total == 2)
        await pilot.press("f", "backspace", "enter")
        await wait_for(pilot, lambda: timeline.total == DEMO_EVENTS)
        await pilot.press("t", *"14:12", "enter")  # the pinned root-cause note: 14:12
        await wait_for(
            pilot,
            lambda: (
                timeline.selected is not None and timeline.selected.payload.get("pinned") is True
            ),
        )
        await pilot.press("T")
        assert timeline.fmt.tz is app.tz


async def test_a_new_filter_is_read_when_the_timers_poll_follows_at_once(make_app):
    """Each poll cancels the one before it; a forced read cancelled before its thread ran
    was lost, and the filter waited for the next write (1 full-suite run in 3)."""
    from warroom.store import TimelineFilter

    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        timeline = app.query_one(Timeline)
        app.filter = TimelineFilter(("note",), "", "")
        app.poll(force=True)
        app.poll()  # the 0.5 s timer's poll, in the same turn of the loop
        await wait_for(pilot, lambda: timeline.total == 3)


async def test_a_filter_that_looks_like_markup_is_shown_as_typed(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        timeline = app.query_one(Timeline)
        await pilot.press("f", *"[/b] [red]x", "enter")
        await wait_for(pilot, lambda: "filter:" in str(timeline.border_title))
        assert timeline._border_title is not None
        assert timeline._border_title.plain == "Timeline · filter: [/b] [red]x"
        await pilot.pause()  # a frame with the title drawn (it raised MarkupError)
        assert app.is_running


async def test_notifications_show_outside_text_literally(make_app):
    """A reason from a server or a name from a cluster in a toast is not markup (an
    unbalanced tag raised MarkupError when the toast was drawn)."""
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        app.query_one(Timeline).notify("pod [/b] gone [red]x")  # a widget's own notify
        app.notify("Sync off: [/i] 401")
        await wait_for(pilot, lambda: len(app._notifications) == 2)
        shown = {n.message: n.markup for n in app._notifications}
        assert shown == {"pod [/b] gone [red]x": False, "Sync off: [/i] 401": False}


async def test_declare_and_switch(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("D", *"Search is slow", "enter", *"P2", "enter", "enter", "enter")
        await wait_for(
            pilot,
            lambda: (
                app.incident_id != INCIDENT
                and app.state is not None
                and app.state.title.value == "Search is slow"
            ),
        )
        assert app.state.current_severity == "SEV3"
        assert app.state.holder("incident_commander").value == "you"
        await pilot.press("o")
        await wait_for(pilot, lambda: step_name(app) == "Choose")
        await pilot.press("down", "enter")
        await wait_for(
            pilot, lambda: app.incident_id == INCIDENT and app.state.incident_id == INCIDENT
        )


async def test_export_writes_the_postmortem_and_says_where(make_app, tmp_path):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: list(tmp_path.glob("postmortem-*.md")))
        [path] = tmp_path.glob("postmortem-*.md")
        assert path.read_text().startswith("# Incident Postmortem: Checkout failing")
        await wait_for(pilot, lambda: any(str(path) in str(n.message) for n in app._notifications))


async def test_help_lists_every_key_and_the_palette_finds_actions(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: step_name(app) == "Read")
        lines = app.screen.step.body.plain.splitlines()

        def listed(key: str, what: str) -> bool:
            pattern = rf"(^|\s){re.escape(key)}\s+{re.escape(what)}(\s|$)"
            return any(re.search(pattern, line) for line in lines)

        for key, what in [("n", "Note"), ("u", "Update"), ("e", "Export"), ("D", "Declare")]:
            assert listed(key, what), (key, what)
        for key, what in [("K", "Cluster"), ("q", "Quit"), ("R", "Restart"), ("U", "Undo")]:
            assert listed(key, what), (key, what)
        for key, what in [("Space", "Pause"), ("/", "Include"), ("ctrl+y", "copy the text")]:
            assert listed(key, what), (key, what)
        assert listed("Tab", "next pane (timeline, pods, logs)")
        for section in ["Pods pane (Tab to it)", "Logs pane", "Update composer (u)"]:
            assert section in lines, section
        await pilot.press("escape", "h")
        await wait_for(pilot, lambda: step_name(app) == "Read")
        history = app.screen.step.body.plain
        assert "alice" in history and "investigating → identified" in history
        await pilot.press("escape")
        from warroom.tui.palette import ConsoleCommands

        provider = ConsoleCommands(app.screen)
        names = [hit.text for hit in [h async for h in provider.discover()]]
        assert {"Note", "Export", "Declare", "Cluster"} <= set(names)


async def test_keys_can_be_remapped(make_app, demo_db, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[keys]\nnote = "N"\n')
    monkeypatch.setenv("WARROOM_CONFIG", str(config))
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("N", *"remapped", "enter")
        await wait_for(pilot, lambda: last(demo_db).payload.get("text") == "remapped")


async def test_another_process_appends_and_the_timeline_shows_it(make_app, demo_db):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "warroom",
                "--db",
                str(demo_db),
                "--as",
                "cli-user",
                "note",
                "from another terminal",
                "-i",
                INCIDENT,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        timeline = app.query_one(Timeline)
        await wait_for(pilot, lambda: timeline.total == DEMO_EVENTS + 1, timeout=3)
        await wait_for(pilot, lambda: timeline.event_at(DEMO_EVENTS) is not None)
        assert timeline.event_at(DEMO_EVENTS).actor == "cli-user"


async def test_hostile_text_is_shown_literally(make_app, demo_db):
    from warroom.store import EventLog

    with EventLog(demo_db) as log:
        write_note(log, INCIDENT, "[red]boom[/red] \x1b[2J\x1b]0;x\x07 [link=x]y", "z")
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        timeline = app.query_one(Timeline)
        await wait_for(pilot, lambda: timeline.event_at(DEMO_EVENTS) is not None)
        row = timeline._row(timeline.event_at(DEMO_EVENTS), False, 100)
        line = "".join(seg.text for seg in row)
        assert "[red]boom[/red] [link=x]y" in line
        assert "\x1b" not in line and "\x07" not in line


async def test_a_failed_write_is_shown_and_the_console_goes_on(make_app, demo_db):
    """A refused write (here: a release of a role nobody holds any more, because someone
    else released it meanwhile) is reported; the writer and the console keep working."""
    from warroom.core.commands import ReleaseRole
    from warroom.store import EventLog

    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        with EventLog(demo_db) as log:
            log.execute(INCIDENT, [ReleaseRole(role="scribe")], "elsewhere")
        app.submit((ReleaseRole(role="scribe"),), "released")
        await wait_for(
            pilot,
            lambda: any("nobody holds Scribe" in str(n.message) for n in app._notifications),
        )
        await pilot.press("n", *"still here", "enter")
        await wait_for(pilot, lambda: last(demo_db).payload.get("text") == "still here")


async def test_overdue_update_rings_once(make_app):
    from datetime import timedelta

    clock = [NOW]
    app = make_app(now=lambda: clock[0])
    bells = []
    async with app.run_test() as pilot:
        app.bell = lambda: bells.append(1)
        await started(app, pilot)
        clock[0] = NOW + timedelta(minutes=5)
        app.tick()
        app.tick()
        assert bells == [1]
        assert "UPDATE OVERDUE" in str(app.query_one("#cadence").render())
        assert app.query_one("#cadence").has_class("-overdue")


async def test_picker_when_no_incident_is_given(make_app):
    app = make_app(incident=None)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.incident_id == INCIDENT)  # the only open one


async def test_declare_dialog_when_there_is_no_incident(tmp_path):
    from warroom.config import load_settings
    from warroom.store import EventLog
    from warroom.tui.app import WarroomApp

    with EventLog(tmp_path / "empty.db") as log:
        app = WarroomApp(log, load_settings(), None, now=lambda: NOW, actor="you")
        async with app.run_test() as pilot:
            await wait_for(pilot, lambda: step_name(app) == "Fill")
            assert app.screen.step.title == "Declare an incident"


async def test_a_long_timeline_opens_at_the_newest_event_and_scrolls(make_app, demo_db):
    from warroom.core.commands import AddNote
    from warroom.store import EventLog

    with EventLog(demo_db) as log:
        log.execute(INCIDENT, [AddNote(text=f"n{i}") for i in range(500)], "bulk")
    total = DEMO_EVENTS + 500
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        timeline = app.main.query_one(Timeline)
        await wait_for(pilot, lambda: timeline.total == total)
        await wait_for(
            pilot,
            lambda: timeline.scroll_offset.y + timeline.scrollable_content_region.height == total,
        )
        await wait_for(pilot, lambda: timeline.selected is not None)
        assert timeline.selected.payload["text"] == "n499"
        await pilot.press("home")
        await wait_for(
            pilot,
            lambda: (
                timeline.scroll_offset.y == 0
                and timeline.selected is not None
                and timeline.selected.kind == "alert_received"
            ),
        )
        await pilot.press("pagedown", "pagedown")
        assert timeline.cursor == 40
        await wait_for(pilot, lambda: timeline.selected is not None)


async def test_the_footer_shows_remapped_keys_and_a_click_presses_one(
    make_app, tmp_path, monkeypatch
):
    from warroom.tui.widgets.footer import KeysFooter

    config = tmp_path / "config.toml"
    config.write_text('[keys]\nnote = "N"\n')
    monkeypatch.setenv("WARROOM_CONFIG", str(config))
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        footer = app.main.query_one(KeysFooter)
        line = footer.render().plain
        assert " N Note " in line and " n Note " not in line and line.endswith(" ^p palette ")
        offset = line.index("Update")
        await pilot.click(KeysFooter, offset=(offset, 0))
        await wait_for(pilot, lambda: screen_name(app) == "Composer")


async def test_footer_hints_are_measured_in_cells(make_app, demo_db, tmp_path, monkeypatch):
    """A wide key (a remapped CJK key) must not shift the right-aligned hint or the clicks."""
    from rich.cells import cell_len

    from tests.tui.test_hostile_text import cells
    from warroom.tui.widgets.footer import KeysFooter

    config = tmp_path / "config.toml"
    config.write_text('[keys]\nquit = "中"\n')
    monkeypatch.setenv("WARROOM_CONFIG", str(config))
    app = make_app()
    async with app.run_test(size=(140, 35)) as pilot:
        await started(app, pilot)
        footer = app.main.query_one(KeysFooter)
        line = footer.render().plain
        assert " 中 Quit " in line and line.endswith(" ^p palette ")
        assert cell_len(line) == 139  # as with one-cell keys: right-aligned, to the cell
        row = cells(line)
        hints = {key: "".join(row[start:end]) for start, end, key, _ in footer._spans}
        assert hints["中"] == " 中 Quit " and hints["ctrl+p"] == " ^p palette "
        end = footer._spans[-1][1]
        await pilot.click(KeysFooter, offset=(end - 1, 0))
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette")
