"""The kubelet's log bytes as lines the logs pane can draw: split, capped, decoded, made safe.

A flood is a million lines a second, and while a follower thread holds the GIL the UI thread
waits. So a chunk is handled whole with C-level bytes and str operations (a check that it is
printable ASCII, one decode, one split, one partition per line) and only a line that needs it
(not printable ASCII, longer than MAX_LINE) gets Python-level attention.

Lines travel and are kept as columns (`Lines`: sources, stamps, texts), not a tuple per line:
strings are not tracked by the garbage collector, tuples are, and a million live tuples made
it run full collections of the whole app (~100 ms each, several per flood) mid-keystroke.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, MutableSequence
from dataclasses import dataclass, field
from itertools import islice, repeat

from warroom.core.text import clean

MAX_LINE = 16 * 1024
"""Bytes of one log line kept; the rest is replaced by a "… (N bytes cut)" marker."""

Line = tuple[int, str, str]
"""One line, when one is asked for: (source index, the kubelet's RFC 3339 timestamp, text safe
to draw)."""
Raw = tuple[str, bytes, str]
"""(timestamp, raw text for de-duplicating a resumed stream, text safe to draw)."""

_PLAIN = bytes(range(0x20, 0x7F)) + b"\n"
"""Bytes that need no attention: printable ASCII and the line ends."""


class Splitter:
    """Bytes to blocks of whole lines, with a cap that holds even for a line with no end."""

    def __init__(self) -> None:
        self._partial = b""
        self._cut = 0

    def feed(self, chunk: bytes) -> tuple[bytes, int]:
        """The complete lines so far (b"" if none yet) and the bytes already cut from the
        first of them while it was incomplete."""
        data = self._partial + chunk if self._partial else chunk
        end = data.rfind(b"\n") + 1
        block, self._partial = data[:end], data[end:]
        cut = 0
        if block:
            cut, self._cut = self._cut, 0
        if len(self._partial) > MAX_LINE:
            self._cut += len(self._partial) - MAX_LINE
            self._partial = self._partial[:MAX_LINE]
        return block, cut


def decode(block: bytes, cut: int = 0) -> tuple[list[str], list[str]]:
    """Whole lines (`block` ends with a newline) as their stamps and their texts to draw;
    `cut` bytes were already dropped from the first one."""
    stamps: list[str] = []
    texts: list[str] = []
    if cut:
        head, _, block = block.partition(b"\n")
        stamp, _, text = raw_line(head, cut)
        stamps.append(stamp)
        texts.append(text)
    if not block:
        return stamps, texts
    if not block.translate(None, _PLAIN):  # printable ASCII: nothing to clean
        rows = block.decode("ascii").split("\n")
        rows.pop()
        if len(block) > MAX_LINE and max(map(len, rows)) > MAX_LINE:
            _raw_columns(block.split(b"\n")[:-1], stamps, texts)
        else:
            _columns(rows, stamps, texts)
        return stamps, texts
    parts = block.split(b"\n")
    parts.pop()
    if len(block) > MAX_LINE and max(map(len, parts)) > MAX_LINE:
        _raw_columns(parts, stamps, texts)
        return stamps, texts
    rows = block.decode("utf-8", "replace").split("\n")  # b"\n" is never inside a character
    rows.pop()
    start = len(texts)
    _columns(rows, stamps, texts)
    for index in range(start, len(texts)):
        if not texts[index].isprintable():
            texts[index] = _row(texts[index])
        if not stamps[index].isprintable():
            stamps[index] = _row(stamps[index])
    return stamps, texts


def _columns(rows: list[str], stamps: list[str], texts: list[str]) -> None:
    """ "stamp text" rows into the two columns (a loop, not a tuple per row)."""
    add_stamp, add_text = stamps.append, texts.append
    for stamp, _, text in map(str.partition, rows, repeat(" ")):
        add_stamp(stamp)
        add_text(text)


def _raw_columns(parts: list[bytes], stamps: list[str], texts: list[str]) -> None:
    for stamp, _, text in map(raw_line, parts):
        stamps.append(stamp)
        texts.append(text)


def raw_lines(block: bytes, cut: int = 0) -> list[Raw]:
    """Whole lines one by one, keeping each one's raw bytes (to de-duplicate a resume)."""
    parts = block.split(b"\n")
    parts.pop()
    out = [raw_line(line) for line in parts]
    if out and cut:
        out[0] = raw_line(parts[0], cut)
    return out


