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
    """`YYYY-MM-DD HH:MM:SS` in a zone, for epoch milliseconds or clock stamps.

    Any moment a datetime can hold is shown: years keep four digits, and a moment whose
    local time would fall past year 9999 or before year 1 (a synced milestone from a buggy
    peer) is shown in UTC, marked " UTC", instead of raising.
    """

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._blocks: dict[int, tuple[str, int]] = {}
        self._last: tuple[int | None, str] = (None, "")  # events come in bursts in one second

    def ms(self, epoch_ms: int) -> str:
        seconds = epoch_ms // 1000
        if seconds == self._last[0]:
            return self._last[1]
        try:
            text = self._format(seconds)
        except (OverflowError, ValueError):
            text = self._utc(seconds)
        self._last = (seconds, text)
        return text

    def _format(self, seconds: int) -> str:
        block, into = divmod(seconds, BLOCK)
        cached = self._blocks.get(block)
        if cached is None:
            local = datetime.fromtimestamp(block * BLOCK, UTC).astimezone(self.tz)
            if local.minute % 15 or local.second:  # an odd historic offset: no shortcut
                return _text(datetime.fromtimestamp(seconds, UTC).astimezone(self.tz))
            cached = (f"{local.year:04d}-{local:%m-%d %H}:", local.minute)
            self._blocks[block] = cached
        prefix, minute = cached
        return f"{prefix}{minute + into // 60:02d}:{into % 60:02d}"

    @staticmethod
    def _utc(seconds: int) -> str:
        try:
            return _text(datetime.fromtimestamp(seconds, UTC)) + " UTC"
        except (OverflowError, ValueError, OSError):
            return f"{seconds}s after 1970 UTC"

    def hlc(self, stamp: str) -> str:
        return self.ms(int(stamp[:13]))

    def dt(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        try:
            epoch_ms = int(moment.timestamp() * 1000)
        except (OverflowError, ValueError, OSError):  # a naive moment at the limits
            return _text(moment)
        return self.ms(epoch_ms)


def _text(moment: datetime) -> str:
    """`strftime("%Y")` drops leading zeros on glibc ("1-01-01"); this never does."""
    return f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}"
