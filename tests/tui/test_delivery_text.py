"""Each timeline row's delivery state, as detailed as its width allows: a failure is the last
thing cut, and outside words (a channel's name, a remote's reason) stay literal."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.style import Style

from warroom.cells import width
from warroom.core.deliveries import Result
from warroom.core.timefmt import TimeFormatter
from warroom.tui.delivery_text import details, row_segments

AT = datetime(2026, 11, 22, 14, 4, 31, tzinfo=UTC)
RESULTS = [
    Result("e1", "war-room", "sent", 1, AT),
    Result("e1", "ops-hook", "retrying", 2, AT, reason="HTTP 503"),
    Result("e1", "customers", "failed", 1, AT, reason="550 \u202egone [b]x[/b] \x1b[31m"),
]
FMT = TimeFormatter(UTC)


def shown(cells: int) -> str:
    segments = row_segments(RESULTS, FMT, cells, Style())
    text = "".join(s.text for s in segments)
    assert width(text) <= cells
    return text


def test_each_width_gets_the_most_detail_that_fits() -> None:
    full = shown(200)
    assert full.startswith("war-room sent 14:04:31 · ops-hook retrying (HTTP 503")
    assert "customers FAILED: 550 ⟨U+202E⟩gone [b]x[/b]" in full and "\x1b" not in full
    assert shown(60) == "war-room sent 14:04 · ops-hook retrying · customers FAILED"
    assert shown(40) == "customers FAILED · 1 retrying · 1 sent"
    assert shown(37) == "customers ✗ · ops-hook ↻ · war-room ✓"
    assert shown(31) == "1 FAILED · 1 retrying · 1 sent"
    assert shown(10).startswith("1 FAILED")


def test_a_failure_is_white_on_red() -> None:
    [failed] = [s for s in row_segments(RESULTS, FMT, 60, Style()) if "FAILED" in s.text]
    assert failed.style is not None and failed.style.bgcolor == Style.parse("on #d70000").bgcolor


def test_the_details_name_each_channel_and_the_way_out() -> None:
    text = details(RESULTS, FMT).plain
    assert "war-room sent 14:04:31" in text
    assert "ops-hook retrying 14:04:31 (attempt 2)" in text and "HTTP 503" in text
    assert "customers FAILED" in text and "warroom deliveries retry" in text
    assert "[b]x[/b]" in text and "\x1b" not in text
