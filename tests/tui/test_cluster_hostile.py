"""What the cluster says is outside text: a pod name, an event's reason and message, a
change-cause, a log line may hold escape codes, bidi overrides, zero-width characters or Rich
markup. Each pane draws them literally, every row at exactly its width; pinning keeps the
text as the cluster said it. An unreachable cluster is one clear message, and the console
keeps working."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widget import Widget

from tests.tui.conftest import INCIDENT, kinds, last, wait_for
from warroom.config import load_settings
from warroom.kube.gateway import Target
from warroom.kube.sim import ManualClock, Simulator
from warroom.kube.sim.events import involved
from warroom.store import EventLog
from warroom.tui.app import WarroomApp
from warroom.tui.widgets.cluster import ClusterRow
from warroom.tui.widgets.inspect import DescribePane, EventsPane, RolloutsPane
from warroom.tui.widgets.logs import LogsPane
from warroom.tui.widgets.pods import PodsPane

EVIL = "\x1b[31mred\x1b[0m [bold]markup[/bold] \u202eevil\u202c \u200bzw \x1b]0;title\x07 中文 end"
EVIL_POD = "evil-\x1b[2J[b]pod[/b]\u202e-x"


def _hostile(sim: Simulator) -> None:
    """A Warning event with a hostile reason and message on a checkout pod, a hostile
    change-cause on revision 3, and an orphan pod with a hostile name."""
    state = sim.state
    with state.lock:
        pods = sorted(
            (
                p
                for p in state.store.list("pods", "shop")
                if p["metadata"]["name"][:8] == "checkout"
            ),
            key=lambda p: p["metadata"]["name"],
        )
        state.recorder.record(
            state.now, involved(pods[0]), "Warning", "Evil[b]x[/b]\x1b[1m", EVIL, "kubelet"
        )
        for rs in state.store.list("replicasets", "shop"):
            if rs["metadata"]["annotations"].get("deployment.kubernetes.io/revision") == "3":
                doc = copy.deepcopy(rs)
                doc["metadata"]["annotations"]["kubernetes.io/change-cause"] = EVIL
                state.store.put("replicasets", doc)
        orphan = copy.deepcopy(pods[0])
        meta = orphan["metadata"]
        meta["name"], meta["uid"] = EVIL_POD, "0000-evil"
        meta.pop("ownerReferences", None)
        meta.pop("resourceVersion", None)
        state.store.put("pods", orphan)
    state.notifier.notify()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator("bad-deploy", clock=ManualClock()) as simulator:
        _hostile(simulator)
        yield simulator


def _console(demo_db: Path, kubeconfig: Path, logs: list[EventLog]) -> Callable[[], WarroomApp]:
    def make() -> WarroomApp:
        log = EventLog(demo_db)
        logs.append(log)
        target = Target(kubeconfig=str(kubeconfig))
        return WarroomApp(log, load_settings(), INCIDENT, actor="you", kube=target)

    return make


@pytest.fixture
def console(
    sim: Simulator, demo_db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Callable[[], WarroomApp]]:
    monkeypatch.chdir(tmp_path)
    kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    logs: list[EventLog] = []
    yield _console(demo_db, kubeconfig, logs)
    for log in logs:
        log.close()


def drawn(app: WarroomApp, widget: Widget) -> list[str]:
    """The widget's rows as the compositor sends them to the terminal, after checking each is
    exactly as wide as the widget and holds nothing a terminal would act on."""
    screen = app.screen._compositor.render_strips()
    region = widget.region
    rows = []
    for y in range(region.y, region.bottom):
        row = screen[y].crop(region.x, region.right)
        assert row.cell_length == region.width, (y, row.text)
        assert row.text.isprintable(), (y, ascii(row.text))  # no escape, bidi, zero-width
        rows.append(row.text)
    return rows


async def _pods(pilot: Any) -> PodsPane:
    app = pilot.app
    pods: PodsPane = app.main.query_one(PodsPane)
    await wait_for(pilot, lambda: pods.table.row_count == 9, timeout=15)
    pods.table.focus()
    await wait_for(pilot, lambda: pods.selected is not None)
    return pods


async def test_hostile_pod_name_event_and_change_cause_are_drawn_literally(console, demo_db):
    app = console()
    async with app.run_test(size=(120, 35)) as pilot:
        pods = await _pods(pilot)
        await pilot.pause()
        rows = drawn(app, pods)
        evil_row = next(r for r in rows if "evil-" in r)
        assert "[b]pod[/b]⟨U+202E⟩-x" in evil_row  # literal markup, the override made visible

        assert pods.selected.name.startswith("checkout-")
        await pilot.press("e")
        events = app.main.query_one(EventsPane)
        await wait_for(pilot, lambda: any("Evil" in i.prompt.plain for i in events.items))
        await pilot.pause()
        text = "\n".join(drawn(app, events))
        assert "Evil[b]x[/b]" in text and "[bold]markup[/bold]" in text
        assert "⟨U+202E⟩evil⟨U+202C⟩" in text and "⟨U+200B⟩zw" in text
        index = next(n for n, i in enumerate(events.items) if "Evil" in i.prompt.plain)
        while events.list.highlighted != index:
            await pilot.press("down")
        await pilot.press("p")
        await wait_for(pilot, lambda: kinds(demo_db)[-1] == "cluster_fact")
        fact = last(demo_db).payload
        # one line as kubectl would print it, escapes dropped, invisible characters named
        assert fact["text"] == (
            "Warning Evil[b]x[/b]: red [bold]markup[/bold] ⟨U+202E⟩evil⟨U+202C⟩ ⟨U+200B⟩zw 中文 end"
        )

        pods.table.focus()
        await pilot.press("H")
        history = app.main.query_one(RolloutsPane)
        await wait_for(pilot, lambda: len(history.items) == 4)
        await pilot.pause()
        text = "\n".join(drawn(app, history))
        assert "[bold]markup[/bold]" in text and "⟨U+202E⟩evil" in text

        pods.table.focus()
        while not pods.selected.name.startswith("evil-"):
            await pilot.press("down")
        await pilot.press("d")
        describe = app.main.query_one(DescribePane)
        await wait_for(pilot, lambda: any("evil-" in i.prompt.plain for i in describe.items))
        await pilot.pause()
        assert any("[b]pod[/b]⟨U+202E⟩" in row for row in drawn(app, describe))

        pods.table.focus()
        await pilot.press("L")  # an orphan (and a name no real API server would hold)
        said = "pod/evil-[b]pod[/b]⟨U+202E⟩-x"  # the name, literally, in a clear message
        await wait_for(pilot, lambda: any(n.message.startswith(said) for n in app._notifications))
        logs = app.main.query_one(LogsPane)
        assert logs.scope is None or not logs.scope.deployment
        drawn(app, logs)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unreachable_cluster_is_one_clear_message_and_the_console_works_on(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    kubeconfig = tmp_path / "kubeconfig"
    server = f"https://127.0.0.1:{_closed_port()}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": server}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "secret-token-x"}}],
    }
    kubeconfig.write_text(json.dumps(config))  # JSON is YAML
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    logs: list[EventLog] = []
    app = _console(demo_db, kubeconfig, logs)()
    try:
        async with app.run_test(size=(120, 35)) as pilot:
            pods = app.main.query_one(PodsPane)
            status = pods.query_one(".pods-status")
            await wait_for(pilot, lambda: "refused" in str(status.render()), timeout=15)
            said = str(status.render())
            assert "unreachable: cannot reach the API server" in said and "refused" in said
            assert "secret-token-x" not in said
            row = app.main.query_one(ClusterRow)
            assert row.showing is None  # nothing beside the pods: no pod to ask about
            for key in ("e", "d", "H", "P", "L", "enter"):
                await pilot.press(key)  # with no pod selected, each is a no-op
            await pilot.pause()
            assert row.showing is None
            errors = [n for n in app._notifications if n.severity == "error"]
            assert len(errors) <= 1, [n.message for n in errors]
            assert all("secret-token-x" not in n.message for n in app._notifications)
            await pilot.press("shift+tab")  # back to the timeline: the incident still works
            await pilot.press("n")
            await wait_for(
                pilot, lambda: type(getattr(app.screen, "step", None)).__name__ == "Fill"
            )
            await pilot.press(*"cluster down", "enter")
            await wait_for(pilot, lambda: kinds(demo_db)[-1] == "note")
            assert last(demo_db).payload["text"] == "cluster down"
    finally:
        for log in logs:
            log.close()