def raw_line(line: bytes, cut: int = 0) -> Raw:
    """One line, capped at MAX_LINE bytes with a marker saying how many were cut."""
    if len(line) > MAX_LINE:
        line, cut = line[:MAX_LINE], cut + len(line) - MAX_LINE
    stamp, _, text = line.partition(b" ")
    drawn = _row(text.decode("utf-8", "replace"))
    if cut:
        drawn += f" … ({cut} bytes cut)"
    return _row(stamp.decode("utf-8", "replace")), text, drawn


def last_run(block: bytes) -> tuple[str, list[bytes], bool]:
    """The last timestamp in `block`, the raw texts of the lines at it (in order), and
    whether every line of the block is at it."""
    end = len(block) - 1
    last = None
    run: list[bytes] = []
    while end >= 0:
        start = block.rfind(b"\n", 0, end) + 1
        stamp, _, text = block[start:end][:MAX_LINE].partition(b" ")
        if last is None:
            last = stamp
        elif stamp != last:
            run.reverse()
            return _row(last.decode("utf-8", "replace")), run, False
        run.append(text)
        end = start - 1
    run.reverse()
    return _row((last or b"").decode("utf-8", "replace")), run, True


@dataclass(slots=True)
class Lines:
    """Lines as three parallel columns; `lines[i]` is a `Line`."""

    sources: MutableSequence[int] = field(default_factory=list)
    stamps: MutableSequence[str] = field(default_factory=list)
    texts: MutableSequence[str] = field(default_factory=list)

    @classmethod
    def bounded(cls, maxlen: int) -> Lines:
        """Columns that keep the newest `maxlen` lines."""
        return cls(deque(maxlen=maxlen), deque(maxlen=maxlen), deque(maxlen=maxlen))

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, index: int) -> Line:
        return self.sources[index], self.stamps[index], self.texts[index]

    def __iter__(self) -> Iterator[Line]:
        return zip(self.sources, self.stamps, self.texts, strict=True)

    def append(self, source: int, stamps: list[str], texts: list[str]) -> None:
        """A batch from one source."""
        self.sources.extend(repeat(source, len(texts)))
        self.stamps.extend(stamps)
        self.texts.extend(texts)

    def extend(self, other: Lines) -> None:
        self.sources.extend(other.sources)
        self.stamps.extend(other.stamps)
        self.texts.extend(other.texts)

    def clear(self) -> None:
        for column in (self.sources, self.stamps, self.texts):
            column.clear()

    def tail(self, count: int) -> Lines:
        """The newest `count` lines."""
        skip = max(len(self) - count, 0)
        return Lines(
            list(islice(self.sources, skip, None)),
            list(islice(self.stamps, skip, None)),
            list(islice(self.texts, skip, None)),
        )

    def where(self, keep: Callable[[str], bool]) -> Lines:
        """The lines whose text passes `keep`."""
        out = Lines()
        add_source, add_stamp, add_text = out.sources.append, out.stamps.append, out.texts.append
        for source, stamp, text in zip(self.sources, self.stamps, self.texts, strict=True):
            if keep(text):
                add_source(source)
                add_stamp(stamp)
                add_text(text)
        return out


def _row(text: str) -> str:
    """A log line as one drawn row: `core.text.clean` (escapes gone, tabs expanded, invisible
    characters marked), with a stray line break shown as a space."""
    return clean(text).replace("\n", " ")
