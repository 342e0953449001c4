"""Outbound text: escapes and bidi overrides gone, Unicode kept; field values never ping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.core.factory import Maker
from warroom.core.outbound import MENTION, neutralise_mentions, outbound
from warroom.core.policy import DEFAULT_POLICY
from warroom.core.state import project
from warroom.core.templates import context


@pytest.mark.parametrize(
    ("raw", "sent"),
    [
        ("plain words", "plain words"),
        ("\x1b[31mred\x1b[0m and \x1b]52;c;aGk=\x07clip", "red and clip"),
        ("bell\x07 nul\x00 del\x7f c1\x9b2J", "bell nul del c1"),
        ("a\r\nb\rc\u2028d\u2029e", "a\nbc\nd\ne"),
        ("tab\tkept\nline", "tab\tkept\nline"),
        ("file\u202egnp.exe", "filegnp.exe"),
        ("\u2066isolated\u2069 \u202aembedded\u202c", "isolated embedded"),
        ("שלום \u200fעולם and مرحبا", "שלום \u200fעולם and مرحبا"),
        ("emoji 👩‍💻 zwj, café, 日本語", "emoji 👩‍💻 zwj, café, 日本語"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
    ],
)
def test_outbound_keeps_unicode_and_drops_what_acts(raw: str, sent: str) -> None:
    assert outbound(raw) == sent
    outbound(raw).encode("utf-8")  # always encodable


@pytest.mark.parametrize(
    ("raw", "neutral"),
    [
        ("@here now", "＠here now"),
        ("ping @channel, @everyone!", "ping ＠channel, ＠everyone!"),
        ("@HERE", "＠HERE"),
        (
            "mail me@here.com or @here-team or @hereafter",
            "mail me@here.com or @here-team or @hereafter",
        ),
        ("@alice and @bob", "@alice and @bob"),
    ],
)
def test_neutralise_mentions_touches_only_channel_wide_mentions(raw: str, neutral: str) -> None:
    assert neutralise_mentions(raw) == neutral
    assert MENTION.search(neutralise_mentions(raw)) is None


def test_template_fields_cannot_ping_but_the_template_can() -> None:
    make = Maker()
    declared = make(
        0,
        "declared",
        {"title": "@here db down <!channel>", "severity": "SEV1", "impact": "@channel all"},
    )
    state = project([declared])
    fields = context(state, DEFAULT_POLICY, datetime.fromtimestamp(1_790_000_060, UTC), UTC)
    assert fields["title"] == "＠here db down <!channel>"
    assert fields["impact"] == "＠channel all"
    rendered = f"@here Incident declared: {fields['title']}\nImpact: {fields['impact']}"
    assert [m[0] for m in MENTION.finditer(rendered)] == ["@here"]
