"""Where an update goes and what became of it, in the console: the composer's channels and
dry run, the three keystrokes saying where it went, each timeline row's delivery state live
(pending -> sent, retrying, FAILED in red with a header badge and one notification), and the
declare dialog's channels, each of which the IC can untick.

Real parts: the demo incident in SQLite, the console's own deliverer (no server) against
real signed-webhook receivers, or a real `warroom serve` delivering to the Slack fake."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.style import Style

from tests.delivery.receiver import Answer, Receiver
from tests.delivery.slack_fake import SlackFake
from tests.sync.pgcluster import free_port
from tests.sync.servers import ServerProcess, Store
from tests.tui.conftest import INCIDENT, kinds, wait_for
from tests.tui.test_console import started, step_name
from warroom.core.deliveries import RESULT_KINDS
from warroom.core.events import Event
from warroom.store import EventLog
from warroom.tui.widgets.timeline import Timeline

SECRET = "console-hook-secret-77a1"
HOSTILE = "archived \u202eevil [bold red]x[/] \x1b[31mred"


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    ok, other = Receiver(SECRET).start(), Receiver(SECRET).start()
    yield ok, other
    ok.close()
    other.close()


def configure(text: str) -> None:
    Path(os.environ["WARROOM_CONFIG"]).write_text(text)


def hooks(ok: Receiver, other: Receiver, retry_base: str = "60s") -> str:
    """war-room and ops-hook carry internal updates; nothing carries customers."""
    return f"""
[channels.war-room]
kind = "webhook"
url = "{ok.url}"
secret = "{SECRET}"
audiences = ["internal", "stakeholders"]
on = ["declared"]

[channels.ops-hook]
kind = "webhook"
url = "{other.url}"
secret = "{SECRET}"
audiences = ["internal"]
on = ["declared"]

