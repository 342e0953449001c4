"""The composer with untrusted templates: hostile ones end in an error, never in a hang.

Templates render in `warroom.sandbox`'s worker process; these tests watch that process with
psutil. A long render deadline (600 s) makes sure that only the behaviour under test (Esc,
switching, quitting) can be what stops a hostile render.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from textual.color import Color
from textual.widgets import OptionList, Static

from tests.tui.conftest import kinds, last, seed_demo, wait_for
from warroom import sandbox
from warroom.tui.screens.composer import Composer
from warroom.tui.screens.dialogs import ConfirmDialog
from warroom.tui.widgets.timeline import Timeline

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux limits")

NESTED = "{% set L = range(100000)|list %}{% for a in L %}{% for b in L %}{% endfor %}{% endfor %}"
ENDS = 60.0  # seconds: "it ends at all", on a loaded 2-core CI machine


def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **files: str) -> None:
    directory = tmp_path / "templates"
    directory.mkdir(exist_ok=True)
    for name, source in files.items():
        (directory / f"{name}.txt").write_text(source)
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "config.toml"))


def use_renderer(monkeypatch: pytest.MonkeyPatch, timeout: float) -> Iterator[sandbox.Renderer]:
    renderer = sandbox.Renderer(timeout=timeout)
    monkeypatch.setattr(sandbox, "shared", lambda: renderer)
    yield renderer
    renderer.close()


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> Iterator[sandbox.Renderer]:
    yield from use_renderer(monkeypatch, timeout=1.0)


@pytest.fixture
def patient(monkeypatch: pytest.MonkeyPatch) -> Iterator[sandbox.Renderer]:
    yield from use_renderer(monkeypatch, timeout=600.0)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def burning(pid: int, seconds: float = 0.3) -> Callable[[], bool]:
    proc = psutil.Process(pid)
    start = sum(proc.cpu_times()[:2])
    return lambda: sum(proc.cpu_times()[:2]) - start > seconds


def preview(app) -> str:
    return str(app.screen.query_one("#composer-preview", Static).render())


async def composer(app, pilot) -> Composer:
    await wait_for(pilot, lambda: app.state is not None and app.query_one(Timeline).total > 0)
    await pilot.press("u")
    # mounted: on_mount has run, so the render has started
    await wait_for(pilot, lambda: isinstance(app.screen, Composer) and app.screen.is_mounted)
    return app.screen


async def test_a_hostile_template_ends_in_a_red_error_that_cannot_be_posted(
    make_app, demo_db, tmp_path, monkeypatch, quick
):
    templates(tmp_path, monkeypatch, **{"status-update": NESTED})
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await composer(app, pilot)
        assert screen.rendering and screen.body == "" and preview(app) == "rendering…"
        await pilot.press("ctrl+s")  # refused while rendering
        assert app.screen is screen
        pid = quick.pid
        await wait_for(pilot, lambda: not screen.rendering, timeout=ENDS)
        assert screen.error == "template took longer than 1s"
        shown = screen.query_one("#composer-preview", Static).render()
        assert shown.plain == screen.error
        assert shown.spans[0].style.foreground == Color.parse("#ff5f5f")  # red
        assert screen.body == "" and screen.query_one("#composer-body").read_only
        await pilot.press("ctrl+s")  # refused: the render failed
        assert app.screen is screen
        await wait_for(pilot, lambda: gone(pid), timeout=ENDS)  # killed: SIGKILL lands soon
    assert kinds(demo_db).count("update_posted") == 2  # the demo's own


async def test_an_error_is_shown_literally(make_app, tmp_path, monkeypatch, quick):
    templates(tmp_path, monkeypatch, **{"status-update": '{{ {}["[b]x[/b] \x1b[31m"] }}'})
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await composer(app, pilot)
        await wait_for(pilot, lambda: screen.error is not None, timeout=ENDS)
        shown = preview(app)
        assert shown == screen.error and "'[b]x[/b] " in shown and "\x1b" not in shown


async def test_esc_during_a_hostile_render_kills_it(make_app, tmp_path, monkeypatch, patient):
    templates(tmp_path, monkeypatch, **{"status-update": NESTED})
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await composer(app, pilot)
        await wait_for(pilot, lambda: patient.pid is not None)
        pid = patient.pid
        await wait_for(pilot, burning(pid), timeout=ENDS)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, Composer))
        await wait_for(pilot, lambda: gone(pid), timeout=ENDS)


async def choose(pilot, screen: Composer, key: str) -> None:
    await pilot.press("ctrl+t")
    options = screen.query_one(OptionList)
    options.highlighted = list(screen.templates).index(key)
    await pilot.press("enter")


async def test_switching_templates_never_leaves_the_previous_text_postable(
    make_app, demo_db, tmp_path, monkeypatch, patient
):
    templates(tmp_path, monkeypatch, hostile=NESTED)
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await composer(app, pilot)
        await wait_for(pilot, lambda: "STATUS UPDATE" in screen.body, timeout=ENDS)
        await choose(pilot, screen, "hostile")
        assert screen.body == "" and screen.rendering  # the status update is gone at once
        await pilot.press("ctrl+s")
        assert app.screen is screen  # nothing to confirm
        pid = patient.pid
        await wait_for(pilot, burning(pid), timeout=ENDS)
        await choose(pilot, screen, "initial")
        await wait_for(pilot, lambda: gone(pid), timeout=ENDS)  # switching killed it
        await wait_for(pilot, lambda: "Incident declared" in screen.body, timeout=ENDS)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("enter")
        await wait_for(pilot, lambda: kinds(demo_db).count("update_posted") == 3)
        assert last(demo_db).payload["template"] == "initial"
        assert "Incident declared" in last(demo_db).payload["body"]


async def test_quitting_mid_render_kills_the_worker(make_app, tmp_path, monkeypatch, patient):
    templates(tmp_path, monkeypatch, **{"status-update": NESTED})
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await composer(app, pilot)
        await wait_for(pilot, lambda: patient.pid is not None)
        pid = patient.pid
        await wait_for(pilot, burning(pid), timeout=ENDS)
        await pilot.press("ctrl+q")
    deadline = time.monotonic() + ENDS
    while not gone(pid):
        assert time.monotonic() < deadline, "the worker outlived the app"
        time.sleep(0.01)


# -- the real console in a terminal ------------------------------------------------------------

CONSOLE = """
import sys
from warroom import sandbox
renderer = sandbox.Renderer(timeout=600)  # only the keys under test may stop the render
sandbox.shared = lambda: renderer
from warroom.cli import main
main(sys.argv[1:])
"""


class Terminal:
    """The console in a pseudo-terminal, its output drained so that it never blocks."""

    def __init__(self, db: Path, env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 35, 120, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CONSOLE, "--db", str(db), "--as", "you"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.output = b""
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def worker(self) -> int | None:
        for child in psutil.Process(self.proc.pid).children():
            try:
                if "warroom.sandbox.worker" in " ".join(child.cmdline()):
                    return child.pid
            except psutil.NoSuchProcess:
                pass
        return None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.master)


def until(condition: Callable[[], object], timeout: float = ENDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


@pytest.mark.parametrize("keys", [[b"\x1b", b"q"], [b"\x11"]], ids=["esc-then-q", "ctrl+q"])
def test_the_console_quits_promptly_during_a_hostile_render(db_path, tmp_path, keys):
    seed_demo(db_path)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "status-update.txt").write_text(NESTED)
    env = {**os.environ, "WARROOM_CONFIG": str(tmp_path / "config.toml"), "TERM": "xterm"}
    term = Terminal(db_path, env)
    try:
        until(lambda: b"SEV2" in term.output)  # the first frame is up
        term.press(b"u")
        until(term.worker)
        pid = term.worker()
        assert pid is not None
        until(burning(pid))
        for key in keys:
            if key == b"q":  # Esc closed the composer and killed the render
                until(lambda: gone(pid))
            term.press(key)
        assert term.proc.wait(ENDS) == 0
        until(lambda: gone(pid))
    finally:
        term.close()


async def test_esc_asks_before_throwing_away_an_edited_update(make_app, demo_db):
    """Esc used to throw a composed update away without asking."""
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await composer(app, pilot)
        await wait_for(pilot, lambda: "STATUS UPDATE" in screen.body, timeout=ENDS)
        await pilot.press("end", *" plus my words")
        await wait_for(pilot, lambda: screen.edited)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")  # keep it
        await wait_for(pilot, lambda: app.screen is screen)
        assert "plus my words" in screen.body
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: not isinstance(app.screen, Composer | ConfirmDialog))
    assert kinds(demo_db).count("update_posted") == 2  # nothing posted


async def test_esc_closes_an_untouched_update_at_once(make_app):
    app = make_app()
    async with app.run_test(size=(120, 35)) as pilot:
        screen = await composer(app, pilot)
        await wait_for(pilot, lambda: "STATUS UPDATE" in screen.body, timeout=ENDS)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
