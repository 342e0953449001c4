"""Outside text (log lines, pod fields) as the cluster panes draw it: nothing a terminal would
act on, nothing invisible, and a width in cells that Rich and the terminal agree on.

A stand-in for the shared sanitiser being written in `warroom.core.text`; when `clean` and
`one_line` there expand tabs and mark format characters themselves, `shown` becomes
`clean(text).replace("\\n", " ")` and `one_row` becomes `one_line`, and nothing else changes.
"""

from __future__ import annotations

import unicodedata

from rich.cells import cell_len

from warroom.core.text import clean, one_line

TAB = 8
"""Cells between tab stops, as terminals set them."""
_JOINERS = frozenset("\u200c\u200d")


def shown(text: str) -> str:
    """Text for one row: escapes and controls gone, tabs expanded to spaces at 8-cell stops,
    format characters (bidi overrides, zero-width spaces...) shown as ⟨U+XXXX⟩."""
    if text.isprintable():
        return text
    return _expand_tabs(_visible(clean(text)))


def one_row(text: str, limit: int = 0) -> str:
    """`one_line` (whitespace folded, optionally cut) with format characters shown."""
    return _visible(one_line(text, limit))


def _visible(text: str) -> str:
    if text.isprintable() or not any(map(_invisible, text)):
        return text
    return "".join(map(_marker, text))


def _invisible(char: str) -> bool:
    return unicodedata.category(char) in ("Cf", "Cs", "Zl", "Zp")


def _marker(char: str) -> str:
    if not _invisible(char):
        return char
    if char in _JOINERS:
        return ""  # ordinary in emoji and Indic text, but Rich and terminals disagree on it
    return f"⟨U+{ord(char):04X}⟩"


def _expand_tabs(text: str) -> str:
    if "\t" not in text:
        return text
    column, pieces = 0, []
    parts = text.split("\t")
    for part in parts[:-1]:
        column += cell_len(part)
        gap = TAB - column % TAB
        pieces += [part, " " * gap]
        column += gap
    return "".join([*pieces, parts[-1]])