[delivery]
poll = "0.1s"
retry_base = "{retry_base}"
retry_cap = "120s"
"""


def events(db: Path) -> list[Event]:
    with EventLog(db) as log:
        return log.timeline.events(INCIDENT)


def row(app, event_id: str) -> tuple[str, list]:
    """The timeline line of an event as drawn (its text and segments)."""
    timeline = app.main.query_one(Timeline)
    for index in range(timeline.total):
        event = timeline.event_at(index)
        if event is not None and event.id == event_id:
            strip = timeline._row(event, False, timeline.scrollable_content_region.width)
            segments = list(strip)
            return "".join(s.text for s in segments), segments
    return "", []


def text_of(widget) -> str:
    return str(widget.render())


def notes(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def compose(app, pilot) -> None:
    await started(app, pilot)
    await wait_for(pilot, lambda: app.deliveries.routing.known)
    await pilot.press("u")
    await wait_for(pilot, lambda: "STATUS UPDATE" in getattr(app.screen, "body", ""))


async def post(app, pilot) -> Event:
    before = len(events(app.store.path))
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog")
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(events(app.store.path)) > before)
    return next(e for e in reversed(events(app.store.path)) if e.kind == "update_posted")


async def test_the_composer_says_which_channels_receive_the_update(make_app, receivers):
    configure(hooks(*receivers))
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await compose(app, pilot)
        channels = app.screen.query_one("#composer-channels")
        assert text_of(channels) == "Goes to: war-room (webhook), ops-hook (webhook)"
        await pilot.press("ctrl+t")
        options = app.screen.query_one("#composer-templates")
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        options.highlighted = ids.index("customer-email")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "customers" in text_of(channels))
        assert text_of(channels) == "recorded only: no channel carries customers"


async def test_the_dry_run_shows_each_request_exactly_and_sends_nothing(make_app, receivers):
    ok, other = receivers
    configure(hooks(ok, other))
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await compose(app, pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: step_name(app) == "Read")
        shown = text_of(app.screen.query_one("#flow-body Static"))
        assert "Built here with this machine's channels" in shown
        assert f"POST {ok.url}" in shown and f"POST {other.url}" in shown
        assert "Idempotency-Key:" in shown and "v1=[redacted]" in shown
        assert '"audience": "internal"' in shown and "Severity: SEV2" in shown
        assert SECRET not in shown
        await pilot.press("escape")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "Composer")
    assert ok.hits == [] and other.hits == []  # nothing left the machine


async def test_u_ctrl_s_enter_says_where_it_went_and_pending_turns_sent(make_app, receivers):
    ok, other = receivers
    configure(hooks(ok, other, retry_base="0.2s"))
    ok.answer(Answer(hang=True))  # held until released (then retried): pending meanwhile
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:  # wide: every channel's state in full
        await wait_for(pilot, lambda: app.deliverer is not None)
        await compose(app, pilot)
        posted = await post(app, pilot)
        await wait_for(pilot, lambda: any("Posted for internal" in n for n in notes(app)))
        assert "Saved: Posted for internal → war-room (webhook), ops-hook (webhook)" in notes(app)
        await wait_for(pilot, lambda: "ops-hook sent" in row(app, posted.id)[0], timeout=15)
        assert "war-room pending" in row(app, posted.id)[0]
        ok.release.set()
        await wait_for(pilot, lambda: "war-room sent" in row(app, posted.id)[0], timeout=20)
        line, _ = row(app, posted.id)
        sent = next(e for e in events(app.store.path) if e.kind == "delivery_sent")
        assert sent.payload["at"][11:19] in line  # "sent 12:04:31"
        # the results are folded into the update's line, not lines of their own
        timeline = app.main.query_one(Timeline)
        shown = [timeline.event_at(i).kind for i in range(timeline.total)]
        assert not set(shown) & set(RESULT_KINDS)
        ours = [k for k in kinds(app.store.path) if k not in RESULT_KINDS]
        await wait_for(pilot, lambda: timeline.total == len(ours))


async def test_retrying_and_failed_are_impossible_to_miss(make_app, receivers):
    ok, other = receivers
    configure(hooks(ok, other))
    ok.default = Answer(status=503)
    other.default = Answer(status=400, body={"error": HOSTILE})
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.deliverer is not None)
        await compose(app, pilot)
        posted = await post(app, pilot)
        await wait_for(pilot, lambda: "FAILED" in row(app, posted.id)[0], timeout=15)
        await wait_for(pilot, lambda: "retrying" in row(app, posted.id)[0], timeout=15)
        line, segments = row(app, posted.id)
        assert line.endswith("war-room retrying · ops-hook FAILED")  # as much as fits
        [failed] = [s for s in segments if "FAILED" in s.text]
        assert failed.style.bgcolor == Style.parse("on #d70000").bgcolor
        header = text_of(app.query_one("#header"))
        assert "✗ 1 delivery FAILED" in header
        await wait_for(pilot, lambda: any(n.startswith("Delivery FAILED") for n in notes(app)))
        [notice] = [n for n in notes(app) if n.startswith("Delivery FAILED")]
        # the remote's words literally: markup shown, escapes and bidi made visible
        assert "[bold red]x[/]" in notice and "⟨U+202E⟩" in notice and "\x1b" not in notice
        assert "ops-hook" in notice
        # the selected update's details (selected since it was posted) say it all as the
        # outcomes arrive, with the way out
        timeline = app.main.query_one(Timeline)
        assert timeline.selected is not None and timeline.selected.id == posted.id
        await wait_for(pilot, lambda: "ops-hook FAILED" in text_of(app.query_one("#details")))
        await wait_for(pilot, lambda: "war-room retrying" in text_of(app.query_one("#details")))
        details = text_of(app.query_one("#details"))
        assert "ops-hook FAILED" in details and "deliveries retry" in details
        assert "war-room retrying" in details and "HTTP 503" in details and " next " in details

        # the next poll (another note) neither repeats the notification nor drops the badge
        await pilot.press("n", *"still failing", "enter")
        await wait_for(pilot, lambda: kinds(app.store.path)[-1] == "note")
        await wait_for(pilot, lambda: app.state.event_count == len(events(app.store.path)))
        await pilot.pause()
        assert len([n for n in notes(app) if n.startswith("Delivery FAILED")]) == 1
        assert "✗ 1 delivery FAILED" in text_of(app.query_one("#header"))

        # kind:delivery shows the results as lines of their own
        await pilot.press("f", *"kind:delivery", "enter")
        timeline = app.main.query_one(Timeline)
        await wait_for(pilot, lambda: timeline.total > 0 and "filter" in str(timeline.border_title))
        await wait_for(pilot, lambda: timeline.event_at(0) is not None)
        assert {timeline.event_at(i).kind for i in range(timeline.total)} == {"delivery_failed"}


async def test_the_declare_dialog_lets_the_ic_untick_a_channel(make_app, receivers, demo_db):
    configure(hooks(*receivers))
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        await wait_for(pilot, lambda: app.deliveries.routing.known)
        await pilot.press("D", *"Payments down", "enter", "enter", "enter", "enter")
        await wait_for(pilot, lambda: step_name(app) == "Tick")
        ticks = app.screen.query_one("#flow-ticks")
        assert set(ticks.selected) == {"war-room", "ops-hook"}
        await pilot.press("down", "space")  # ops-hook
        await wait_for(pilot, lambda: set(ticks.selected) == {"war-room"})
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.incident_id != INCIDENT and app.state is not None)
        await wait_for(pilot, lambda: any("not told: ops-hook" in n for n in notes(app)))
    with EventLog(demo_db) as log:
        declared = log.timeline.events(app.incident_id)[0]
    assert declared.kind == "declared" and declared.payload["untold"] == ["ops-hook"]


# -- with a server --------------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[SlackFake]:
    fake = SlackFake().start()
    yield fake
    fake.stop()
    assert fake.violations == [], fake.violations


def serve(tmp_path: Path, slack: SlackFake, channel: str, port: int | None = None) -> ServerProcess:
    """`warroom serve` with the Slack channel in a config only it reads (the console's
    has no channels and no secrets)."""
    server_config = tmp_path / "server.toml"
    server_config.write_text(
        f"""
