"""Start-up as the user sees it: a real terminal (tmux, 120x35), from spawning the program
to a known text on screen.

Each run starts a private tmux server (its own socket, `tmux -L`) with one 120x35 pane,
respawns the pane with the program, and polls `capture-pane -p` until the text is there: for
the console, the incident's newest timeline row; for the bare Textual app (Header, Static,
Footer), its footer. The polling goes through one control-mode client (`tmux -C`), so a poll
is a line on a pipe (~0.1 ms), not a process spawn competing with the app for the CPU.
Cases run interleaved, so every figure shares the noise of its baseline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

WIDTH, HEIGHT = 120, 35
POLL_SECONDS = 0.001
TIMEOUT = 30.0
BARE_FOOTER = "^p palette"  # Textual's Footer, drawn once its keys are composed


class TerminalError(RuntimeError):
    """tmux failed, or the text never showed up (the screen is in the message)."""


class Terminal:
    """A tmux server of our own with one pane, driven through a control-mode client."""

    def __init__(self, env: Mapping[str, str], name: str) -> None:
        self.socket = f"warroom-bench-{os.getpid()}-{name}"
        self._tmux = ["tmux", "-L", self.socket, "-f", "/dev/null"]
        # The pane inherits the server's environment, which is this client's.
        size = ["-x", str(WIDTH), "-y", str(HEIGHT)]
        # A user's tmux says TERM=tmux-256color; a dead pane stays, to show what it printed.
        options = ["set", "-g", "default-terminal", "tmux-256color", ";"]
        options += ["set", "-g", "remain-on-exit", "on"]
        subprocess.run(
            [*self._tmux, "new-session", "-d", *size, "-s", "bench", "sleep 600", ";", *options],
            env=dict(env),
            check=True,
            timeout=10,
        )
        self._control = subprocess.Popen(
            [*self._tmux, "-C", "attach", "-t", "bench"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        self._block()  # attaching answers with an empty block first
        self.pid: int | None = None
        self._socket_path = self.command("display -p '#{socket_path}'")[0]

    def _block(self) -> list[str]:
        """The next command reply; %output and other notifications are skipped."""
        assert self._control.stdout is not None
        lines: list[str] | None = None
        while True:
            raw = self._control.stdout.readline()
            if not raw:
                raise TerminalError("the tmux control client exited")
            line = raw.decode(errors="replace").rstrip("\n")
            if line.startswith("%begin"):
                lines = []
            elif lines is not None and line.startswith(("%end", "%error")):
                if line.startswith("%error"):
                    raise TerminalError(f"tmux: {' '.join(lines)}")
                return lines
            elif lines is not None:
                lines.append(line)

    def command(self, line: str) -> list[str]:
        assert self._control.stdin is not None
        self._control.stdin.write(line.encode() + b"\n")
        return self._block()

    def spawn(self, argv: Sequence[str]) -> float:
        """Replace the pane's program with `argv` (no shell); the time it was asked for."""
        if any("'" in arg for arg in argv):
            raise ValueError("arguments with single quotes are not quoted for tmux")
        quoted = " ".join(f"'{arg}'" for arg in argv)
        start = time.perf_counter()
        self.command(f"respawn-pane -k -t bench {quoted}")
        self.pid = int(self.command("display -p -t bench '#{pane_pid}'")[0])
        return start

    def screen(self) -> str:
        return "\n".join(self.command("capture-pane -p -t bench"))

    def wait_for(self, text: str, timeout: float = TIMEOUT) -> float:
        """When `text` was first seen on screen; an error if the program exits or times out."""
        deadline = time.perf_counter() + timeout
        while True:
            now = time.perf_counter()
            if text in self.screen():
                return now
            if self.command("display -p -t bench '#{pane_dead}'") == ["1"]:
                raise TerminalError(f"the program exited before showing {text!r}:\n{self.screen()}")
            if now > deadline:
                raise TerminalError(f"{text!r} not on screen after {timeout} s:\n{self.screen()}")
            time.sleep(POLL_SECONDS)

    def close(self) -> None:
        subprocess.run([*self._tmux, "kill-server"], capture_output=True, timeout=10)
        self._control.wait(timeout=10)
        with contextlib.suppress(OSError):
            os.unlink(self._socket_path)
        if self.pid is not None:  # the app gets SIGHUP; make sure it is gone before the next run
            _wait_gone(self.pid)


