"""Text for messages that leave warroom: Slack, email, webhooks, status pages.

`core.text.clean` is for a terminal: it shows invisible characters as `⟨U+202E⟩` markers so a
responder sees exactly what arrived. Outbound text is read in other programs (a Slack client,
a mail reader) that draw Unicode well, so `outbound` keeps what was typed: accents, CJK,
emoji with their joiners, right-to-left scripts. It drops only what could act on the reader's
software or make the text read differently from how it was typed:

- terminal escape sequences and C0/C1 control characters (tabs and newlines stay; CRLF,
  U+2028 and U+2029 become LF, a lone CR goes): mails and logs end up in terminals too;
- bidi embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069): they make text
  display in another order than it was typed ("Trojan Source"), and an unclosed one in a
  title would reorder the template's own words after it. Right-to-left scripts need none of
  them (the bidi algorithm orders Arabic and Hebrew by their letters); the marks LRM, RLM
  and ALM, which cannot reverse a run, stay;
- lone surrogates (a JSON "\\ud800") become U+FFFD, so the text can always be encoded.

Mentions. A rendered update mixes template text with field values (title, impact, names),
and only the template may ping a whole channel. `neutralise_mentions` is applied to every
field value before rendering (`core.templates.context`): its `@here`, `@channel` and
`@everyone` get a FULLWIDTH COMMERCIAL AT (`＠here`), which reads the same and means nothing
to any chat service. So an ASCII `@here` left in a rendered update was written by the
template or by the person who edited the update; `MENTION` finds those and a channel turns
them into its own syntax (Slack: `<!here>`). Text that no template produced (lifecycle lines,
root messages) goes through `neutralise_mentions` as a whole.
"""

from __future__ import annotations

import re

from warroom.core.text import _ESCAPES  # the terminal sanitiser's escape grammar

MENTION = re.compile(r"(?<![\w@＠])@(here|channel|everyone)(?![\w-])", re.IGNORECASE)
"""A whole-channel mention in text: `@here`, `@channel`, `@everyone` (any case)."""

NEUTRAL_AT = "\uff20"

_BIDI_CONTROLS = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))


def _table() -> dict[int, int | str | None]:
    table: dict[int, int | str | None] = {}
    for code in (*range(0x00, 0x20), *range(0x7F, 0xA0)):
        if chr(code) not in "\t\n":
            table[code] = None
    table[0x2028] = table[0x2029] = "\n"
    for code in _BIDI_CONTROLS:
        table[code] = None
    for code in range(0xD800, 0xE000):
        table[code] = "\ufffd"
    return table


_OUTBOUND = _table()


def outbound(text: str) -> str:
    """Text as it was typed, minus escapes, controls and bidi overrides (module docstring)."""
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPES.sub("", text)
    return text.replace("\r\n", "\n").translate(_OUTBOUND)


def neutralise_mentions(text: str) -> str:
    """`@here`, `@channel`, `@everyone` made inert (`＠here`): for field values and data."""
    return MENTION.sub(lambda m: NEUTRAL_AT + m[1], text)
