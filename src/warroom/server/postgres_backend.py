"""The PostgreSQL backend: several server instances on one database, for a team that needs more
than one machine.

Sequences are gap-free and in commit order thanks to a one-row counter. Every push first locks
that row (`SELECT ... FOR UPDATE`), numbers its new events from it, stores the new value and
commits; a concurrent push, on this instance or another, waits on the row lock until then. So
numbers are handed out in commit order and a rollback hands its numbers back: a reader that has
seen sequence N has seen every sequence below N. A PostgreSQL SEQUENCE gives neither guarantee
(a transaction holding 7 may commit after one holding 8, so a reader at 8 would skip 7 for good,
and rolled-back numbers leave holes). The row lock beats a transaction-level advisory lock only
in that the row also keeps the head, so nobody needs `max(seq)`. Pushes are thereby serialised
across instances, which costs little: storing 500 events takes a few milliseconds.

Each instance keeps three connections: a writer (pushes, token changes), a reader (pulls, token
checks) and a listener. A commit sends `NOTIFY` with the new head, which wakes the long-polls of
every instance.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb

from warroom.core.events import Event
from warroom.core.policy import DEFAULT_POLICY, Policy
from warroom.core.state import IncidentState
from warroom.server.auth import CLIENT, Token, TokenError, digest, new_secret, new_token_id
from warroom.server.backend import Backend, Notifier, Unavailable, check_device, judge
from warroom.server.writes import BOARD_SQL, VALID_STAMPS, Board, Maker, States, make

if TYPE_CHECKING:
    from warroom.alerts.webhooks import AlertsAccepted
    from warroom.core.commands import Command, ReceiveAlert
from warroom.sync.protocol import Outcome, PushResult

CHANNEL = "warroom_events"
SCHEMA_LOCK = 0x77617272  # an advisory lock id: instances starting together create tables once
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq bigint PRIMARY KEY,
    id text NOT NULL UNIQUE,
    incident_id text NOT NULL,
    device_id text NOT NULL,
    hlc text NOT NULL,
    actor text NOT NULL,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    token_id text NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS counter (
    id int PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL
);
INSERT INTO counter (id, seq) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS tokens (
    id text PRIMARY KEY,
    name text NOT NULL,
    hash text NOT NULL UNIQUE,
    device_id text,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS tokens_live_name ON tokens (name) WHERE revoked_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS tokens_live_device ON tokens (device_id)
    WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL);
"""
MIGRATIONS = [
    SCHEMA,
    # 2: the server folds incidents (its own writes: alerts, delivery results)
    "CREATE INDEX IF NOT EXISTS events_by_incident ON events (incident_id, seq);",
    # 3: alert intake: alert-only tokens, the firings written (warroom.alerts.intake), the
    # events the alert board folds, and the newest stamp (each server write reads it)
    f"""
    ALTER TABLE tokens ADD COLUMN IF NOT EXISTS scope text NOT NULL DEFAULT 'client';
    CREATE TABLE IF NOT EXISTS alerts (
        fingerprint text NOT NULL,
        starts_at text NOT NULL,
        incident_id text NOT NULL,
        received_id text NOT NULL,
        resolved_id text,
        received_at timestamptz NOT NULL,
        PRIMARY KEY (fingerprint, starts_at)
    );
    CREATE INDEX IF NOT EXISTS events_board ON events (seq) WHERE {BOARD_SQL};
    CREATE INDEX IF NOT EXISTS events_by_hlc ON events (hlc);
    """,
    # 4: the delivery queue (warroom.server.deliveries); what was stored before is not sent
    """
    CREATE TABLE IF NOT EXISTS deliveries (
        id bigserial PRIMARY KEY,
        event_id text NOT NULL,
        incident_id text NOT NULL,
        channel text NOT NULL,
        position text COLLATE "C" NOT NULL,
        state text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        next_at bigint NOT NULL,
        lease_owner text,
        lease_until bigint,
        sending_since bigint,
        ref text NOT NULL DEFAULT '',
        permalink text NOT NULL DEFAULT '',
        extra jsonb NOT NULL DEFAULT '{}',
        reason text NOT NULL DEFAULT '',
        reported text NOT NULL DEFAULT '',
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        sent_at bigint,
        UNIQUE (event_id, channel)
    );
    CREATE INDEX IF NOT EXISTS deliveries_unfinished ON deliveries (channel, incident_id, position)
        WHERE state IN ('pending', 'retrying');
    CREATE INDEX IF NOT EXISTS deliveries_sent ON deliveries (incident_id, channel, position);
    CREATE TABLE IF NOT EXISTS delivery_channels (name text PRIMARY KEY, next_at bigint NOT NULL);
    INSERT INTO meta (key, value)
        SELECT 'delivery.cursor', seq::text FROM counter WHERE id = 1 ON CONFLICT DO NOTHING;
    """,
]
"""Applied in order under the schema lock; meta's `schema_version` says how many."""
EVENT_COLUMNS = "id, incident_id, device_id, hlc, actor, kind, payload"
TOKEN_COLUMNS = "id, name, device_id, created_at, revoked_at, scope"


