"""The `warroom` command: in-process through its real entry point (`cli`), and a few runs of
the installed command in a subprocess (`run_cli`), always against a real database file."""

import json
import os
import subprocess
import sys

import pytest
from rich.cells import cell_len

from tests.tui.test_hostile_text import cells
from tests.writes import foreign
from warroom.core.text import one_line
from warroom.store import EventLog


def declare(cli, title="Checkout 503s", sev="SEV2"):
    r = cli(
        "declare",
        title,
        "--severity",
        sev,
        "--impact",
        "30% of checkouts fail",
        "--component",
        "checkout",
        "--component",
        "payments",
    )
    assert r.code == 0, r.err
    return r.out.strip()


def events(db_path, incident):
    with EventLog(db_path) as log:
        return log.timeline.events(incident)


def kinds(db_path, incident):
    return [e.kind for e in events(db_path, incident)]


def test_declare_prints_the_id_and_makes_the_declarer_ic(cli, db_path):
    incident = declare(cli)
    assert len(incident) == 26
    assert kinds(db_path, incident) == ["declared", "role_assigned"]
    data = json.loads(cli("show", "--json").out)
    assert data["id"] == incident
    assert data["severity"] == "SEV2"
    assert data["roles"]["incident_commander"]["person"] == "tester"
    assert data["components"] == ["checkout", "payments"]


def test_the_installed_command_runs_a_whole_incident(run_cli, db_path, tmp_path):
    """The real entry point, in a subprocess, as a user types it."""
    incident = declare(run_cli)
    steps = [
        ("note", "rollback started", "--pin"),
        ("status", "identified", "--reason", "bad deploy"),
        ("severity", "P0"),
        ("assign", "tl", "bob"),
        ("assign", "comms", "carol"),
        ("milestone", "detected", "--at", "-10m"),
        ("update", "Status: identified. Next update in 15m."),
        ("action-item", "Add canary analysis", "--owner", "bob", "--due", "+30d"),
        ("check", "1"),
        ("postmortem", "root_cause", "A config change lowered a timeout."),
        ("release", "comms"),
        ("status", "resolved"),
    ]
    for step in steps:
        r = run_cli(*step)
        assert r.code == 0, (step, r.err)
    data = json.loads(run_cli("show", "--json", "-i", incident).out)
    assert data["status"] == "resolved"
    assert data["severity"] == "SEV1"
    assert data["roles"]["tech_lead"]["person"] == "bob"
    assert data["roles"]["comms_lead"] is None
    assert data["checklist"]["Issue fixed"] is True
    assert data["action_items"][0]["owner"] == "bob"
    assert data["cadence"] == "stopped"
    assert len(kinds(db_path, incident)) == 2 + len(steps)

    md = tmp_path / "pm.md"
    r = run_cli("export", "--format", "md", "-o", str(md))
    assert r.code == 0, r.err
    text = md.read_text()
    assert "## Root Cause\n\nA config change lowered a timeout." in text
    assert "- [ ] Add canary analysis - Owner: bob - Due: " in text
    assert str(md) in r.err


