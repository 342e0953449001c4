"""What a responder sees, as SVG snapshots at 120x35 and 80x24 (frozen clock, fixed data).

Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and look at the report before committing.
"""

from __future__ import annotations

import pytest

from tests.tui.conftest import DEMO_EVENTS, wait_for
from warroom.tui.widgets.timeline import Timeline


async def loaded(pilot) -> None:
    app = pilot.app
    timeline = app.main.query_one(Timeline)
    await wait_for(pilot, lambda: app.state is not None and timeline.total == DEMO_EVENTS)
    await wait_for(pilot, lambda: timeline.event_at(DEMO_EVENTS - 1) is not None)
    await pilot.pause()


@pytest.mark.parametrize("size", [(120, 35), (80, 24)], ids=["120x35", "80x24"])
def test_main_screen(snap_compare, make_app, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=loaded)


def test_composer(snap_compare, make_app):
    async def compose(pilot) -> None:
        await loaded(pilot)
        await pilot.press("u")
        await wait_for(pilot, lambda: "STATUS UPDATE" in getattr(pilot.app.screen, "body", ""))
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 35), run_before=compose)


def _step(app) -> str:
    return type(getattr(app.screen, "step", None)).__name__


# Every dialog people see, at the size they open it: each key's first step, and the steps
# behind a few (a refused field, the resolve confirmation, the checklist's two groups).
DIALOGS = {
    "note": (["n"], "Fill"),
    "status": (["s"], "Choose"),
    "resolve-confirm": (["s", "end", "enter"], "Confirm"),
    "assign-person": (["a", "down", "enter"], "Fill"),
    "milestone-refused": (["m", "enter", *"whenever", "enter"], "Fill"),
    "checklist": (["c"], "Tick"),
    "action-item": (["A"], "Fill"),
    "snooze-refused": (["z", *"2", "enter", *"vendor", "enter"], "Fill"),
    "history": (["h"], "Read"),
    "keys": (["question_mark"], "Read"),
    "declare": (["D"], "Fill"),
}


@pytest.mark.parametrize("name", list(DIALOGS))
def test_dialog(snap_compare, make_app, name):
    keys, step = DIALOGS[name]

    async def opened(pilot) -> None:
        await loaded(pilot)
        await pilot.press(*keys)
        await wait_for(pilot, lambda: _step(pilot.app) == step)
        if name.endswith("refused"):
            await wait_for(
                pilot, lambda: any(str(e.render()) for e in pilot.app.screen.query(".dialog-error"))
            )
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 35), run_before=opened)


def test_composer_with_an_error(snap_compare, make_app, tmp_path, monkeypatch):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "status-update.txt").write_text("{{ ().__class__.__mro__ }}")
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "config.toml"))

    async def failed(pilot) -> None:
        await loaded(pilot)
        await pilot.press("u")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "error", None) is not None)
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 35), run_before=failed)


def test_overdue(snap_compare, make_app):
    from datetime import timedelta

    from tests.tui.conftest import NOW

    app = make_app(now=lambda: NOW + timedelta(minutes=7))  # due 4 minutes after NOW

    async def overdue(pilot) -> None:
        await loaded(pilot)
        await wait_for(
            pilot, lambda: "UPDATE OVERDUE" in str(pilot.app.query_one("#cadence").render())
        )
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 35), run_before=overdue)


def _seed_deliveries(db) -> None:
    """Outcomes of the demo's last update: sent, retrying, and failed with a hostile reason
    (escapes, bidi, markup: shown literally)."""
    from datetime import timedelta

    from tests.tui.conftest import INCIDENT, NOW
    from warroom.core.events import Event
    from warroom.core.hlc import Stamp
    from warroom.store import EventLog

    with EventLog(db) as log:
        update = [e for e in log.timeline.events(INCIDENT) if e.kind == "update_posted"][-1]
        at = (NOW - timedelta(seconds=50)).isoformat()
        outcomes = [
            ("delivery_sent", {"channel": "war-room", "channel_kind": "slack", "ref": "1.2"}),
            (
                "delivery_failed",
                {
                    "channel": "ops-hook",
                    "channel_kind": "webhook",
                    "reason": "HTTP 503",
                    "retry": True,
                    "next_at": (NOW + timedelta(seconds=30)).isoformat(),
                },
            ),
            (
                "delivery_failed",
                {
                    "channel": "customers",
                    "channel_kind": "email",
                    "reason": "550 \u202emailbox [bold]gone[/] \x1b[31m",
                    "retry": False,
                },
            ),
        ]
        wall = int((NOW - timedelta(seconds=40)).timestamp() * 1000)
        log.insert(
            [
                Event(
                    f"01JZDE1IVERY{n:014d}",
                    INCIDENT,
                    "server",
                    Stamp(wall, n).encode(),
                    "warroom",
                    kind,
                    {"event": update.id, "at": at, "attempt": 1, **payload},
                )
                for n, (kind, payload) in enumerate(outcomes)
            ]
        )


def test_delivery_state(snap_compare, make_app, demo_db):
    """The last update's line ends with each channel's state (FAILED white on red), the
    header counts the failure, and the details say it all."""
    _seed_deliveries(demo_db)

    async def selected(pilot) -> None:
        await loaded(pilot)
        timeline = pilot.app.main.query_one(Timeline)
        update = max(
            i for i in range(timeline.total) if timeline.event_at(i).kind == "update_posted"
        )
        timeline.go_to(update)
        await wait_for(pilot, lambda: "Delivery" in str(pilot.app.query_one("#details").render()))
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 35), run_before=selected)
