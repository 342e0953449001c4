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
