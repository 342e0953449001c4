"""Fitting outside text to terminal cells, as Rich (and so Textual) measures them."""

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from tests.core.test_text import HOSTILE
from warroom.cells import cut, fit


def test_fit_pads_or_cuts_to_exactly_the_cells_asked_for():
    assert fit("bob", 6) == "bob   "
    assert fit("alexandra", 6) == "alexa…"
    assert fit("中文名字很长", 6) == "中文… "  # a wide character never straddles the edge
    assert fit("中文名字很长", 7) == "中文名…"
    assert fit("", 3) == "   "
    assert fit("anything", 0) == ""


def test_cut_never_pads_and_says_when_it_cut():
    assert cut("short", 10) == "short"
    assert cut("a long line", 6) == "a lon…"
    assert cut("a\tb\nc", 10) == "a b c"
    assert cut("😀😀😀", 5) == "😀😀…"


def test_fit_shows_invisible_characters_and_markup_literally():
    assert fit("x\u202ey", 12) == "x⟨U+202E⟩y  "
    assert fit("[bold red]x[/]", 15) == "[bold red]x[/] "


@settings(max_examples=400, derandomize=True, deadline=None)
@given(HOSTILE, st.integers(min_value=0, max_value=40))
def test_fitting_any_text_gives_exactly_that_many_cells(text, width):
    out = fit(text, width)
    assert cell_len(out) == width
    assert not [c for c in out if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")]
    assert cell_len(cut(text, width)) <= width
