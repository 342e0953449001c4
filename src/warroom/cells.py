"""Outside text fitted to terminal cells, for the console's columns and the CLI's tables.

`len()` counts characters, a terminal counts cells: CJK and most emoji take two, combining
marks none. Columns padded with `ljust` drift as soon as a name is `李雷` or `🔥 ops`. These
helpers measure as Rich does (and so Textual, which lays the screen out with it), after
`core.text.one_line` has removed everything whose width a terminal would not agree on.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

from warroom.core.text import one_line

ELLIPSIS = "…"


def width(text: str) -> int:
    """Cells `text` takes on a terminal."""
    return cell_len(text)


def cut(text: str, cells: int) -> str:
    """One clean line of at most `cells` cells, ending in an ellipsis where it was cut."""
    line = one_line(text)
    if line.isascii():  # printable ASCII once cleaned: a cell per character
        if len(line) <= cells:
            return line
        return line[: cells - 1].rstrip() + ELLIPSIS if cells > 0 else ""
    if cell_len(line) <= cells:
        return line
    if cells <= 0:
        return ""
    # A wide character straddling the edge comes back as a space; drop it with any other.
    return set_cell_size(line, cells - 1).rstrip() + ELLIPSIS


def fit(text: str, cells: int) -> str:
    """One clean line of exactly `cells` cells: cut with an ellipsis, or padded with spaces."""
    return set_cell_size(cut(text, cells), max(cells, 0))