def test_export_json_then_import_reproduces_the_incident(cli, db_path, tmp_path):
    incident = declare(cli)
    cli("note", "x")
    out = tmp_path / "incident.json"
    assert cli("export", incident, "-f", "json", "-o", str(out)).code == 0
    other = tmp_path / "other.db"

    def run_other(*args):
        env = {**os.environ, "WARROOM_DB": str(other)}
        return subprocess.run(
            [sys.executable, "-m", "warroom", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    r = run_other("import", str(out))
    assert r.returncode == 0, r.stderr
    assert "imported 3 new of 3" in r.stdout
    assert "imported 0 new of 3" in run_other("import", str(out)).stdout
    mine = cli("export", incident, "-f", "md").out
    theirs = run_other("export", incident, "-f", "md").stdout
    assert mine == theirs and mine


def test_csv_export_to_stdout(cli):
    declare(cli)
    r = cli("export", "-f", "csv")
    assert r.out.splitlines()[0].startswith("time,kind,actor,summary")
    assert len(r.out.splitlines()) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("severity", "SEV9"), "unknown severity 'SEV9'"),
        (("assign", "janitor", "bob"), "unknown role 'janitor'"),
        (("status", "fixed"), "unknown status 'fixed'"),
        (("milestone", "detected", "--at", "yesterday-ish"), "not a time"),
        (("action-item", "x", "--owner", "bob", "--due", "someday"), "not a date"),
        (("note", "x", "-i", "NOPE99"), "no incident matches"),
        (("import", "/nonexistent/file.json"), "cannot read"),
        (("export", "--tz", "Mars/Olympus"), "unknown time zone"),
        # overflowing times and counts: a clear line, exit 1 (was exit 70 "internal error")
        (("milestone", "detected", "--at", "-99999999999m"), "out of range"),
        (("update", "x", "--next", "99999999999999d"), "out of range"),
        (("action-item", "x", "--owner", "bob", "--due", "+99999999999d"), "out of range"),
        # accepted nonsense
        (("title", "   "), "title must not be blank"),
        (("note", "\u200b"), "visible text"),
        (("action-item", "x", "--owner", ""), "owner must not be blank"),
        (("action-item", "x"), "Missing option '--owner'"),
        (("update", "x", "--next", "0m"), "between 1 minute and 7 days"),
        (("update", "x", "--audience", "everyone"), "audience"),
        (("check", "0"), "there is no checklist item 0"),
        (("check", "99"), "there is no checklist item 99"),
        (("milestone", "resolved", "--at", "9999-12-31T23:00"), "in the future"),
        (("milestone", "detected", "--at", "١٤:٠٥"), "ASCII digits"),
        (("release", "scribe"), "nobody holds Scribe"),
    ],
)
def test_bad_input_is_one_clear_line_and_changes_nothing(cli, db_path, args, message):
    incident = declare(cli)
    before = kinds(db_path, incident)
    r = cli(*args)
    assert r.code in (1, 2), r
    assert message in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert "Traceback" not in r.err and "internal error" not in r.err
    assert kinds(db_path, incident) == before


def test_unreadable_import_file_changes_nothing(cli, db_path, tmp_path):
    incident = declare(cli)
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"format": "warroom.incident", "version": 1, "incident_id": "x", "events": [1]}'
    )
    r = cli("import", str(bad))
    assert r.code == 1 and "event 0" in r.err
    assert kinds(db_path, incident) == ["declared", "role_assigned"]


def test_commands_without_an_incident_say_how_to_start(cli):
    r = cli("note", "hello")
    assert r.code == 1
    assert "declare" in r.err


def test_list_shows_incidents_newest_first(cli):
    a = declare(cli, "first")
    b = declare(cli, "second", "P3")
    r = cli("list")
    lines = r.out.splitlines()
    assert lines[1].startswith(b) and lines[2].startswith(a)
    data = json.loads(cli("list", "--json").out)
    assert [d["severity"] for d in data] == ["SEV4", "SEV2"]


def test_show_strips_escape_codes_from_text(cli):
    declare(cli, "evil \x1b]0;owned\x07 title \x1b[2J")
    r = cli("note", "\x1b[31mred\x1b[0m [bold]x[/bold]")
    assert r.code == 0
    out = cli("show").out
    assert "\x1b" not in out and "\x07" not in out
    assert "red [bold]x[/bold]" in out


def test_odd_transition_warns_but_records(cli, db_path):
    incident = declare(cli)
    r = cli("status", "resolved")
    assert r.code == 0 and "skipped identified, monitoring" in r.err
    assert kinds(db_path, incident)[-1] == "status_changed"


def test_as_flag_before_or_after_the_command(cli):
    declare(cli)
    cli("--as", "first", "note", "a")
    cli("note", "b", "--as", "second")
    out = cli("show").out
    assert "first" in out and "second" in out


