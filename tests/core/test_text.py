from warroom.core.text import clean, one_line, slug


def test_clean_strips_terminal_sequences_but_keeps_text():
    hostile = (
        "a\x1b[31mred\x1b[0m b\x1b]0;pwned title\x07 c\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"
        " d\x9b2J e\x07\x08f\r\ng\tend\x1bP1$r\x1b\\"
    )
    out = clean(hostile)
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
    assert out == "ared b clink d ef\ng\tend"


def test_clean_leaves_markup_like_text_alone():
    assert clean("[red]not styled[/red]") == "[red]not styled[/red]"


def test_one_line_folds_and_cuts():
    assert one_line("a\n\n b   c", 0) == "a b c"
    assert one_line("abcdef", 4) == "abc…"


def test_slug():
    assert slug("API outage: 503s in EU!") == "api-outage-503s-in-eu"
    assert slug("\x1b[31m") == "incident"
