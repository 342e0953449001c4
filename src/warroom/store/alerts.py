"""The alert board of this machine's log, folded incrementally like incident states.

Alert events live in many incidents (the inbox among them), so the board is folded from the
rows of every incident whose kind it reads (`BOARD_KINDS`, covered by a partial index), from
the last sequence it folded on. Boards handed out never change under their holders.
"""

from __future__ import annotations

import sqlite3

from warroom.core.alerts import BOARD_KINDS, AlertBoard
from warroom.store.database import Database
from warroom.store.timeline import EVENT_COLUMNS, row_events

BOARD_SQL = "kind IN ({})".format(", ".join(f"'{kind}'" for kind in BOARD_KINDS))
"""Exactly the predicate of the `events_board` index (m005), so SQLite uses it."""


class Alerts:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._board = AlertBoard()
        self._last_seq = 0

    def board(self) -> AlertBoard:
        """Every alert and incident brief, as the log holds them now."""
        with self.db.lock:
            try:
                rows = self.db.conn.execute(
                    f"SELECT seq, {EVENT_COLUMNS} FROM events WHERE seq > ? AND {BOARD_SQL}"
                    " ORDER BY seq",
                    (self._last_seq,),
                ).fetchall()
            except sqlite3.OperationalError as exc:
                raise self.db.error(exc) from None
            if rows:
                board = self._board.copy()
                board.apply_all(row_events(row[1:] for row in rows))
                self._board, self._last_seq = board, rows[-1][0]
            return self._board
