"""Every key action, driven with Textual's pilot, asserted on the event log."""

from __future__ import annotations

import subprocess
import sys

from tests.tui.conftest import INCIDENT, NOW, kinds, last, wait_for
from warroom.tui.widgets.timeline import Timeline


async def started(app, pilot):
    await wait_for(pilot, lambda: app.state is not None and app.query_one(Timeline).total > 0)


async def test_console_opens_on_the_incident(make_app):
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        assert app.query_one(Timeline).total == 15
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
        assert event.payload["text"] == "db pool exhausted"
        assert event.actor == "you"
        await wait_for(pilot, lambda: app.query_one(Timeline).total == 16)


async def test_three_keystrokes_post_a_prefilled_update(make_app, demo_db):
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        await pilot.press("u")
        await wait_for(pilot, lambda: "STATUS UPDATE" in app.screen.body)
        await pilot.press("ctrl+s")
        await pilot.press("enter")
        await wait_for(pilot, lambda: kinds(demo_db)[-1] == "update_posted")
        event = last(demo_db)
        assert event.payload["template"] == "status-update"
        assert "Severity: SEV2" in event.payload["body"]
        assert "Status: Identified" in event.payload["body"]
        await wait_for(pilot, lambda: app.state.update_count == 2)
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
        await pilot.press("u")
        await wait_for(pilot, lambda: getattr(app.screen, "error", None) is not None)
        assert "unsafe" in app.screen.error
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        assert kinds(demo_db).count("update_posted") == 1


async def test_status_and_severity(make_app, demo_db):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("s", "down", "enter")  # identified -> monitoring
        await wait_for(pilot, lambda: app.state.current_status == "monitoring")
        await pilot.press("v", "up", "enter")  # SEV2 -> SEV1
        await wait_for(pilot, lambda: app.state.current_severity == "SEV1")
        with_replaces = last(demo_db)
        assert with_replaces.payload["replaces"] is not None


async def test_resolving_asks_first(make_app, demo_db):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("s", "end", "enter")
        await pilot.press("escape")  # the confirmation: nothing recorded
        await pilot.pause(0.1)
        assert "resolved" not in [e for e in kinds(demo_db)[-1:]]
        assert app.state.current_status == "identified"
        await pilot.press("s", "end", "enter", "enter")
        await wait_for(pilot, lambda: app.state.is_resolved)
        assert "Updates stopped" in str(app.query_one("#cadence").render())


async def test_assign_release_and_take_command(make_app, demo_db):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("a", "down", "enter")  # Tech Lead
        await pilot.press(*"erin", "enter")
        await wait_for(pilot, lambda: app.state.holder("tech_lead").value == "erin")
        await pilot.press("a", "down", "down", "enter")  # Comms Lead: clear -> release
        inp = app.screen.query_one("Input")
        inp.value = ""
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state.holder("comms_lead") is None)
        await pilot.press("i", "enter")
        await wait_for(pilot, lambda: app.state.holder("incident_commander").value == "you")
        assert [t.person for t in app.state.role_history("incident_commander")] == ["alice", "you"]


async def test_pin_milestone_checklist_action_item_snooze(make_app, demo_db):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        timeline = app.query_one(Timeline)
        await wait_for(pilot, lambda: timeline.selected is not None)
        target = timeline.selected.id
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.is_pinned(target))

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


async def test_invalid_input_changes_nothing(make_app, demo_db):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        before = kinds(demo_db)
        await pilot.press("m", "enter", *"whenever", "enter")
        await pilot.press("z", *"-5", "enter", *"why", "enter")
        await pilot.press("n", "enter")  # empty note: the form refuses it
        assert "required" in str(app.screen.query_one("#form-error").render())
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert kinds(demo_db) == before


async def test_filter_jump_and_timezone(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        timeline = app.query_one(Timeline)
        await pilot.press("f", *"kind:note", "enter")
        await wait_for(pilot, lambda: timeline.total == 3)
        await pilot.press("f", *"actor:bob", "enter")
        await wait_for(pilot, lambda: timeline.total == 4)
        await pilot.press("f", "backspace", "enter")
        await wait_for(pilot, lambda: timeline.total == 15)
        await pilot.press("t", *"14:06", "enter")  # the pinned note was written at 14:06
        await wait_for(
            pilot,
            lambda: (
                timeline.selected is not None and timeline.selected.payload.get("pinned") is True
            ),
        )
        await pilot.press("T")
        assert timeline.fmt.tz is app.tz


async def test_declare_and_switch(make_app, db_path):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("D", *"Search is slow", "enter", *"P2", "enter", "enter")
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
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ChoiceDialog")
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


async def test_help_history_and_palette(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "TextDialog")
        body = str(app.screen.body)
        for key, words in [("n", "Note"), ("u", "Update"), ("e", "Export"), ("D", "Declare")]:
            assert f"{key}" in body and words in body
        await pilot.press("escape", "h")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "TextDialog")
        assert "alice" in str(app.screen.body) and "investigating → identified" in str(
            app.screen.body
        )
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Note" in titles and "Export" in titles and "Declare" in titles


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
        await wait_for(pilot, lambda: timeline.total == 16, timeout=3)
        await wait_for(pilot, lambda: timeline.event_at(15) is not None)
        assert timeline.event_at(15).actor == "cli-user"


async def test_hostile_text_is_shown_literally(make_app, demo_db):
    from warroom.store import EventLog

    with EventLog(demo_db) as log:
        log.append(INCIDENT, "note", {"text": "[red]boom[/red] \x1b[2J\x1b]0;x\x07 [link=x]y"}, "z")
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        timeline = app.query_one(Timeline)
        await wait_for(pilot, lambda: timeline.event_at(15) is not None)
        line = "".join(seg.text for seg in timeline._row(timeline.event_at(15), False, 100))
        assert "[red]boom[/red] [link=x]y" in line
        assert "\x1b" not in line and "\x07" not in line


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


async def test_declare_dialog_when_there_is_no_incident(tmp_path, monkeypatch):
    from warroom.config import load_settings
    from warroom.store import EventLog
    from warroom.tui.app import WarroomApp

    with EventLog(tmp_path / "empty.db") as log:
        app = WarroomApp(log, load_settings(), None, now=lambda: NOW, actor="you")
        async with app.run_test() as pilot:
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "FormDialog")
            assert "Declare" in app.screen.title_text


async def test_a_long_timeline_opens_at_the_newest_event_and_scrolls(make_app, demo_db):
    from warroom.store import EventLog

    with EventLog(demo_db) as log:
        log.append_many(INCIDENT, [("note", {"text": f"n{i}"}) for i in range(500)], "bulk")
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        timeline = app.main.query_one(Timeline)
        await wait_for(pilot, lambda: timeline.total == 515)
        await wait_for(
            pilot,
            lambda: timeline.scroll_offset.y + timeline.scrollable_content_region.height == 515,
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
    make_app, demo_db, tmp_path, monkeypatch
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
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "Composer")


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
