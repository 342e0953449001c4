"""The panels are pure functions of state: tested without an app."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from rich.cells import cell_len

from tests.core.factory import Maker, at
from tests.core.test_text import invisible
from warroom.core.describe import conflict_sides
from warroom.core.policy import DEFAULT_POLICY
from warroom.core.state import project
from warroom.tui.widgets.panels import Context, cadence_text, header_text, roles_text

ev = Maker()


def test_conflict_sides_name_a_few_and_count_the_rest():
    assert conflict_sides(["a", "b"]) == "a vs b"
    assert conflict_sides(["a", "b", "c", "d", "e"], limit=2) == "a vs b (+3 more)"


def test_thousands_of_concurrent_writes_keep_the_roles_panel_short():
    # An importer that never names what it replaces makes every write "concurrent".
    events = [ev(0, "declared", {"title": "API down", "severity": "SEV2"})]
    events += [
        ev(1 + i / 1000, "role_assigned", {"role": "scribe", "person": f"p{i}"})
        for i in range(2000)
    ]
    state = project(events)
    text = roles_text(Context(state, DEFAULT_POLICY, at(5), UTC))
    assert "(+1998 more)" in text.plain
    assert len(text.plain.splitlines()) <= len(DEFAULT_POLICY.roles) + 2


# -- outside text at a known width, times that stop and never wrap -----------------------

HOSTILE_NAME = "王小明\u202e[bold]x[/]\t🔥"


def declared(*more):
    return project([ev(0, "declared", {"title": "API down", "severity": "SEV2"}), *more])


def test_the_header_timer_stops_at_resolution_and_says_so():
    state = declared(ev(70, "status_changed", {"status": "resolved"}))
    for minutes in (71, 500):
        plain = header_text(Context(state, DEFAULT_POLICY, at(minutes), UTC)).plain
        assert "resolved after 1h10m" in plain and "⏱" not in plain
    running = header_text(Context(declared(), DEFAULT_POLICY, at(42), UTC)).plain
    assert "⏱ 42m" in running


def test_the_header_shows_hostile_titles_literally_and_visibly():
    state = declared(
        ev(1, "title_changed", {"title": "evil\u202etitle\u200b [bold red]x[/]\t\x1b[2Jend"}),
        ev(2, "role_assigned", {"role": "incident_commander", "person": HOSTILE_NAME}),
    )
    plain = header_text(Context(state, DEFAULT_POLICY, at(5), UTC, sync="\x1b]0;x\x07ok")).plain
    assert "evil⟨U+202E⟩title⟨U+200B⟩ [bold red]x[/] end" in plain
    assert not [c for c in plain if invisible(c) and c != "\n"]


def test_role_rows_keep_their_columns_whatever_the_names():
    state = declared(
        ev(1, "role_assigned", {"role": "incident_commander", "person": HOSTILE_NAME}),
        ev(2, "role_assigned", {"role": "tech_lead", "person": "e\u0301\u0301ve"}),
        ev(3, "role_assigned", {"role": "scribe", "person": "bob"}),
    )
    rows = roles_text(Context(state, DEFAULT_POLICY, at(5), UTC)).plain.splitlines()
    held = [r for r in rows[: len(DEFAULT_POLICY.roles)] if "—" not in r]
    assert len(held) == 3
    # The time column starts at the same terminal cell on every row.
    assert len({cell_len(r[: r.index(":") - 2]) for r in held}) == 1
    assert not [c for r in rows for c in r if invisible(c)]


def test_a_running_metric_says_running_not_an_ellipsis():
    plain = cadence_text(Context(declared(), DEFAULT_POLICY, at(42), UTC)).plain
    assert "MTTR 42m/4h (running)" in plain and "…" not in plain


def test_moments_at_the_limits_of_datetime_never_crash_a_panel():
    far = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    state = declared(
        ev(1, "cadence_snoozed", {"until": far.isoformat(), "reason": "wait\u202e"}),
        ev(2, "milestone_set", {"milestone": "detected", "at": far.isoformat()}),
        ev(3, "role_assigned", {"role": "scribe", "person": "bob"}),
    )
    for zone in ("Asia/Tokyo", "America/New_York"):
        ctx = Context(state, DEFAULT_POLICY, at(5), ZoneInfo(zone))
        text = header_text(ctx).plain + roles_text(ctx).plain + cadence_text(ctx).plain
        assert "9999-12-31" in text  # the due date is far away: shown with its date
        assert "wait⟨U+202E⟩" in text
