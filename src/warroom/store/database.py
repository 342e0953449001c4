"""The event log's database file: the connection, its transactions, migrations and settings.

One SQLite file per machine, shared safely by the console and CLI processes. Each `Database`
holds one connection behind one lock (the console gives its writer and sync threads their own).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from warroom.store import sqlite

SCHEMA_VERSION = 6  # the number of migrations in schema.py (a test keeps them equal)


class StoreError(Exception):
    """The database cannot be used as asked; the message says why in one line."""


class IncidentNotFound(StoreError):
    pass


class Database:
    """A connection to the event log file, migrated to the current schema."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        try:
            if str(self.path) != ":memory:":
                sqlite.create_private(self.path)
            self.conn = sqlite.connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from None
        self.lock = threading.RLock()
        self._writer: int | None = None
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(f"{self.path} is not a usable warroom database: {exc}") from None
        except StoreError:
            self.conn.close()
            raise

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def error(self, exc: sqlite3.Error) -> StoreError:
        return StoreError(sqlite.explain(exc, self.path))

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction on this connection; nested in the same thread, the
        outer transaction (so a snapshot saved while appending commits with the append)."""
        with self.lock:
            if self._writer == threading.get_ident():
                yield self.conn
                return
            with sqlite.immediate(self.conn, self.lock, self.error) as conn:
                self._writer = threading.get_ident()
                try:
                    yield conn
                finally:
                    self._writer = None

    def query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            try:
                return self.conn.execute(sql, tuple(args)).fetchall()
            except sqlite3.OperationalError as exc:
                raise self.error(exc) from None

    # -- migrations -----------------------------------------------------------------------

    def _migrate(self) -> None:
        """Bring the schema up to date; a current file costs one PRAGMA, no sqlite-utils.

        A file written by a newer warroom is refused before anything is written to it: its
        `user_version` says it has migrations this version does not know.
        """
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer warroom (schema {version}, this one knows"
                f" {SCHEMA_VERSION}); upgrade warroom to open it"
            )
        from sqlite_utils import Database as Utils

        from warroom.store.schema import KNOWN, migrations

        db = Utils(self.conn, execute_plugins=False, recursive_triggers=False)
        with self.write():
            applied = {m.name for m in migrations.applied(db)}
            newer = applied - KNOWN
            if newer:
                raise StoreError(
                    f"{self.path} was written by a newer warroom (migration {sorted(newer)[0]});"
                    " upgrade warroom to open it"
                )
            migrations.apply(db)
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- settings of this file ----------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def meta(self, key: str, make: Callable[[], str]) -> str:
        """The stored value, or `make()` stored now (once, even with racing processes).

        Read first: a file that is already set up opens without a write (so a read-only
        database can still be read)."""
        if (found := self.get_meta(key)) is not None:
            return found
        with self.write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row:
                return str(row[0])
            value = make()
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
            return value
