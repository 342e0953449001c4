"""Apps whose start-up the benchmarks time.

`python -m bench.startup_apps bare|console [DB]` runs headless and prints the wall time of
the first full frame; both detect "ready" the same way (a 5 ms check, then one more refresh),
so the ratio is fair. `python -m bench.startup_apps bare-tty` is the bare app as a user runs
it, for `term_bench`, which watches the terminal instead.
"""

from __future__ import annotations

import sys
import time

if sys.argv[1:2] == ["console"]:  # as `warroom` does before it loads Textual
    from warroom import gcpause

    gcpause.hold()

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class _Report:
    """Mixed into both apps: exit with the time once `ready()` holds and a frame is drawn."""

    def start_watch(self) -> None:
        self.set_interval(0.005, self._check)  # type: ignore[attr-defined]

    _reported = False

    def _check(self) -> None:
        if not self._reported and self.ready():
            self._reported = True
            self.call_after_refresh(self._done)  # type: ignore[attr-defined]

    def _done(self) -> None:
        print(f"{time.time():.6f}", flush=True)
        self.exit()  # type: ignore[attr-defined]

    def ready(self) -> bool:
        return True


class Bare(App[None]):
    """The baseline: a Textual app with a header, a line of text and the footer."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("bare")
        yield Footer()


class BareApp(_Report, Bare):
    """Ready once Textual's footer has composed its keys (after the first refresh)."""

    def on_mount(self) -> None:
        self.start_watch()

    def ready(self) -> bool:
        return bool(self.query_one(Footer).children)


def console(db: str) -> App[None]:
    from warroom.config import load_settings
    from warroom.store import EventLog
    from warroom.tui.app import WarroomApp
    from warroom.tui.widgets.timeline import Timeline

    class Console(_Report, WarroomApp):
        def on_mount(self) -> None:  # Textual also runs WarroomApp.on_mount (MRO dispatch)
            self.start_watch()

        def ready(self) -> bool:
            if self.state is None:
                return False
            timeline = self.main.query_one(Timeline)
            return timeline.total > 0 and timeline.event_at(timeline.total - 1) is not None

    log = EventLog(db)
    return Console(log, load_settings(), log.latest_open())


if __name__ == "__main__":
    which = sys.argv[1]
    if which == "bare-tty":
        Bare().run()
        sys.exit()
    app = BareApp() if which == "bare" else console(sys.argv[2])
    app.run(headless=True, size=(120, 35))
