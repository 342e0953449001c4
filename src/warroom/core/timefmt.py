"""Fast local-time formatting for many timestamps (timelines of 100k events).

`datetime.astimezone().isoformat()` per event dominates a big export. Every real UTC offset
is a multiple of 15 minutes and zone transitions happen on such boundaries, so the local
time of any second is its 15-minute block's local start plus the seconds into the block;
blocks are formatted once and cached.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

BLOCK = 900


class TimeFormatter:
    """`YYYY-MM-DD HH:MM:SS` in a zone, for epoch milliseconds or clock stamps."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._blocks: dict[int, tuple[str, int]] = {}
        self._last: tuple[int, str] = (-1, "")  # events come in bursts within one second

    def ms(self, epoch_ms: int) -> str:
        seconds = epoch_ms // 1000
        if seconds == self._last[0]:
            return self._last[1]
        text = self._format(seconds)
        self._last = (seconds, text)
        return text

    def _format(self, seconds: int) -> str:
        block, into = divmod(seconds, BLOCK)
        cached = self._blocks.get(block)
        if cached is None:
            local = datetime.fromtimestamp(block * BLOCK, UTC).astimezone(self.tz)
            if local.minute % 15 or local.second:  # an odd historic offset: no shortcut
                return datetime.fromtimestamp(seconds, self.tz).isoformat(" ", "seconds")[:19]
            cached = (local.strftime("%Y-%m-%d %H:"), local.minute)
            self._blocks[block] = cached
        prefix, minute = cached
        return f"{prefix}{minute + into // 60:02d}:{into % 60:02d}"

    def hlc(self, stamp: str) -> str:
        return self.ms(int(stamp[:13]))

    def dt(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return self.ms(int(moment.timestamp() * 1000))