def _first(row: tuple[Any, ...] | None) -> Any:
    """The first column of a row a query always returns."""
    assert row is not None
    return row[0]


def _token(row: tuple[Any, ...]) -> Token:
    return Token(*row)


class _Link:
    """One connection, used by one task at a time, reopened after it breaks."""

    def __init__(self, url: str, *, autocommit: bool) -> None:
        self.url = url
        self.autocommit = autocommit
        self._conn: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def use(self) -> AsyncIterator[psycopg.AsyncConnection]:
        async with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await psycopg.AsyncConnection.connect(
                        self.url, autocommit=self.autocommit
                    )
                yield self._conn
            except psycopg.OperationalError as exc:
                raise Unavailable("database unavailable: " + " ".join(str(exc).split())) from None

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


class PostgresBackend(Backend):
    def __init__(self, url: str, policy: Policy = DEFAULT_POLICY) -> None:
        self.url = url
        self.policy = policy
        self._states = States()
        self._board = Board()
        self._writer = _Link(url, autocommit=False)
        self._reader = _Link(url, autocommit=True)
        self._listener: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        async with self._writer.use() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            await conn.execute(SCHEMA)
            cur = await conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
            row = await cur.fetchone()
            version = int(row[0]) if row else 1
            for step in MIGRATIONS[version:]:
                await conn.execute(step)
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(len(MIGRATIONS)),),
            )
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('server_id', %s) ON CONFLICT DO NOTHING",
                (secrets.token_hex(8),),
            )
            cur = await conn.execute("SELECT value FROM meta WHERE key = 'server_id'")
            self.server_id = _first(await cur.fetchone())
        self.notifier = Notifier(await self._head())
        listening = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(listening))
        await listening.wait()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with suppress(asyncio.CancelledError):
                await self._listener
        await self._writer.close()
        await self._reader.close()

    async def _head(self) -> int:
        async with self._reader.use() as conn:
            cur = await conn.execute("SELECT seq FROM counter WHERE id = 1")
            head: int = _first(await cur.fetchone())
            return head

    async def _listen(self, listening: asyncio.Event) -> None:
        """Follow other instances' commits; after a lost connection, catch up from the head."""
        delay = 0.1
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.notifier.advance(await self._head())
                    listening.set()
                    delay = 0.1
                    async for note in conn.notifies():
                        self.notifier.advance(int(note.payload))
            except (psycopg.OperationalError, Unavailable):
                listening.set()  # serve anyway; long-polls then wake on this instance's pushes
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    # -- events -----------------------------------------------------------------------------

    async def push(
        self, token: Token, device_id: str, events: list[Event], now_ms: int
    ) -> tuple[list[PushResult], int]:
        received = datetime.now(UTC)
        async with self._writer.use() as conn, conn.transaction():
            cur = conn.cursor()
            await cur.execute("SELECT seq FROM counter WHERE id = 1 FOR UPDATE")
            head: int = _first(await cur.fetchone())
            await cur.execute("SELECT device_id FROM tokens WHERE id = %s", (token.id,))
            bound: str | None = _first(await cur.fetchone())
            await cur.execute(
                "SELECT id FROM tokens WHERE device_id = %s AND revoked_at IS NULL", (device_id,)
            )
            holder = await cur.fetchone()
            if check_device(token, bound, device_id, holder[0] if holder else None):
                await cur.execute(
                    "UPDATE tokens SET device_id = %s WHERE id = %s", (device_id, token.id)
                )
            await cur.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE id = ANY(%s)", ([e.id for e in events],)
            )
            stored = {row[0]: Event(*row) for row in await cur.fetchall()}
            await cur.execute(  # devices some token, live or revoked, was ever bound to
                "SELECT DISTINCT device_id FROM tokens WHERE device_id = ANY(%s)",
                (list({e.device_id for e in events}),),
            )
            claimed = {row[0] for row in await cur.fetchall()}
            verdicts = judge(
                events, device_id=device_id, stored=stored, claimed=claimed, now_ms=now_ms
            )
            results, rows = [], []
            for event, verdict in zip(events, verdicts, strict=True):
                if verdict is None:
                    head += 1
                    rows.append((head, *event[:6], Jsonb(event.payload)))
                    verdict = PushResult(id=event.id, status=Outcome.STORED, seq=head)
                results.append(verdict)
            if rows:
                copy_sql = f"COPY events (seq, {EVENT_COLUMNS}, token_id, received_at) FROM STDIN"
                async with cur.copy(copy_sql) as copy:
                    for row in rows:
                        await copy.write_row((*row, token.id, received))
                await cur.execute("UPDATE counter SET seq = %s WHERE id = 1", (head,))
                await cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(head)))
        self.notifier.advance(head)
        return results, head

    async def execute(
        self, incident_id: str, commands: Sequence[Command], actor: str, now: datetime
    ) -> list[Event]:
        async with self._writer.use() as conn, conn.transaction():
            events, head = await self._execute_in(conn, incident_id, commands, actor, now)
        self.notifier.advance(head)
        return events

    async def receive_alerts(
        self, alerts: Sequence[ReceiveAlert], actor: str, now: datetime
    ) -> AlertsAccepted:
        """Under the counter's row lock, like every write: an instance that takes it after
        another stored a firing sees that firing's row, and writes nothing for it."""
        from warroom.alerts import intake

        received = datetime.now(UTC)
        numbered: list[tuple[int, Event]] = []
        async with self._writer.use() as conn:  # one intake at a time reads the board
            async with conn.transaction():
                cur = conn.cursor()
                await cur.execute("SELECT seq FROM counter WHERE id = 1 FOR UPDATE")
                head: int = _first(await cur.fetchone())
                await cur.execute(
                    f"SELECT seq, {EVENT_COLUMNS} FROM events WHERE seq > %s AND {BOARD_SQL}"
                    " ORDER BY seq",
                    (self._board.last_seq,),
                )
                board = self._board.fold((row[0], Event(*row[1:])) for row in await cur.fetchall())
                keys = intake.keys_of(alerts)
                await cur.execute(
                    "SELECT fingerprint, starts_at, incident_id, received_id, resolved_id"
                    " FROM alerts WHERE (fingerprint, starts_at) IN"
                    " (SELECT * FROM unnest(%s::text[], %s::text[]))",
                    ([k[0] for k in keys], [k[1] for k in keys]),
                )
                known = {
                    f"{fp}@{start}": intake.Known(incident, received_id, resolved_id is not None)
                    for fp, start, incident, received_id, resolved_id in await cur.fetchall()
                }
                decision = intake.decide(alerts, known, board, self.policy.alerts)
                if decision.steps:
                    await cur.execute(f"SELECT max(hlc) FROM events WHERE {VALID_STAMPS}")
                    newest: str | None = _first(await cur.fetchone())
                    maker = Maker(
                        policy=self.policy,
                        now=now,
                        device_id=self.device_id,
                        actor=actor,
                        newest=newest,
                    )
                    events = intake.plan_events(decision, maker)
                    numbered = list(enumerate(events, start=head + 1))
                    copy_sql = (
                        f"COPY events (seq, {EVENT_COLUMNS}, token_id, received_at) FROM STDIN"
                    )
                    async with cur.copy(copy_sql) as copy:
                        for n, event in enumerate(events, start=1):
                            row = (head + n, *event[:6], Jsonb(event.payload), "server", received)
                            await copy.write_row(row)
                    new, ended = intake.table_changes(decision, events)
                    await cur.executemany(
                        "INSERT INTO alerts (fingerprint, starts_at, incident_id, received_id,"
                        " resolved_id, received_at) VALUES (%s, %s, %s, %s, %s, %s)",
                        [(*row.columns(), received) for row in new],
                    )
                    await cur.executemany(
                        "UPDATE alerts SET resolved_id = %s"
                        " WHERE fingerprint = %s AND starts_at = %s AND resolved_id IS NULL",
                        ended,
                    )
                    head += len(events)
                    await cur.execute("UPDATE counter SET seq = %s WHERE id = 1", (head,))
                    await cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(head)))
            # Committed: the board learns them here instead of reading them back next time.
            self._board.fold(numbered)
        self.notifier.advance(head)
        return decision.accepted()

    async def _execute_in(
        self,
        conn: psycopg.AsyncConnection[Any],
        incident_id: str,
        commands: Sequence[Command],
        actor: str,
        now: datetime,
    ) -> tuple[list[Event], int]:
        """`execute` inside the caller's transaction (the delivery queue records an outcome
        with its result events); the events and the new head."""
        received = datetime.now(UTC)
        cur = conn.cursor()
        await cur.execute("SELECT seq FROM counter WHERE id = 1 FOR UPDATE")
        head: int = _first(await cur.fetchone())
        state = await self._fold(conn, incident_id)
        await cur.execute(f"SELECT max(hlc) FROM events WHERE {VALID_STAMPS}")
        newest: str | None = _first(await cur.fetchone())
        events = make(
            state,
            commands,
            policy=self.policy,
            now=now,
            device_id=self.device_id,
            actor=actor,
            newest=newest,
        )
        if events:
            copy_sql = f"COPY events (seq, {EVENT_COLUMNS}, token_id, received_at) FROM STDIN"
            async with cur.copy(copy_sql) as copy:
                for n, event in enumerate(events, start=1):
                    row = (head + n, *event[:6], Jsonb(event.payload), "server", received)
                    await copy.write_row(row)
            head += len(events)
            await cur.execute("UPDATE counter SET seq = %s WHERE id = 1", (head,))
            await cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(head)))
        return events, head

    async def _fold(self, conn: psycopg.AsyncConnection[Any], incident_id: str) -> IncidentState:
        cur = await conn.execute(
            f"SELECT seq, {EVENT_COLUMNS} FROM events WHERE incident_id = %s AND seq > %s"
            " ORDER BY seq",
            (incident_id, self._states.last_seq(incident_id)),
        )
        rows = await cur.fetchall()
        return self._states.fold(incident_id, ((row[0], Event(*row[1:])) for row in rows))

    async def state(self, incident_id: str) -> IncidentState:
        async with self._reader.use() as conn:
            return await self._fold(conn, incident_id)

    async def incident_ids(self) -> list[str]:
        async with self._reader.use() as conn:
            cur = await conn.execute(
                "SELECT incident_id FROM events WHERE kind = 'declared'"
                " GROUP BY incident_id ORDER BY min(hlc) DESC"
            )
            return [row[0] for row in await cur.fetchall()]

    async def pull(self, after: int, limit: int) -> tuple[list[tuple[int, Event]], int]:
        async with self._reader.use() as conn:
            cur = await conn.execute(
                f"SELECT seq, {EVENT_COLUMNS} FROM events WHERE seq > %s ORDER BY seq LIMIT %s",
                (after, limit),
            )
            rows = await cur.fetchall()
            cur = await conn.execute("SELECT seq FROM counter WHERE id = 1")
            head: int = _first(await cur.fetchone())
        return [(row[0], Event(*row[1:])) for row in rows], head

    # -- tokens -----------------------------------------------------------------------------

    async def authenticate(self, secret: str) -> Token | None:
        async with self._reader.use() as conn:
            cur = await conn.execute(
                f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = %s AND revoked_at IS NULL",
                (digest(secret),),
            )
            row = await cur.fetchone()
        return _token(row) if row else None

    async def create_token(self, name: str, scope: str = CLIENT) -> tuple[Token, str]:
        secret = new_secret()
        token = Token(new_token_id(), name, None, datetime.now(UTC), scope=scope)
        try:
            async with self._writer.use() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO tokens (id, name, hash, created_at, scope)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (token.id, name, digest(secret), token.created_at, scope),
                )
        except psycopg.errors.UniqueViolation:
            raise TokenError(f"a live token is already named {name!r}; revoke it first") from None
        return token, secret

    async def tokens(self) -> list[Token]:
        async with self._reader.use() as conn:
            cur = await conn.execute(f"SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at")
            return [_token(row) for row in await cur.fetchall()]

    async def revoke_token(self, ref: str) -> list[Token]:
        async with self._writer.use() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE tokens SET revoked_at = now() WHERE revoked_at IS NULL"
                f" AND (id = %s OR name = %s) RETURNING {TOKEN_COLUMNS}",
                (ref, ref),
            )
            return [_token(row) for row in await cur.fetchall()]