def test_incident_option_before_or_after_the_command_and_by_suffix(cli, db_path):
    """`warroom -i ID show` was refused ("No such option") though the README promises it;
    a unique suffix of 4+ characters did not resolve."""
    a = declare(cli, "first")
    declare(cli, "second")  # the latest: commands without -i act on it
    for args in (
        ("-i", a, "note", "one"),
        ("--incident", a[-4:], "note", "two"),
        ("note", "three", "-i", a[-8:].lower()),
    ):
        r = cli(*args)
        assert r.code == 0, (args, r.err)
    assert [e.payload["text"] for e in events(db_path, a) if e.kind == "note"] == [
        "one",
        "two",
        "three",
    ]
    assert json.loads(cli("-i", a[-6:], "show", "--json").out)["id"] == a


def test_release_records_who_released_not_who_held(cli, db_path):
    """`warroom --as erin release comms` said "released by dana" (the holder)."""
    incident = declare(cli)
    cli("--as", "dana", "assign", "comms", "dana")
    r = cli("--as", "erin", "release", "comms")
    assert r.code == 0, r.err
    assert "released by erin (was dana)" in r.out
    last = events(db_path, incident)[-1]
    assert last.actor == "erin" and last.payload["person"] == "dana"


def test_check_by_number_or_words(cli, db_path):
    incident = declare(cli)
    assert cli("check", "3").code == 0
    assert cli("check", "customer impact").code == 0
    ticked = [e.payload["item"] for e in events(db_path, incident) if e.kind == "checklist_checked"]
    assert ticked == ["No error alerts firing", "Customer impact verified resolved"]


def test_a_read_only_database_is_a_clear_error(cli, db_path, monkeypatch):
    """It said "internal error: OperationalError". SQLite refuses writes to a read-only
    file with SQLITE_READONLY; `query_only` makes it refuse the same way even for root
    (who writes through file modes), so the test runs as CI does."""
    from warroom.store import sqlite

    incident = declare(cli)
    connect = sqlite.connect

    def read_only(path, **kwargs):
        conn = connect(path, **kwargs)
        conn.execute("PRAGMA query_only = 1")
        return conn

    monkeypatch.setattr(sqlite, "connect", read_only)
    r = cli("note", "hello")
    assert r.code == 1
    assert "read-only" in r.err and "nothing was saved" in r.err, r.err
    assert "internal error" not in r.err
    assert json.loads(cli("show", "--json").out)["id"] == incident  # reading still works
    monkeypatch.undo()
    assert kinds(db_path, incident) == ["declared", "role_assigned"]


def test_broken_config_is_a_clear_error(cli, tmp_path, monkeypatch):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("timezone = 'Mars/Olympus'\n")
    monkeypatch.setenv("WARROOM_CONFIG", str(cfg))
    r = cli("list")
    assert r.code == 1
    assert "unknown time zone" in r.err and str(cfg) in r.err


def test_every_command_module_is_registered_with_the_lazy_group():
    from warroom.cli import (
        alerts_cmds,
        app,
        delivery_cmds,
        incident,
        kube_cmds,
        porting,
        show,
        sync_cmds,
    )

    modules = (incident, show, porting, sync_cmds, kube_cmds, alerts_cmds, delivery_cmds)
    names = {c.name for m in modules for c in m.COMMANDS}
    assert names == set(app.COMMANDS)


# -- outside text at a known width; nonsense refused clearly -------------------------------

HOSTILE_NAMES = ["李雷🔥", "e\u0301\u0301ve", "evil\u202eboss", "tab\there", "[bold]x[/]"]


def invisible(text: str) -> list[str]:
    import unicodedata

    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs")]


