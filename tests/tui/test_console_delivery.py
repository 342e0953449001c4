"""With channels and no server, the console delivers in the background: u, ctrl+s, Enter
and the update reaches the channel, its result back in the log; the UI never waits."""

from __future__ import annotations

import os
from pathlib import Path

from tests.delivery.receiver import Receiver
from tests.tui.conftest import INCIDENT, kinds, last, wait_for
from tests.tui.test_console import started
from warroom.core.events import Event
from warroom.store import EventLog


def events(db: Path) -> list[Event]:
    with EventLog(db) as log:
        return log.timeline.events(INCIDENT)


def configure(text: str) -> None:
    Path(os.environ["WARROOM_CONFIG"]).write_text(text)


async def test_a_posted_update_reaches_the_channel_from_the_console(make_app, demo_db):
    receiver = Receiver("console-secret").start()
    try:
        configure(
            f'[channels.hook]\nkind = "webhook"\nurl = "{receiver.url}"\n'
            'secret = "console-secret"\n'
        )
        app = make_app()
        async with app.run_test(size=(120, 35)) as pilot:
            await started(app, pilot)
            await wait_for(pilot, lambda: app.deliverer is not None)
            await pilot.press("u")
            await wait_for(pilot, lambda: "STATUS UPDATE" in getattr(app.screen, "body", ""))
            await pilot.press("ctrl+s")
            await pilot.press("enter")
            await wait_for(pilot, lambda: kinds(demo_db)[-1] == "delivery_sent", timeout=15)
            [posted] = [e for e in events(demo_db) if e.kind == "update_posted"][-1:]
            assert posted.actor == "you"
            assert receiver.accepted_keys() == [posted.id]  # the demo's own events are not ours
            assert last(demo_db).payload["event"] == posted.id
        assert app.deliverer is not None and not app.deliverer.running
    finally:
        receiver.close()


async def test_a_bad_channel_is_one_notification_and_nothing_else(make_app, demo_db):
    configure('[channels.hook]\nkind = "webhook"\nurl = "http://127.0.0.1:9"\n')
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        await wait_for(pilot, lambda: bool(app._notifications))
        [note] = list(app._notifications)
        assert note.message.startswith("Not delivering: channels.hook: secret: missing")
        assert app.deliverer is None


async def test_with_a_server_the_console_does_not_deliver(make_app, demo_db, monkeypatch):
    configure('[channels.hook]\nkind = "webhook"\nurl = "http://127.0.0.1:9"\nsecret = "s"\n')
    monkeypatch.setenv("WARROOM_SERVER", "http://127.0.0.1:9")
    app = make_app()
    assert app.settings.channels == ("hook",) and not app.delivers_here
