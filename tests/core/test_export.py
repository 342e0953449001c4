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


def hostile_incident(text: str):
    """Every field that reaches the postmortem, from any peer, written as `text`."""
    events = [e._replace(actor=text or "a") for e in incident(text)]
    note = events[2]
    return [
        *events,
        ev(10, "pin", {"target": note.id, "pinned": True}, actor=text or "a"),
        ev(11, "action_taken", {"description": text or "d", "command": text, "result": text}),
        ev(12, "alert_received", {"name": text or "n", "source": text, "summary": text}),
        ev(13, "milestone_set", {"milestone": "detected", "at": "9999-12-31T23:59:00+00:00"}),
        ev(14, "new.kind_from_a_newer_client", {"x": text}),
    ]


def timeline_rows(md: str) -> list[list[str]]:
    """The cells of the event table (the second table of the Timeline section)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    tables, rows, row = [], [], None
    for t in tokens:
        if t.type == "table_open":
            rows = []
        elif t.type == "tr_open":
            row = []
        elif t.type == "inline" and row is not None:
            row.append(t.content)
        elif t.type == "tr_close":
            rows.append(row)
            row = None
        elif t.type == "table_close":
            tables.append(rows)
    return tables[1][1:]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80))
def test_no_text_can_break_the_markdown_structure(text):
    events = hostile_incident(text)
    md = markdown(events, ZoneInfo("Asia/Tokyo"))
    assert headings(md) == SECTIONS
    rows = timeline_rows(md)
    assert len(rows) == len(events) and all(len(r) == 4 for r in rows)


def test_the_postmortem_says_what_a_pin_pinned_and_an_action_once():
    note = ev(1, "note", {"text": "disk full on db-1"}, actor="bob")
    action = {
        "description": "Rollout restart of deployment/checkout in shop",
        "command": "kubectl -n shop rollout restart deployment/checkout",
        "result": "done",
        "ok": True,
    }
    events = [
        ev(0, "declared", {"title": "t", "severity": "SEV2"}),
        note,
        ev(2, "pin", {"target": note.id, "pinned": True}),
        ev(3, "action_taken", action),
    ]
    rows = {r[2]: r[3] for r in timeline_rows(markdown(events))}
    assert rows["pin"] == "pinned bob's note: disk full on db-1"
    assert rows["action"] == "Rollout restart of deployment/checkout in shop → done"


def test_a_running_metric_is_running_not_met():
    events = [ev(0, "declared", {"title": "t", "severity": "SEV2"}), ev(30, "note", {"text": "x"})]
    md = markdown(events)
    assert "| MTTR (time to resolve) | 30m (running) | 4h | running |" in md
    late = [*events, ev(60 * 5, "note", {"text": "still going"})]
    assert "| MTTR (time to resolve) | 5h (running) | 4h | **no** |" in markdown(late)


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


FORMULAS = ['=HYPERLINK("http://evil")', "@SUM(1+1)", "+1+1", "-2+3", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_no_csv_cell_can_start_a_formula(formula):
    # The actor comes from `--as` or any peer; the device id from any peer.
    events = [e._replace(actor=formula) for e in incident(formula)]
    events.append(ev(9, "note", {"text": "hi"})._replace(device_id="-1+1", actor="@x"))
    rows = list(csv.reader(io.StringIO(to_csv(events, UTC))))
    cells = [cell for row in rows[1:] for cell in row]
    assert cells and not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'@x" in cells and "'-1+1" in cells


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
