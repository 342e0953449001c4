"""The default backend: one SQLite file, one server process.

WAL mode and `synchronous=FULL`: a push is answered only once its transaction is on disk.
Sequences are gap-free and in commit order because SQLite has a single writer: each push
takes the write lock (`BEGIN IMMEDIATE`), numbers its new events from the current maximum,
and commits before the next push can read that maximum. Readers use their own connection and
see whole commits only.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warroom.core.events import Event
from warroom.core.policy import DEFAULT_POLICY, Policy
from warroom.core.state import IncidentState
from warroom.server.auth import CLIENT, Token, TokenError, digest, new_secret, new_token_id
from warroom.server.backend import Backend, Notifier, Unavailable, check_device, judge
from warroom.server.writes import BOARD_SQL, VALID_STAMPS, Board, Maker, States, make
from warroom.store import sqlite
from warroom.store.deliveries import TABLES as DELIVERY_TABLES
from warroom.sync.protocol import Outcome, PushResult

if TYPE_CHECKING:
    from warroom.alerts.intake import Known
    from warroom.alerts.webhooks import AlertsAccepted
    from warroom.core.commands import Command, ReceiveAlert

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    incident_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    hlc TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    token_id TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    device_id TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS tokens_live_name ON tokens (name) WHERE revoked_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS tokens_live_device ON tokens (device_id)
    WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
MIGRATIONS = [
    SCHEMA,
    # 2: the server folds incidents (its own writes: alerts, delivery results)
    "CREATE INDEX IF NOT EXISTS events_by_incident ON events (incident_id, seq);",
    # 3: alert intake: alert-only tokens, the firings written (warroom.alerts.intake), the
    # events the alert board folds, and the newest stamp (each server write reads it)
    f"""
    ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'client';
    CREATE TABLE IF NOT EXISTS alerts (
        fingerprint TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        received_id TEXT NOT NULL,
        resolved_id TEXT,
        received_at TEXT NOT NULL,
        PRIMARY KEY (fingerprint, starts_at)
    );
    CREATE INDEX IF NOT EXISTS events_board ON events (seq) WHERE {BOARD_SQL};
    CREATE INDEX IF NOT EXISTS events_by_hlc ON events (hlc);
    """,
    # 4: the delivery queue (warroom.store.deliveries); what was stored before is not sent
    ";\n".join(DELIVERY_TABLES),
]
"""Applied in order; `PRAGMA user_version` says how many (append-only)."""
EVENT_COLUMNS = "id, incident_id, device_id, hlc, actor, kind, payload"
TOKEN_COLUMNS = "id, name, device_id, created_at, revoked_at, scope"


def _event(row: tuple[Any, ...]) -> Event:
    return Event._make((*row[:6], json.loads(row[6])))


def _token(row: tuple[Any, ...]) -> Token:
    created, revoked = row[3], row[4]
    return Token(
        row[0],
        row[1],
        row[2],
        datetime.fromisoformat(created),
        datetime.fromisoformat(revoked) if revoked else None,
        row[5],
    )


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _unavailable(exc: sqlite3.Error) -> Exception:
    """Busy or locked is worth a retry (503); anything else is the server's fault (500)."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return Unavailable(f"database is busy: {exc}")
    return exc


