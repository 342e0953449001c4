"""Making outside text safe to show: terminal escape sequences and control characters go.

Titles, notes and log lines come from people and programs we do not control. Anything that a
terminal would interpret (CSI, OSC, other ESC sequences, C0/C1 controls) is removed before the
text is shown or exported; newlines and tabs stay.
"""

from __future__ import annotations

import re

_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]            # CSI ... final byte (colours, cursor moves)
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\|$)  # OSC ... BEL or ST (titles, hyperlinks, clipboard)
    | \x1b[PX^_][^\x1b]*(?:\x1b\\|$)   # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]?                 # any other escape sequence (or a lone ESC)
    | \x9b[0-?]*[ -/]*[@-~]            # 8-bit CSI
    | [\x00-\x08\x0b-\x1f\x7f-\x9f]    # remaining C0/C1 controls except \t and \n
    """,
    re.VERBOSE,
)


def clean(text: str) -> str:
    """Strip everything a terminal would interpret; keep newlines and tabs."""
    if text.isprintable():
        return text
    return _ESCAPES.sub("", text.replace("\r\n", "\n"))


def one_line(text: str, limit: int = 0) -> str:
    """Clean text folded to one line, optionally cut to `limit` characters with an ellipsis."""
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        line = text
    else:
        line = " ".join(clean(text).split())
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
