"""SQLite plumbing shared by the local event log and the server's SQLite backend.

Both keep records people rely on, so both open files the same way: created private (0600 in
a 0700 directory), WAL with `synchronous=FULL` (a commit is on disk before it returns), a busy
timeout so writers queue, and one `BEGIN IMMEDIATE` transaction per write so the write lock is
taken up front and a transaction never fails half way for lack of it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000


def create_private(path: Path) -> None:
    """Create a new database file readable by its owner only (it holds incident details).

    An existing file is never opened here: closing any descriptor of a file drops all of
    this process's POSIX locks on it, SQLite's included, and another process would then
    take itself for the last user and delete the WAL this process still writes to.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        return
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:  # another process created it a moment ago
        return
    os.close(fd)


def connect(path: Path | str, *, busy_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL and FULL sync."""
    conn = sqlite3.connect(
        path, isolation_level=None, timeout=busy_ms / 1000, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout={busy_ms}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


@contextmanager
def immediate(
    conn: sqlite3.Connection,
    lock: threading.Lock | threading.RLock,
    error: Callable[[sqlite3.Error], Exception],
) -> Iterator[sqlite3.Connection]:
    """One IMMEDIATE transaction: take the write lock up front, commit or roll back.

    Failures of SQLite itself (busy, disk full, read-only: `OperationalError`) become
    `error(exc)`, the caller's own exception with a message a person can act on; a broken
    constraint (`IntegrityError`) is the caller's to interpret and passes through.
    """
    with lock:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise error(exc) from None
        try:
            yield conn
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise error(exc) from None
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise error(exc) from None


def explain(exc: sqlite3.Error, path: Path | str) -> str:
    """What went wrong with the database file, and what to do, in one line."""
    text = str(exc)
    lowered = text.lower()
    if "disk is full" in lowered or "database or disk is full" in lowered:
        return f"the disk holding {path} is full: free some space and retry (nothing was saved)"
    if "readonly" in lowered or "read-only" in lowered:
        return (
            f"{path} is read-only: check the permissions of the file and its directory"
            " (nothing was saved)"
        )
    if "locked" in lowered or "busy" in lowered:
        return f"{path} is busy: another process held its write lock too long; retry"
    if "unable to open" in lowered:
        return f"cannot open {path}: check that its directory exists and is writable"
    if "malformed" in lowered or "not a database" in lowered:
        return f"{path} is damaged or not a warroom database ({text})"
    return f"database error on {path}: {text}"
