"""The cyclic garbage collector held back while the console starts.

Start-up makes a few hundred thousand objects that live as long as the app (modules,
classes, widgets, styles). At the default thresholds the collector rescans them dozens of
times before the first frame: about 50 ms, an eighth of the console's start. So the console
raises the thresholds until its first frame is up, then freezes what start-up made (later
collections skip it) and collects as usual again.
"""

from __future__ import annotations

import gc

_HELD = (100_000, 50, 100)
_usual: tuple[int, int, int] | None = None


def hold() -> None:
    """Collect rarely: start-up allocates much and frees little."""
    global _usual
    if _usual is None:
        _usual = gc.get_threshold()
        gc.set_threshold(*_HELD)


def release() -> None:
    """Start-up's objects stay for good: frozen out of collections; the usual thresholds.
    Only after `hold` (an app a test runs in its own process changes nothing)."""
    global _usual
    if _usual is not None:
        gc.freeze()
        gc.set_threshold(*_usual)
        _usual = None