class SqliteBackend(Backend):
    def __init__(self, path: str | Path, policy: Policy = DEFAULT_POLICY) -> None:
        self.path = Path(path).expanduser()
        self.policy = policy
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._states = States()
        self._board = Board()
        self._board_lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------

    def _open(self) -> None:
        sqlite.create_private(self.path)  # 0600: it holds token hashes
        self._writer = sqlite.connect(self.path)
        self._reader = sqlite.connect(self.path)
        self._migrate()
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('server_id', ?)",
                (secrets.token_hex(8),),
            )
        self.server_id = self._read("SELECT value FROM meta WHERE key = 'server_id'")[0][0]
        self.notifier = Notifier(self._head())

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    async def close(self) -> None:
        self._writer.close()
        self._reader.close()

    def _migrate(self) -> None:
        version = self._writer.execute("PRAGMA user_version").fetchone()[0]
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._transaction() as conn:
                for statement in filter(str.strip, step.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with sqlite.immediate(self._writer, self._write_lock, _unavailable) as conn:
            yield conn

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._read_lock:
            return self._reader.execute(sql, args).fetchall()

    def _head(self) -> int:
        head: int = self._read("SELECT coalesce(max(seq), 0) FROM events")[0][0]
        return head

    # -- events -----------------------------------------------------------------------------

    async def push(
        self, token: Token, device_id: str, events: list[Event], now_ms: int
    ) -> tuple[list[PushResult], int]:
        results, head = await asyncio.to_thread(self._push, token, device_id, events, now_ms)
        self.notifier.advance(head)
        return results, head

    def _push(
        self, token: Token, device_id: str, events: list[Event], now_ms: int
    ) -> tuple[list[PushResult], int]:
        received = datetime.now(UTC).isoformat()
        with self._transaction() as conn:
            bound = conn.execute("SELECT device_id FROM tokens WHERE id = ?", (token.id,))
            holder = conn.execute(
                "SELECT id FROM tokens WHERE device_id = ? AND revoked_at IS NULL", (device_id,)
            ).fetchone()
            if check_device(token, bound.fetchone()[0], device_id, holder and holder[0]):
                conn.execute("UPDATE tokens SET device_id = ? WHERE id = ?", (device_id, token.id))
            verdicts = judge(
                events,
                device_id=device_id,
                stored=self._stored(conn, [e.id for e in events]),
                claimed=self._claimed(conn, {e.device_id for e in events}),
                now_ms=now_ms,
            )
            head = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
            results, rows = [], []
            for event, verdict in zip(events, verdicts, strict=True):
                if verdict is None:
                    head += 1
                    rows.append((head, *event[:6], _dumps(event.payload), token.id, received))
                    verdict = PushResult(id=event.id, status=Outcome.STORED, seq=head)
                results.append(verdict)
            conn.executemany(
                f"INSERT INTO events (seq, {EVENT_COLUMNS}, token_id, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return results, head

    @staticmethod
    def _stored(conn: sqlite3.Connection, ids: list[str]) -> dict[str, Event]:
        marks = ",".join("?" * len(ids))
        rows = conn.execute(f"SELECT {EVENT_COLUMNS} FROM events WHERE id IN ({marks})", ids)
        return {row[0]: _event(row) for row in rows}

    @staticmethod
    def _claimed(conn: sqlite3.Connection, devices: set[str]) -> set[str]:
        """The devices some token, live or revoked, was ever bound to."""
        marks = ",".join("?" * len(devices))
        rows = conn.execute(
            f"SELECT DISTINCT device_id FROM tokens WHERE device_id IN ({marks})", list(devices)
        )
        return {row[0] for row in rows}

    async def execute(
        self, incident_id: str, commands: Sequence[Command], actor: str, now: datetime
    ) -> list[Event]:
        events, head = await asyncio.to_thread(self._execute, incident_id, commands, actor, now)
        self.notifier.advance(head)
        return events

    def _execute(
        self, incident_id: str, commands: Sequence[Command], actor: str, now: datetime
    ) -> tuple[list[Event], int]:
        with self._transaction() as conn:
            return self._execute_in(conn, incident_id, commands, actor, now)

    def _execute_in(
        self,
        conn: sqlite3.Connection,
        incident_id: str,
        commands: Sequence[Command],
        actor: str,
        now: datetime,
    ) -> tuple[list[Event], int]:
        """`execute` inside the caller's write transaction (the delivery queue records an
        outcome with its result events); the events and the new head."""
        received = datetime.now(UTC).isoformat()
        state = self._fold(conn, incident_id)
        newest = conn.execute(f"SELECT max(hlc) FROM events WHERE {VALID_STAMPS}").fetchone()
        events = make(
            state,
            commands,
            policy=self.policy,
            now=now,
            device_id=self.device_id,
            actor=actor,
            newest=newest[0],
        )
        head = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
        rows = [
            (head + n, *e[:6], _dumps(e.payload), "server", received)
            for n, e in enumerate(events, start=1)
        ]
        conn.executemany(
            f"INSERT INTO events (seq, {EVENT_COLUMNS}, token_id, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return events, head + len(events)

    def _fold(self, conn: sqlite3.Connection, incident_id: str) -> IncidentState:
        rows = conn.execute(
            f"SELECT seq, {EVENT_COLUMNS} FROM events WHERE incident_id = ? AND seq > ?"
            " ORDER BY seq",
            (incident_id, self._states.last_seq(incident_id)),
        ).fetchall()
        return self._states.fold(incident_id, ((row[0], _event(row[1:])) for row in rows))

    async def receive_alerts(
        self, alerts: Sequence[ReceiveAlert], actor: str, now: datetime
    ) -> AlertsAccepted:
        accepted, head = await asyncio.to_thread(self._receive_alerts, alerts, actor, now)
        self.notifier.advance(head)
        return accepted

    def _receive_alerts(
        self, alerts: Sequence[ReceiveAlert], actor: str, now: datetime
    ) -> tuple[AlertsAccepted, int]:
        from warroom.alerts import intake

        received = datetime.now(UTC).isoformat()
        with self._board_lock:  # the board is read and advanced by one intake at a time
            with self._transaction() as conn:
                rows = conn.execute(
                    f"SELECT seq, {EVENT_COLUMNS} FROM events WHERE seq > ? AND {BOARD_SQL}"
                    " ORDER BY seq",
                    (self._board.last_seq,),
                )
                board = self._board.fold((row[0], _event(row[1:])) for row in rows)
                known = self._known(conn, intake.keys_of(alerts))
                decision = intake.decide(alerts, known, board, self.policy.alerts)
                head = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
                if not decision.steps:
                    return decision.accepted(), head
                newest = conn.execute(
                    f"SELECT max(hlc) FROM events WHERE {VALID_STAMPS}"
                ).fetchone()
                maker = Maker(
                    policy=self.policy,
                    now=now,
                    device_id=self.device_id,
                    actor=actor,
                    newest=newest[0],
                )
                events = intake.plan_events(decision, maker)
                numbered = list(enumerate(events, start=head + 1))
                conn.executemany(
                    f"INSERT INTO events (seq, {EVENT_COLUMNS}, token_id, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(seq, *e[:6], _dumps(e.payload), "server", received) for seq, e in numbered],
                )
                new, ended = intake.table_changes(decision, events)
                conn.executemany(
                    "INSERT INTO alerts (fingerprint, starts_at, incident_id, received_id,"
                    " resolved_id, received_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [(*row.columns(), received) for row in new],
                )
                conn.executemany(
                    "UPDATE alerts SET resolved_id = ? WHERE fingerprint = ? AND starts_at = ?"
                    " AND resolved_id IS NULL",
                    ended,
                )
            # Committed: the board learns them here instead of reading them back next time.
            self._board.fold(numbered)
        return decision.accepted(), head + len(events)

    @staticmethod
    def _known(conn: sqlite3.Connection, keys: list[tuple[str, str]]) -> dict[str, Known]:
        """The rows of these firings (by alert key), read a fingerprint at a time."""
        from warroom.alerts.intake import Known

        wanted = set(keys)
        found: dict[str, Known] = {}
        prints = sorted({fingerprint for fingerprint, _ in wanted})
        for at in range(0, len(prints), 500):
            chunk = prints[at : at + 500]
            rows = conn.execute(
                "SELECT fingerprint, starts_at, incident_id, received_id, resolved_id FROM alerts"
                f" WHERE fingerprint IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for fingerprint, start, incident, received_id, resolved_id in rows:
                if (fingerprint, start) in wanted:
                    found[f"{fingerprint}@{start}"] = Known(
                        incident, received_id, resolved_id is not None
                    )
        return found

    async def state(self, incident_id: str) -> IncidentState:
        def read() -> IncidentState:
            with self._read_lock:
                return self._fold(self._reader, incident_id)

        return await asyncio.to_thread(read)

    async def incident_ids(self) -> list[str]:
        rows = await asyncio.to_thread(
            self._read,
            "SELECT incident_id FROM events WHERE kind = 'declared'"
            " GROUP BY incident_id ORDER BY min(hlc) DESC",
        )
        return [row[0] for row in rows]

    async def pull(self, after: int, limit: int) -> tuple[list[tuple[int, Event]], int]:
        return await asyncio.to_thread(self._pull, after, limit)

    def _pull(self, after: int, limit: int) -> tuple[list[tuple[int, Event]], int]:
        with self._read_lock:
            self._reader.execute("BEGIN")  # one snapshot for the page and the head
            try:
                rows = self._reader.execute(
                    f"SELECT seq, {EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                    (after, limit),
                ).fetchall()
                head = self._reader.execute("SELECT coalesce(max(seq), 0) FROM events")
                head = head.fetchone()[0]
            finally:
                self._reader.execute("COMMIT")
        return [(row[0], _event(row[1:])) for row in rows], head

    # -- tokens -----------------------------------------------------------------------------

    async def authenticate(self, secret: str) -> Token | None:
        rows = await asyncio.to_thread(
            self._read,
            f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ? AND revoked_at IS NULL",
            (digest(secret),),
        )
        return _token(rows[0]) if rows else None

    async def create_token(self, name: str, scope: str = CLIENT) -> tuple[Token, str]:
        return await asyncio.to_thread(self._create_token, name, scope)

    def _create_token(self, name: str, scope: str) -> tuple[Token, str]:
        secret = new_secret()
        token = Token(new_token_id(), name, None, datetime.now(UTC), scope=scope)
        try:
            with self._transaction() as conn:
                conn.execute(
                    "INSERT INTO tokens (id, name, hash, created_at, scope) VALUES (?, ?, ?, ?, ?)",
                    (token.id, name, digest(secret), token.created_at.isoformat(), scope),
                )
        except sqlite3.IntegrityError:
            raise TokenError(f"a live token is already named {name!r}; revoke it first") from None
        return token, secret

    async def tokens(self) -> list[Token]:
        rows = await asyncio.to_thread(
            self._read, f"SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at"
        )
        return [_token(row) for row in rows]

    async def revoke_token(self, ref: str) -> list[Token]:
        return await asyncio.to_thread(self._revoke_token, ref)

    def _revoke_token(self, ref: str) -> list[Token]:
        now = datetime.now(UTC).isoformat()
        with self._transaction() as conn:
            rows = conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL"
                f" AND (id = ? OR name = ?) RETURNING {TOKEN_COLUMNS}",
                (now, ref, ref),
            ).fetchall()
        return [_token(row) for row in rows]
