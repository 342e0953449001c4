"""Container log output, computed on demand instead of stored.

A container instance's log is a pure function of its start time and its script, plus the few
lines a test injects. Nothing is kept per line, so a flood at a million lines per second costs
no memory, `sinceTime` / `tailLines` are arithmetic, and two readers always see the same lines.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from warroom.core.rfc3339 import format_nano

from .clock import SECOND

Line = tuple[int, bytes]
"""(timestamp in ns, text without the trailing newline)."""


class LogScript(Protocol):
    """The lines a container instance writes, as offsets from its start."""

    def count(self, elapsed: int) -> int:
        """How many lines have been written `elapsed` ns after the start."""
        ...

    def line(self, index: int) -> Line:
        """Line `index` as (offset ns, text)."""
        ...


@dataclass(frozen=True)
class FixedScript:
    """A finite run: start-up, some work, and whatever it prints before it exits."""

    lines: tuple[Line, ...]
    _offsets: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_offsets", tuple(offset for offset, _ in self.lines))

    def count(self, elapsed: int) -> int:
        return bisect.bisect_right(self._offsets, elapsed)

    def line(self, index: int) -> Line:
        return self.lines[index]


@dataclass(frozen=True)
class PeriodicScript:
    """A long-running process: a start-up preamble, then one line every `interval` ns."""

    preamble: tuple[bytes, ...]
    interval: int
    render: Callable[[int, int], bytes]
    """render(index, offset) -> text of the index-th periodic line."""
    gap: int = SECOND // 20
    total: int | None = None
    """Stop writing after this many periodic lines (the process keeps running)."""

    def count(self, elapsed: int) -> int:
        if elapsed < 0:
            return 0
        head = len(self.preamble) * self.gap
        if elapsed < head:
            return int(elapsed // self.gap)
        periodic = (elapsed - head) // self.interval
        if self.total is not None:
            periodic = min(periodic, self.total)
        return len(self.preamble) + periodic

    def line(self, index: int) -> Line:
        if index < len(self.preamble):
            return (index + 1) * self.gap, self.preamble[index]
        index -= len(self.preamble)
        offset = len(self.preamble) * self.gap + (index + 1) * self.interval
        return offset, self.render(index, offset)


@dataclass
class Instance:
    """One run of a container (what the kubelet calls a container ID) and its log."""

    container_id: str
    started: int
    script: LogScript
    finished: int | None = None
    exit_code: int = 0
    reason: str = ""
    injected: list[Line] = field(default_factory=list)

    def until(self, now: int) -> int:
        """The latest timestamp whose lines are visible at `now`."""
        return now if self.finished is None else min(now, self.finished)

    def inject(self, at: int, lines: list[bytes]) -> None:
        self.injected.extend((at, text) for text in lines)


@dataclass
class Cursor:
    """A reader's position in an instance's log: the next script line and next injected line."""

    script: int = 0
    injected: int = 0


def start_cursor(
    instance: Instance, until: int, since: int | None = None, tail: int | None = None
) -> Cursor:
    """Where a read starts: the kubelet takes the last `tail` lines, then drops those before
    `since`."""
    cursor = Cursor()
    if tail is not None:
        total_script = instance.script.count(until - instance.started)
        total_injected = _injected_until(instance, until)
        candidates = sorted(
            [
                (instance.started + instance.script.line(i)[0], 0, i)
                for i in range(max(0, total_script - tail), total_script)
            ]
            + [
                (instance.injected[i][0], 1, i)
                for i in range(max(0, total_injected - tail), total_injected)
            ]
        )
        kept = candidates[max(0, len(candidates) - tail) :]
        cursor.script = min((i for _, kind, i in kept if kind == 0), default=total_script)
        cursor.injected = min((i for _, kind, i in kept if kind == 1), default=total_injected)
    if since is not None:
        cursor.script = max(cursor.script, instance.script.count(since - 1 - instance.started))
        cursor.injected = max(
            cursor.injected,
            bisect.bisect_left([at for at, _ in instance.injected], since),
        )
    return cursor


def _injected_until(instance: Instance, until: int) -> int:
    return bisect.bisect_right([at for at, _ in instance.injected], until)


def take(instance: Instance, cursor: Cursor, until: int, limit: int) -> list[Line]:
    """Up to `limit` lines after `cursor` with timestamps <= `until`, in order; moves the
    cursor past them."""
    script_end = min(instance.script.count(until - instance.started), cursor.script + limit)
    lines = [
        (instance.started + offset, text)
        for offset, text in map(instance.script.line, range(cursor.script, script_end))
    ]
    injected_end = min(_injected_until(instance, until), cursor.injected + limit)
    extra = instance.injected[cursor.injected : injected_end]
    if not extra:
        cursor.script = script_end
        return lines
    merged = sorted(
        [(at, 0, text) for at, text in lines] + [(at, 1, text) for at, text in extra],
        key=lambda item: (item[0], item[1]),
    )[:limit]
    cursor.script += sum(1 for _, kind, _ in merged if kind == 0)
    cursor.injected += sum(1 for _, kind, _ in merged if kind == 1)
    return [(at, text) for at, _, text in merged]


def encode(lines: list[Line], timestamps: bool) -> bytes:
    """Lines as the kubelet streams them: newline-terminated, optionally timestamp-prefixed."""
    if not lines:
        return b""
    if timestamps:
        return b"".join(b"%s %s\n" % (format_nano(at).encode(), text) for at, text in lines)
    return b"\n".join(text for _, text in lines) + b"\n"