def test_list_columns_line_up_whatever_the_names(run_cli):
    for n, name in enumerate(HOSTILE_NAMES):
        r = run_cli("declare", f"{name} title {n}\u200b", "--severity", "SEV2", user=name)
        assert r.code == 0, r.err
    out = run_cli("list").out
    assert not invisible(out)
    header, *rows = out.splitlines()
    assert len(rows) == len(HOSTILE_NAMES) and cell_len(header[: header.index("TITLE")]) == 83
    for row in rows:
        n = int(row.split(" title ")[-1][0])
        name = one_line(HOSTILE_NAMES[n])
        # ID, SEV, STATUS, DECLARED and IC take 26+4+13+16+14 cells and 2 between each.
        assert "".join(cells(row)[83:]).startswith(f"{name} title {n}⟨U+200B⟩"), rows
        assert "".join(cells(row)[67:83]).startswith(name[:2])  # the IC column
    assert "evil⟨U+202E⟩boss" in out and "[bold]x[/]" in out


def test_show_lines_up_the_timeline_and_shows_names_literally(run_cli, db_path):
    incident = declare(run_cli, "t\u202e\ttitle [b]x[/b]")
    for name in HOSTILE_NAMES:
        assert run_cli("note", f"from {name}\tend", user=name).code == 0
    with EventLog(db_path) as log:  # two peers renaming at once, with hostile names
        log.insert(
            [foreign(incident, "title_changed", {"title": "a", "replaces": None}, "p\u2066x")]
        )
        log.insert(
            [foreign(incident, "title_changed", {"title": "b", "replaces": None}, "q\x1b[2J")]
        )
    out = run_cli("show").out
    assert not invisible(out) and "\x1b" not in out
    assert "t⟨U+202E⟩ title [b]x[/b]" in out
    timeline = out[out.index("Timeline (") :].splitlines()[1:]
    assert len(timeline) == 2 + len(HOSTILE_NAMES) + 2
    for row in timeline:
        # pin (2), time (8), actor (12) and kind (11) columns, two spaces between.
        kind = "".join(cells(row)[27:38]).strip()
        assert kind in ("declared", "role", "note", "title"), timeline
        assert "".join(cells(row)[38:40]) == "  " and cells(row)[40] != " ", timeline
    assert "Conflict on title" in out and "p⟨U+2066⟩x" in out


@pytest.mark.parametrize("last", ["-5", "99999999999999999999"])
def test_show_last_must_be_a_sane_count(run_cli, last):
    declare(run_cli)
    r = run_cli("show", "--last", last)
    assert r.code == 2 and "internal error" not in r.err
    assert "--last" in r.err and r.err.count("\n") <= 4


def test_show_says_running_and_stops_the_clock_at_resolution(run_cli):
    declare(run_cli)
    out = run_cli("show").out
    assert "(running)" in out and "…" not in out.split("Metrics:")[1].splitlines()[0]
    run_cli("status", "resolved")
    out = run_cli("show").out
    assert "resolved after" in out and "elapsed" not in out


def test_show_survives_moments_at_the_limits_of_datetime(run_cli, db_path, monkeypatch):
    incident = declare(run_cli)
    with EventLog(db_path) as log:  # what a buggy peer could sync
        far = "9999-12-31T23:59:00+00:00"
        first = "0001-01-01T00:00:00+00:00"
        log.insert(
            [
                foreign(incident, "cadence_snoozed", {"until": far, "reason": "later"}),
                foreign(incident, "milestone_set", {"milestone": "mitigated", "at": far}),
                foreign(incident, "milestone_set", {"milestone": "impact_started", "at": first}),
            ]
        )
    for zone in ("Asia/Tokyo", "America/New_York"):
        monkeypatch.setenv("WARROOM_TIMEZONE", zone)
        r = run_cli("show")
        assert r.code == 0, r.err
        assert "9999-12-31" in r.out and "0001-01-01" in r.out
        for fmt in ("md", "csv"):
            r = run_cli("export", "-f", fmt)
            assert r.code == 0, r.err


def test_show_json_escapes_invisible_characters_but_keeps_the_data(run_cli):
    declare(run_cli, "a\u202eb\x9b2J 中文")
    r = run_cli("show", "--json")
    assert not invisible(r.out) and "中文" in r.out
    assert json.loads(r.out)["title"] == "a\u202eb\x9b2J 中文"
