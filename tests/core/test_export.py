import csv
import io
import json
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from tests.core.factory import Maker
from warroom.core.export import from_json, to_csv, to_json, to_markdown
from warroom.core.export.jsonlog import ImportError_
from warroom.core.policy import DEFAULT_POLICY
from warroom.core.state import project

UTC = ZoneInfo("UTC")
ev = Maker()
SECTIONS = [
    "Summary",
    "Impact",
    "Timeline",
    "Root Cause",
    "Contributing Factors",
    "What Went Well",
    "What Could Be Improved",
    "Action Items",
    "Metrics",
    "Roles",
]


def incident(text: str = "plain"):
    d = ev(0, "declared", {"title": text or "t", "severity": "SEV2", "impact": text})
    return [
        d,
        ev(1, "role_assigned", {"role": "incident_commander", "person": text or "p"}),
        ev(2, "note", {"text": text or "n", "pinned": True}),
        ev(3, "postmortem_set", {"field": "summary", "value": text}),
        ev(4, "postmortem_set", {"field": "root_cause", "value": text}),
        ev(5, "postmortem_set", {"field": "went_well", "value": text}),
        ev(6, "action_item", {"text": text or "a", "owner": text, "due": "2026-12-01"}),
        ev(7, "log_pinned", {"pod": "api-1", "text": text}),
        ev(8, "status_changed", {"status": "resolved"}),
    ]


def markdown(events, tz=UTC):
    return to_markdown(project(events), events, DEFAULT_POLICY, tz)


def headings(md: str) -> list[str]:
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    return [
        tokens[i + 1].content
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.tag == "h2"
    ]


def test_markdown_follows_the_postmortem_template():
    md = markdown(incident())
    assert md.startswith("# Incident Postmortem: plain\n")
    assert headings(md) == SECTIONS
    assert "- [ ] plain - Owner: plain - Due: 2026-12-01" in md
    assert "| MTTR (time to resolve) |" in md


def test_same_log_gives_the_same_bytes_whatever_the_order():
    events = incident()
    assert markdown(events) == markdown(list(reversed(events)))
    assert to_json(events[0].incident_id, events) == to_json(
        events[0].incident_id, list(reversed(events))
    )


def test_timezone_is_selectable():
    events = incident()
    berlin = markdown(events, ZoneInfo("Europe/Berlin"))
    assert "| Time (CET) |" in berlin or "| Time (CEST) |" in berlin
    assert markdown(events) != berlin


def test_escape_codes_are_stripped_from_every_export():
    events = incident("boom\x1b[31m red\x1b]0;title\x07 [bold]x[/bold]")
    for text in (markdown(events), to_csv(events, UTC)):
        assert "\x1b" not in text and "\x07" not in text
        assert "boom red" in text


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80))
def test_no_text_can_break_the_markdown_structure(text):
    md = markdown(incident(text))
    assert headings(md) == SECTIONS


@pytest.mark.parametrize(
    "text",
    ["# Root Cause", "## Summary\n\n## Impact", "| a | b |\n|---|---|", "```\ncode", "---", "1. x"],
)
def test_markdown_lookalikes_stay_text(text):
    md = markdown(incident(text))
    assert headings(md) == SECTIONS


def test_json_export_round_trips():
    events = incident("x")
    text = to_json(events[0].incident_id, events)
    back = from_json(text)
    assert sorted(back, key=lambda e: e.order) == sorted(events, key=lambda e: e.order)
    assert project(back) == project(events)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("[]", "not a warroom export"),
        ('{"format": "warroom.incident", "version": 9}', "unsupported export version"),
        ('{"format": "warroom.incident", "version": 1, "events": [{"id": 1}]}', "event 0"),
    ],
)
def test_bad_imports_say_why(text, message):
    with pytest.raises(ImportError_, match=message):
        from_json(text)


def test_import_rejects_a_bad_payload_of_a_known_kind():
    events = incident("x")
    doc = json.loads(to_json(events[0].incident_id, events))
    doc["events"][0]["payload"]["severity"] = "SEV99"
    with pytest.raises(ImportError_, match="event 0: declared: severity"):
        from_json(json.dumps(doc))


def test_csv_has_one_row_per_event_and_defuses_formulas():
    events = incident('=HYPERLINK("http://evil")')
    rows = list(csv.reader(io.StringIO(to_csv(events, UTC))))
    assert rows[0][:4] == ["time", "kind", "actor", "summary"]
    assert len(rows) == len(events) + 1
    note = next(r for r in rows if r[1] == "note")
    assert note[3].startswith("'=")


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns"]
)
def test_fast_time_formatting_matches_datetime(zone):
    from datetime import UTC as utc
    from datetime import datetime

    from warroom.core.timefmt import TimeFormatter

    tz = ZoneInfo(zone)
    fmt = TimeFormatter(tz)
    # Every 7 minutes 13 seconds across two years (DST switches included).
    start = int(datetime(2025, 1, 1, tzinfo=utc).timestamp())
    for seconds in range(start, start + 2 * 365 * 86400, 433 * 11):
        expected = datetime.fromtimestamp(seconds, tz).strftime("%Y-%m-%d %H:%M:%S")
        assert fmt.ms(seconds * 1000 + 999) == expected
