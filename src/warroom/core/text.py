"""Making outside text safe to show: nothing a terminal would act on, nothing invisible.

Titles, notes, names and log lines come from people, peers and programs we do not control.
`clean` is the one sanitiser every display and export path uses; what it returns holds no
character whose width a terminal and Rich could disagree about:

- terminal escape sequences (CSI, OSC, DCS, ...) and C0/C1 control characters are removed;
  CRLF, U+2028 and U+2029 become LF; a lone CR is removed;
- tabs are expanded to spaces, with a stop every 8 cells (wide characters count two);
- format characters (Unicode category Cf: bidi embeddings, overrides, isolates and marks,
  zero-width space, word joiner, invisible operators, BOM, soft hyphen, tag characters...)
  are shown as a visible marker, `⟨U+202E⟩`, so no text can reorder or hide its neighbours;
- except the joiners U+200C and U+200D, which are dropped: they are ordinary in emoji and
  Indic or Persian text, but Rich measures a ZWJ as fusing the next character into one cell
  while many terminals draw both;
- lone surrogates (a JSON "\\ud800") become U+FFFD, so the text can always be encoded.

Rich markup is left alone: widgets draw text as `rich.text.Text`, never as markup. Wide,
combining and emoji characters are kept; measuring them in terminal cells is the UI's job
(`warroom.cells`), since the core does not import Rich.
"""

from __future__ import annotations

import re
import unicodedata

TAB = 8

_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]            # CSI ... final byte (colours, cursor moves)
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\|$)  # OSC ... BEL or ST (titles, hyperlinks, clipboard)
    | \x1b[PX^_][^\x1b]*(?:\x1b\\|$)   # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]?                 # any other escape sequence (or a lone ESC)
    | \x9b[0-?]*[ -/]*[@-~]            # 8-bit CSI
    """,
    re.VERBOSE,
)

_JOINERS = frozenset("\u200c\u200d")
_CACHE_LIMIT = 65_536


class _Visible(dict[int, int | str | None]):
    """`str.translate` table built lazily: what each code point becomes on a screen.

    Ordinary characters map to themselves and are cached too (up to a bound), so translating
    text costs one C-level lookup per character after the first sight of each.
    """

    def __missing__(self, code: int) -> int | str | None:
        char = chr(code)
        category = unicodedata.category(char)
        out: int | str | None = code
        if char in "\t\n":
            pass
        elif category == "Cc":
            out = None
        elif category == "Cf":
            out = None if char in _JOINERS else f"⟨U+{code:04X}⟩"
        elif category == "Cs":
            out = "\ufffd"
        elif category in ("Zl", "Zp"):
            out = "\n"
        if len(self) < _CACHE_LIMIT:
            self[code] = out
        return out


_VISIBLE = _Visible()


def _visible(text: str) -> str:
    """Escapes and controls removed, format characters marked; tabs and newlines kept."""
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPES.sub("", text)
    return text.replace("\r\n", "\n").translate(_VISIBLE)


class _Width(dict[str, int]):
    """Cells per character, near enough for tab stops (Rich's table is the UI's), cached."""

    def __missing__(self, char: str) -> int:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me"):
            width = 0
        else:
            width = 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        if len(self) < _CACHE_LIMIT:
            self[char] = width
        return width


_WIDTH = _Width()


def _cells(text: str) -> int:
    return len(text) if text.isascii() else sum(map(_WIDTH.__getitem__, text))


def _expand_tabs(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        if "\t" in line:
            parts = line.split("\t")
            column, pieces = 0, []
            for part in parts[:-1]:
                column += _cells(part)
                gap = TAB - column % TAB
                pieces += [part, " " * gap]
                column += gap
            line = "".join([*pieces, parts[-1]])
        lines.append(line)
    return "\n".join(lines)


def clean(text: str) -> str:
    """Text safe to show as it is, newlines kept (see the module docstring)."""
    if text.isprintable():
        return text
    out = _visible(text)
    return _expand_tabs(out) if "\t" in out else out


def one_line(text: str, limit: int = 0) -> str:
    """Clean text folded to one line, optionally cut to `limit` characters with an ellipsis.

    For widths in terminal cells use `warroom.cells.fit`; `limit` is for exports.
    """
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        line = text
    else:
        line = " ".join(_visible(text).split())
    if limit and len(line) > limit:
        return line[: max(limit - 1, 0)] + "…"
    return line


def slug(text: str, limit: int = 40) -> str:
    """Lower-case words joined by hyphens, for channel names like #incident-2026-11-22-api-down."""
    words = re.findall(r"[a-z0-9]+", clean(text).lower())
    out = "-".join(words)
    if len(out) > limit:
        cut = out[: limit + 1].rfind("-")
        out = out[:cut] if cut > 0 else out[:limit]
    return out or "incident"
