import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.core.text import clean, one_line, slug

# Anything a peer, a pod or a paste can produce: every code point, lone surrogates included,
# plus the characters that have broken panes before, often.
HOSTILE = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),
        st.sampled_from(
            "\t\r\n\x1b[]\x07\x9b\u202e\u2066\u200b\u200d\u200c\ufeff\u00ad\u2028"
            "\U000e0041\ufe0f\u0301中😀\ud800\udfff"
        ),
    ),
    max_size=60,
)


def invisible(ch: str) -> bool:
    """What a terminal would act on or hide instead of drawing as a plain glyph."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def test_clean_strips_terminal_sequences_but_keeps_text():
    hostile = (
        "a\x1b[31mred\x1b[0m b\x1b]0;pwned title\x07 c\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"
        " d\x9b2J e\x07\x08f\r\ng\tend\x1bP1$r\x1b\\"
    )
    out = clean(hostile)
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
    assert out == "ared b clink d ef\ng       end"


def test_clean_leaves_markup_like_text_alone():
    assert clean("[red]not styled[/red]") == "[red]not styled[/red]"
    assert one_line("[bold red]x[/]") == "[bold red]x[/]"


def test_tabs_expand_to_stops_of_eight_cells_counting_wide_characters():
    assert clean("a\tb") == "a       b"
    assert clean("abcdefgh\tx") == "abcdefgh        x"
    assert clean("中\tx\n\ty") == "中      x\n        y"
    assert clean("e\u0301\tx") == "e\u0301       x"  # a combining mark takes no cell
    assert one_line("a\t\tb") == "a b"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("file\u202etxt.exe", "file⟨U+202E⟩txt.exe"),  # right-to-left override
        ("a\u2066b\u2069", "a⟨U+2066⟩b⟨U+2069⟩"),  # isolates
        ("a\u200eb\u200f\u061c", "a⟨U+200E⟩b⟨U+200F⟩⟨U+061C⟩"),  # marks
        ("pay\u200bpal", "pay⟨U+200B⟩pal"),  # zero-width space
        ("\ufeffstart", "⟨U+FEFF⟩start"),
        ("soft\u00adhyphen", "soft⟨U+00AD⟩hyphen"),
        ("tag\U000e0041", "tag⟨U+E0041⟩"),
        ("a\u2060\u2064b", "a⟨U+2060⟩⟨U+2064⟩b"),
    ],
)
def test_bidi_and_invisible_format_characters_are_shown_as_markers(text, shown):
    assert clean(text) == shown
    assert one_line(text) == shown


def test_joiners_are_dropped_so_the_neighbours_keep_their_width():
    # Rich measures a ZWJ as joining the next character, terminals mostly draw both.
    assert clean("👩\u200d💻 a\u200db \u200cx") == "👩💻 ab x"


def test_line_separators_become_newlines_and_surrogates_become_replacement_characters():
    assert clean("a\u2028b\u2029c") == "a\nb\nc"
    assert one_line("a\u2028b") == "a b"
    assert clean("bad \ud800 pair") == "bad \ufffd pair"
    clean("bad \ud800 pair").encode("utf-8")


def test_wide_combining_and_emoji_text_is_kept():
    text = "中文 e\u0301 ❤\ufe0f 🔥 [b]x[/b]"
    assert clean(text) == text
    assert one_line(text) == text


def test_one_line_folds_and_cuts():
    assert one_line("a\n\n b   c", 0) == "a b c"
    assert one_line("abcdef", 4) == "abc…"


@settings(max_examples=400, derandomize=True, deadline=None)
@given(HOSTILE)
def test_clean_never_lets_an_invisible_character_through(text):
    out = clean(text)
    assert not [c for c in out if invisible(c) and c != "\n"]
    out.encode("utf-8")
    assert clean(out) == out  # idempotent: cleaning twice changes nothing


@settings(max_examples=400, derandomize=True, deadline=None)
@given(HOSTILE, st.integers(min_value=0, max_value=30))
def test_one_line_is_one_clean_line(text, limit):
    out = one_line(text, limit)
    assert not [c for c in out if invisible(c)]
    assert "  " not in out and out == out.strip()
    assert not limit or len(out) <= limit
    assert one_line(out) == out


def test_slug():
    assert slug("API outage: 503s in EU!") == "api-outage-503s-in-eu"
    assert slug("\x1b[31m") == "incident"