[channels.war-room]
kind = "slack"
channel = "{channel}"
token = "{slack.token}"
api_url = "{slack.url}"
audiences = ["internal", "stakeholders"]
on = ["declared"]
pace = 0

[delivery]
poll = "0.1s"
"""
    )
    console_config = os.environ["WARROOM_CONFIG"]
    os.environ["WARROOM_CONFIG"] = str(server_config)
    try:
        store = Store("sqlite", str(tmp_path / "server.db"))
        server = ServerProcess(store, tmp_path)
        if port is not None:
            server.port, server.url = port, f"http://127.0.0.1:{port}"
        server.start()
    finally:
        os.environ["WARROOM_CONFIG"] = console_config
    return server


async def test_with_a_server_the_console_shows_its_channels_and_its_dry_run(
    make_app, slack, tmp_path, monkeypatch
):
    channel = slack.add_channel("incidents")
    server = await asyncio.to_thread(serve, tmp_path, slack, channel)
    try:
        monkeypatch.setenv("WARROOM_SERVER", server.url)
        monkeypatch.setenv("WARROOM_TOKEN", await asyncio.to_thread(server.store.token, "you"))
        app = make_app()
        async with app.run_test(size=(120, 35)) as pilot:
            await compose(app, pilot)
            channels = app.screen.query_one("#composer-channels")
            assert text_of(channels) == "Goes to: war-room (slack)"
            await wait_for(pilot, lambda: app.syncer is not None and app.syncer.status().in_sync)
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: step_name(app) == "Read")
            shown = text_of(app.screen.query_one("#flow-body Static"))
            assert f"Built by the server ({server.url})" in shown
            assert f"POST {slack.url}chat.postMessage" in shown
            assert "Bearer [redacted]" in shown and slack.token not in shown
            assert slack.posted(channel) == []  # a dry run sends nothing
            await pilot.press("escape")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "Composer")

            await pilot.resize_terminal(200, 50)  # wide: the state in full
            posted = await post(app, pilot)
            await wait_for(pilot, lambda: any("→ war-room (slack)" in n for n in notes(app)))
            await wait_for(pilot, lambda: "war-room sent" in row(app, posted.id)[0], timeout=30)
        [message] = slack.posted(channel)
        assert "Severity: SEV2" in message["text"]
        assert message["metadata"]["event_payload"]["event_id"] == posted.id
    finally:
        server.stop()


async def test_channels_unknown_while_the_server_is_unreachable_then_read_again(
    make_app, slack, tmp_path, monkeypatch
):
    channel = slack.add_channel("incidents")
    port = free_port()
    store = Store("sqlite", str(tmp_path / "server.db"))
    monkeypatch.setenv("WARROOM_SERVER", f"http://127.0.0.1:{port}")
    token = await asyncio.to_thread(store.token, "you")  # the server is not up yet
    monkeypatch.setenv("WARROOM_TOKEN", token)
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        await wait_for(pilot, lambda: app.deliveries.routing.problem != "")
        await pilot.press("u")
        await wait_for(pilot, lambda: "STATUS UPDATE" in getattr(app.screen, "body", ""))
        channels = app.screen.query_one("#composer-channels")
        assert text_of(channels) == "channels unknown (server unreachable)"
        await wait_for(pilot, lambda: app.syncer is not None)
        await wait_for(pilot, lambda: app.syncer.status().state == "offline")

        server = await asyncio.to_thread(serve, tmp_path, slack, channel, port)
        try:
            await wait_for(pilot, lambda: app.deliveries.routing.known, timeout=60)
            await wait_for(pilot, lambda: text_of(channels) == "Goes to: war-room (slack)")
        finally:
            server.stop()


async def test_in_the_demo_the_keys_say_where_the_receiver_shows_what_arrived(
    make_app, monkeypatch
):
    monkeypatch.setenv("WARROOM_DEMO_RECEIVER", "http://127.0.0.1:4242/")
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: step_name(app) == "Read")
        shown = text_of(app.screen.query_one("#flow-body Static"))
        assert "Demo: what the channels received" in shown
        assert "http://127.0.0.1:4242/" in shown
        assert "ctrl+r" in shown and "dry run" in shown
