"""Outside text on the console's screen: every row exactly as wide as the terminal, every
border where it belongs, markup and invisible characters shown literally.

The screen is read as Textual composes it (the strips it writes to the terminal), so these
tests see what a terminal would be sent: a tab, a control, a bidi override or a zero-width
character in it would be drawn at a width Rich did not count.
"""

from __future__ import annotations

import pytest
from rich.cells import cell_len, split_graphemes
from textual.widget import Widget

from tests.core.test_text import invisible
from tests.tui.conftest import DEMO_EVENTS, HOSTILE, wait_for
from warroom.tui.widgets.timeline import Timeline

SIZES = [(120, 35), (80, 24)]
BORDER = set("│┃║╮╯╭╰┓┛┏┗━─═▎▊▌▐█")
TOTAL = DEMO_EVENTS + len(HOSTILE)


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def cells(line: str) -> list[str]:
    """The line cell by cell: a wide character, then "" for the cell it also covers."""
    spans, _ = split_graphemes(line)
    out: list[str] = []
    for start, end, width in spans:
        if width == 0 and out:
            out[-1] += line[start:end]
            continue
        out.append(line[start:end])
        out.extend([""] * (width - 1))
    return out


def assert_screen_is_sound(app, size: tuple[int, int]) -> list[str]:
    width, height = size
    lines = screen_lines(app)
    assert len(lines) == height
    for y, line in enumerate(lines):
        assert cell_len(line) == width, f"row {y} is {cell_len(line)} cells: {line!r}"
        assert not [c for c in line if invisible(c)], f"row {y}: {line!r}"
    return lines


def assert_borders_in_place(lines: list[str], widgets: list[Widget]) -> None:
    """Both side borders of each bordered widget sit in their own column on every row."""
    checked = 0
    for widget in widgets:
        if not widget.display or widget.region.width == 0:
            continue
        region = widget.region
        for y in range(region.y, region.bottom):
            row = cells(lines[y])
            for x in (region.x, region.right - 1):
                assert row[x] in BORDER, f"{widget!r} row {y} col {x}: {lines[y]!r}"
        checked += 1
    assert checked


async def hostile_loaded(pilot) -> None:
    app = pilot.app
    timeline = app.main.query_one(Timeline)
    await wait_for(pilot, lambda: app.state is not None and timeline.total == TOTAL)
    await wait_for(pilot, lambda: timeline.event_at(TOTAL - 1) is not None)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=["120x35", "80x24"])
async def test_hostile_text_keeps_every_row_and_border_in_place(make_app, hostile_db, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await hostile_loaded(pilot)
        lines = assert_screen_is_sound(app, size)
        bordered = [app.main.query_one(Timeline), *app.main.query("Panel")]
        assert_borders_in_place(lines, bordered)
        screen = "\n".join(lines)
        assert "[b]markup[/b]" in screen  # markup shown, not applied
        assert "⟨U+202E⟩" in screen  # the override is visible, and overrides nothing
        assert "\x1b" not in screen and "\t" not in screen


async def test_a_pin_names_what_it_pinned_in_the_timeline(make_app, hostile_db):
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await hostile_loaded(pilot)
        timeline = app.main.query_one(Timeline)
        pin = next(timeline.event_at(i) for i in range(TOTAL) if timeline.event_at(i).kind == "pin")
        row = "".join(s.text for s in timeline._row(pin, False, 100))
        assert "pinned 李雷🔥's note: tab here⟨U+200B⟩zero" in row
        assert cell_len(row) == 100


async def test_dialogs_show_outside_text_literally_at_a_known_width(make_app, hostile_db):
    from rich.text import Text

    from warroom.tui.screens.dialogs import ConfirmDialog
    from warroom.tui.screens.flow import FlowScreen
    from warroom.tui.steps import Choose, Confirm, Field, Fill, Read

    title = "Switch to\t王小明\u202e [bold red]x[/]"
    options = (
        ("a", "SEV2 open\t中文\u200b [b]y[/b] 🔥"),
        ("b", "e\u0301\u0301 \x1b[2J\x1b]0;x\x07z"),
    )
    steps = [
        Choose(title, options),
        Confirm(title, Text("body with tab")),
        Read(title, Text("read only 中文")),
        Fill(title, (Field("who", "Person\t王小明\u202e [b]x[/b]"),), error="bad\u2066 [i]y[/i]"),
    ]

    def one(step):
        yield step

    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await hostile_loaded(pilot)
        dialogs = [FlowScreen(one(step), step) for step in steps]
        dialogs.append(ConfirmDialog(title, "body\twith\u202e tab\n[bold]no markup[/bold]"))
        for dialog in dialogs:
            app.push_screen(dialog)
            await wait_for(pilot, lambda d=dialog: app.screen is d and d.is_mounted)
            await pilot.pause()
            lines = assert_screen_is_sound(app, (120, 35))
            assert_borders_in_place(lines, list(dialog.query(".dialog")))
            screen = "\n".join(lines)
            assert "王小明⟨U+202E⟩ [bold red]x[/]" in screen
            dialog.dismiss(None)
            await wait_for(pilot, lambda d=dialog: app.screen is not d)


@pytest.mark.parametrize("size", SIZES, ids=["120x35", "80x24"])
def test_hostile_main_screen(snap_compare, make_app, hostile_db, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=hostile_loaded)
