"""Log bytes to drawable lines: the fast whole-chunk path says exactly what the line-by-line
path says, however the bytes are chunked, and what it says is safe to draw."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from warroom.kube.loglines import MAX_LINE, Lines, Splitter, decode, last_run, raw_line
from warroom.kube.loglines import _row as shown

STAMP = b"2026-11-22T14:05:00.123456789Z"
pieces = st.sampled_from(
    [
        b"GET /x 200",
        b" ",
        b"\t",
        "中文".encode(),
        "e\u0301".encode(),
        "\u202e".encode(),
        b"\x1b[31m",
        b"\xff\xfe",
        b"\r",
        b"[red]x[/red]",
        b"\x00",
        "\u2028".encode(),
        b"A" * 700,
    ]
)
lines = st.lists(
    st.builds(
        lambda stamp, parts: stamp + b"".join(parts),
        st.sampled_from([STAMP + b" ", b""]),
        st.lists(pieces, max_size=30),
    ),
    max_size=40,
)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(lines, st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=8))
def test_chunked_decoding_matches_line_by_line(raw: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(line + b"\n" for line in raw)
    splitter, stamps, texts = Splitter(), [], []
    at = 0
    for size in cuts * (len(stream) // sum(cuts) + 1):
        block, cut = splitter.feed(stream[at : at + size])
        at += size
        got = decode(block, cut)
        stamps += got[0]
        texts += got[1]
        if at >= len(stream):
            break
    expected = [raw_line(line) for line in raw]
    assert stamps == [s for s, _, _ in expected]
    assert texts == [t for _, _, t in expected]
    assert all(t.isprintable() for t in texts + stamps)


def test_a_line_with_no_end_is_capped_while_it_streams() -> None:
    splitter = Splitter()
    for _ in range(10):
        assert splitter.feed(b"x" * MAX_LINE) == (b"", 0)
    block, cut = splitter.feed(b"yz\n")
    assert len(block) == MAX_LINE + 3 and cut == 9 * MAX_LINE
    (stamp,), (text,) = decode(block, cut)
    assert text == f" … ({9 * MAX_LINE + 2} bytes cut)" and stamp == "x" * MAX_LINE  # no space


def test_shown_expands_tabs_in_cells_and_marks_invisible_characters() -> None:
    assert shown("a\tb") == "a       b"
    assert shown("中\tb") == "中      b" and cell_len(shown("中\tb")[:-1]) == 8
    assert shown("x\u202ey\u200bz") == "x⟨U+202E⟩y⟨U+200B⟩z"
    assert shown("👩\u200d💻") == "👩💻"  # the joiner goes: Rich and terminals disagree on it
    assert shown("\x1b[31mred\x1b[0m\x07") == "red"


def test_last_run_finds_the_lines_at_the_last_timestamp() -> None:
    block = b"t1 a\nt2 b\nt2 c\n"
    assert last_run(block) == ("t2", [b"b", b"c"], False)
    assert last_run(b"t2 d\nt2 e\n") == ("t2", [b"d", b"e"], True)
    assert last_run(b"\n") == ("", [b""], True)


def test_lines_are_columns_that_read_as_tuples() -> None:
    kept = Lines.bounded(3)
    kept.append(0, ["s1", "s2"], ["a", "b"])
    kept.append(1, ["s3", "s4"], ["c", "d"])
    assert list(kept) == [(0, "s2", "b"), (1, "s3", "c"), (1, "s4", "d")]
    assert kept[-1] == (1, "s4", "d") and len(kept) == 3
    assert list(kept.where(lambda text: text != "c")) == [(0, "s2", "b"), (1, "s4", "d")]
    assert list(kept.tail(1)) == [(1, "s4", "d")]