def _wait_gone(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class Case:
    """A program, its environment, and the text that says its first useful frame is up."""

    name: str
    argv: list[str]
    env: dict[str, str]
    text: str
    prepare: Callable[[], object] | None = None
    """Run before each start (outside the timing)."""
    goal: bool = True
    """Held to the start-up goal (a start after editing the config is not: once per edit)."""


@dataclass(frozen=True)
class Sample:
    wall: float
    """Seconds from asking tmux to spawn the program to its text on screen."""
    cpu: float | None
    """CPU seconds the program had used by then (all its threads), or None off Linux."""


def cpu_seconds(pid: int) -> float | None:
    """User + system time of a process so far, exited threads included (Linux /proc).

    Wall time is what the user sees, but on a shared machine other people's work lands in
    it; CPU time is the part that belongs to the program, so a second, steadier figure.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def once(case: Case) -> Sample:
    """One start of `case` in a fresh tmux server."""
    if case.prepare is not None:
        case.prepare()
    term = Terminal(case.env, case.name.replace(" ", "-"))
    try:
        start = term.spawn(case.argv)
        seen = term.wait_for(case.text)
        assert term.pid is not None
        return Sample(seen - start, cpu_seconds(term.pid))
    finally:
        term.close()


@dataclass(frozen=True)
class Medians:
    wall: float
    cpu: float | None
    fastest: float


def measure(cases: Sequence[Case], runs: int) -> dict[str, Medians]:
    """Medians per case; cases interleaved, each round in a rotated order, so that every
    case shares the machine's noise with its baseline."""
    samples: dict[str, list[Sample]] = {c.name: [] for c in cases}
    for case in cases:  # one unmeasured round: page cache, the config cache
        once(case)
    for i in range(runs):
        for case in [*cases[i % len(cases) :], *cases[: i % len(cases)]]:
            samples[case.name].append(once(case))
    out = {}
    for name, found in samples.items():
        cpus = [s.cpu for s in found if s.cpu is not None]
        out[name] = Medians(
            statistics.median(s.wall for s in found),
            statistics.median(cpus) if cpus else None,
            min(s.wall for s in found),
        )
    return out


def compile_sources() -> None:
    """Byte-compile warroom and the bench apps, as `pip install` does.

    An editable checkout run with PYTHONDONTWRITEBYTECODE (set on some machines, this one
    among them) compiles every warroom module from source at each start: ~90 ms that no
    installed copy pays, and that would blur what the figures are about.
    """
    import compileall

    import warroom

    for path in (Path(warroom.__file__).parent, Path(__file__).parent):
        compileall.compile_dir(path, quiet=1)


def base_env(**extra: str) -> dict[str, str]:
    """This environment without WARROOM_* and tmux's own variables, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith("WARROOM_") and k not in ("TMUX", "TMUX_PANE")
    }
    env.update({"PYTHONPATH": str(Path(__file__).parents[1]), "COLORTERM": "truecolor", **extra})
    return env


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


NEWEST = "newest row of the bench incident"
RUNS = 11


def mark_newest(db: Path) -> None:
    """Append the row whose appearance on screen ends a console measurement."""
    from warroom.core.commands import AddNote
    from warroom.store import EventLog

    with EventLog(db) as log:
        incident = log.latest_open()
        assert incident is not None
        log.execute(incident, [AddNote(text=NEWEST)], "bench")
        log.state(incident)  # the snapshot an earlier session would have left


def write_config(path: Path, server: str, token: str) -> Path:
    """What a configured responder's file holds: identity, sync, zone and a remapped key."""
    path.write_text(
        f'user = "bench"\nserver = "{server}"\ntoken = "{token}"\n'
        'timezone = "Europe/Berlin"\n\n[keys]\nnote = "N"\nexport = "X"\n'
    )
    return path


def cases(dbs: list[Path], tmp: Path, server: tuple[str, str] | None) -> list[Case]:
    """The bare app, the console unconfigured (`--db`), and configured (file + WARROOM_DB)
    with a server nothing listens on and, when given, a real `warroom serve`; each console
    case on its own copy of the incident, so one's sync does not change another's outbox."""
    from tests.sync.pgcluster import free_port

    console = python("-m", "warroom")
    cache = str(tmp / "cache")  # the config cache of a user who has started warroom before
    absent = str(tmp / "absent.toml")
    closed = write_config(tmp / "closed.toml", f"http://127.0.0.1:{free_port()}", "t0k3n")
    bare = python("-m", "bench.startup_apps", "bare-tty")
    found = [
        Case("bare Textual app", bare, base_env(XDG_CACHE_HOME=cache), BARE_FOOTER),
        Case(
            "console, unconfigured",
            [*console, "--db", str(dbs[0])],
            base_env(WARROOM_CONFIG=absent, XDG_CACHE_HOME=cache),
            NEWEST,
        ),
        Case(
            "console, configured, no server",
            console,
            base_env(WARROOM_CONFIG=str(closed), WARROOM_DB=str(dbs[1]), XDG_CACHE_HOME=cache),
            NEWEST,
        ),
    ]
    edited = str(tmp / "cache-edited")
    found.append(
        Case(
            "console, configured, config just edited",
            console,
            base_env(WARROOM_CONFIG=str(closed), WARROOM_DB=str(dbs[1]), XDG_CACHE_HOME=edited),
            NEWEST,
            prepare=lambda: shutil.rmtree(edited, ignore_errors=True),
            goal=False,
        )
    )
    if server is not None:
        live = write_config(tmp / "live.toml", *server)
        found.append(
            Case(
                "console, configured, warroom serve",
                console,
                base_env(WARROOM_CONFIG=str(live), WARROOM_DB=str(dbs[2]), XDG_CACHE_HOME=cache),
                NEWEST,
            )
        )
    return found
