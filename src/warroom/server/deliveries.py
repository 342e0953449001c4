"""The server's delivery queue, in its own database, and the engine run beside the API.

In a team, `warroom serve` holds the channel config and delivers (secrets stay on the
server). Its queue lives next to the events, so an outcome and its result event commit
together, and the events fan out to every console like pushed ones.

- SQLite (one server process): the statements of `warroom.store.deliveries`, in the
  backend's write transaction.
- PostgreSQL (several instances): a claim locks the channel's pacing row and the delivery
  with `FOR UPDATE SKIP LOCKED`, so two instances never take the same delivery at once; a
  lease that expires (its holder died) lets another instance take it over, and that one
  checks with the channel before sending again. Scans lock the cursor row, so instances
  queue each event once. The queue uses a connection of its own: claims never wait behind
  a client's push on the API's writer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb

from warroom.core.events import Event
from warroom.core.state import IncidentState
from warroom.delivery.queue import Queue, Route
from warroom.store.deliveries import (
    COLUMNS,
    CURSOR_KEY,
    EVENT_COLUMNS,
    STALE,
    UNFINISHED,
    Claim,
    Finish,
    Idle,
    Row,
    SqliteQueue,
    event_of,
    row_of,
    unscanned_row,
)

if TYPE_CHECKING:
    from warroom.core.commands import Command
    from warroom.delivery.channel import Channel
    from warroom.delivery.engine import Timing
    from warroom.server.backend import Backend
    from warroom.server.postgres_backend import PostgresBackend
    from warroom.server.sqlite_backend import SqliteBackend

ACTOR = "delivery"
"""Who the server records delivery results as."""

log = logging.getLogger("warroom.delivery")


def _moment() -> datetime:
    return datetime.now(UTC)


class _Shared(Queue):
    """What both backends' queues do alike: states, and waking on new events."""

    actor = ACTOR

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._seen = -1

    async def state(self, incident_id: str) -> IncidentState:
        return await self.backend.state(incident_id)

    async def changed(self, timeout: float) -> None:
        notifier = self.backend.notifier
        if notifier.head == self._seen:
            await notifier.wait_past(self._seen, timeout)
        self._seen = notifier.head


# -- SQLite -------------------------------------------------------------------------------------


class SqliteServerQueue(_Shared):
    def __init__(self, backend: SqliteBackend) -> None:
        super().__init__(backend)
        self.db = backend

    async def _write(self, action: Callable[..., Any], *args: Any) -> Any:
        def run() -> Any:
            with self.db._transaction() as conn:
                return action(conn, *args)

        return await asyncio.to_thread(run)

    async def _query(self, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def run() -> Any:
            with self.db._read_lock:
                return action(self.db._reader, *args, **kwargs)

        return await asyncio.to_thread(run)

    async def register(self, channels: Sequence[str]) -> None:
        await self._write(SqliteQueue.register, channels)

    async def scan(self, route: Route, now: int, stale_before: int) -> tuple[int, bool]:
        result: tuple[int, bool] = await self._write(SqliteQueue.scan, route, now, stale_before)
        return result

    async def preview(self, route: Route, now: int, stale_before: int) -> list[Row]:
        rows: list[Row] = await self._query(SqliteQueue.preview, route, now, stale_before)
        return rows

    async def claim(
        self, channel: str, owner: str, now: int, lease: int, pace: int
    ) -> Claim | Idle:
        got: Claim | Idle = await self._write(SqliteQueue.claim, channel, owner, now, lease, pace)
        return got

    async def start(self, claim: Claim, owner: str, now: int, lease: int) -> bool:
        started: bool = await self._write(SqliteQueue.start, claim.row.id, owner, now, lease)
        return started

    async def renew(self, claim: Claim, owner: str, until: int) -> bool:
        renewed: bool = await self._write(SqliteQueue.renew, claim.row.id, owner, until)
        return renewed

    async def release(self, claim: Claim, owner: str) -> None:
        await self._write(SqliteQueue.release, claim, owner)

    async def finish(
        self, claim: Claim, owner: str, outcome: Finish, commands: Sequence[Command]
    ) -> bool:
        from warroom.core.commands import CommandError

        def run() -> tuple[bool, int | None]:
            with self.db._transaction() as conn:
                if not SqliteQueue.finish(conn, claim.row, owner, claim.row.channel, outcome):
                    return False, None
                if not commands:
                    return True, None
                try:
                    _, head = self.db._execute_in(
                        conn, claim.event.incident_id, commands, self.actor, _moment()
                    )
                except CommandError as exc:
                    log.warning("delivery: result not recorded: %s", exc)
                    return True, None
                return True, head

        held, head = await asyncio.to_thread(run)
        if head is not None:
            self.backend.notifier.advance(head)
        return held

    async def previous(self, incident_id: str, channel: str, position: str) -> list[Row]:
        rows: list[Row] = await self._query(SqliteQueue.previous, incident_id, channel, position)
        return rows

    async def event(self, event_id: str) -> Event | None:
        found: Event | None = await self._query(SqliteQueue.event, event_id)
        return found

    async def rows(self, *, states: Sequence[str] = (), limit: int = 1000) -> list[Row]:
        rows: list[Row] = await self._query(SqliteQueue.rows, states=states, limit=limit)
        return rows

    async def retry(self, row_id: int, now: int, *, resend: bool = False) -> Row | None:
        def run() -> Row | None:
            with self.db._transaction() as conn:
                return SqliteQueue.retry(conn, row_id, now, resend=resend)

        return await asyncio.to_thread(run)

    async def counts(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = await self._query(SqliteQueue.counts)
        return counts


# -- PostgreSQL ---------------------------------------------------------------------------------

_HEADS = (
    f"SELECT {COLUMNS}, {EVENT_COLUMNS} FROM"
    " (SELECT incident_id, min(position) AS position FROM deliveries"
    "  WHERE channel = %(channel)s AND state IN ('pending', 'retrying') GROUP BY incident_id) h"
    " JOIN deliveries d ON d.channel = %(channel)s AND d.incident_id = h.incident_id"
    "  AND d.position = h.position"
    " JOIN events e ON e.id = d.event_id"
)


class PostgresServerQueue(_Shared):
    def __init__(self, backend: PostgresBackend) -> None:
        from warroom.server.postgres_backend import _Link

        super().__init__(backend)
        self.db = backend
        self.link = _Link(backend.url, autocommit=False)

    async def close(self) -> None:
        await self.link.close()

    async def register(self, channels: Sequence[str]) -> None:
        async with self.link.use() as conn, conn.transaction():
            for name in channels:
                await conn.execute(
                    "INSERT INTO delivery_channels (name, next_at) VALUES (%s, 0)"
                    " ON CONFLICT DO NOTHING",
                    (name,),
                )

    async def _unscanned(
        self, conn: Any, route: Route, stale_before: int, *, lock: bool, limit: int
    ) -> tuple[list[tuple[Event, str, str]], int | None, bool]:
        cur = await conn.execute(
            "SELECT value FROM meta WHERE key = %s" + (" FOR UPDATE" if lock else ""),
            (CURSOR_KEY,),
        )
        row = await cur.fetchone()
        cursor = int(row[0]) if row else 0
        cur = await conn.execute(
            "SELECT seq, id, incident_id, device_id, hlc, actor, kind, payload FROM events"
            " WHERE seq > %s ORDER BY seq LIMIT %s",
            (cursor, limit),
        )
        rows = await cur.fetchall()
        due = []
        for values in rows:
            event = event_of(values[1:])
            for channel in route(event):
                stale = event.time.timestamp() * 1000 < stale_before
                due.append((event, channel, "failed" if stale else "pending"))
        return due, (rows[-1][0] if rows else None), len(rows) == limit

    async def scan(self, route: Route, now: int, stale_before: int) -> tuple[int, bool]:
        async with self.link.use() as conn, conn.transaction():
            due, last, more = await self._unscanned(
                conn, route, stale_before, lock=True, limit=1000
            )
            if last is None:
                return 0, False
            cur = conn.cursor()
            if due:
                await cur.executemany(
                    "INSERT INTO deliveries (event_id, incident_id, channel, position, state,"
                    " next_at, reason, created_at, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [
                        (
                            e.id,
                            e.incident_id,
                            channel,
                            f"{e.hlc} {e.id}",
                            state,
                            now,
                            STALE if state == "failed" else "",
                            now,
                            now,
                        )
                        for e, channel, state in due
                    ],
                )
            await cur.execute(
                "INSERT INTO meta (key, value) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (CURSOR_KEY, str(last)),
            )
            return len(due), more

    async def preview(self, route: Route, now: int, stale_before: int) -> list[Row]:
        found = await self.rows(states=UNFINISHED, limit=100_000)
        async with self.link.use() as conn, conn.transaction():
            due, _, _ = await self._unscanned(conn, route, stale_before, lock=False, limit=100_000)
        found += [unscanned_row(e, channel, now) for e, channel, state in due if state == "pending"]
        return found

    async def claim(
        self, channel: str, owner: str, now: int, lease: int, pace: int
    ) -> Claim | Idle:
        async with self.link.use() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT next_at FROM delivery_channels WHERE name = %s FOR UPDATE SKIP LOCKED",
                (channel,),
            )
            paced = await cur.fetchone()
            if paced is None:  # another instance is claiming for this channel right now
                return Idle(now + 50, paced=True)
            if paced[0] > now:
                return Idle(paced[0], paced=True)
            cur = await conn.execute(
                _HEADS + " WHERE d.state IN ('pending', 'retrying') AND d.next_at <= %(now)s"
                " AND (d.lease_until IS NULL OR d.lease_until <= %(now)s)"
                " ORDER BY d.position LIMIT 1 FOR UPDATE OF d SKIP LOCKED",
                {"channel": channel, "now": now},
            )
            values = await cur.fetchone()
            if values is None:
                cur = await conn.execute(
                    "SELECT min(greatest(d.next_at, coalesce(d.lease_until, 0))) FROM"
                    " (SELECT incident_id, min(position) AS position FROM deliveries"
                    "  WHERE channel = %(channel)s AND state IN ('pending', 'retrying')"
                    "  GROUP BY incident_id) h"
                    " JOIN deliveries d ON d.channel = %(channel)s"
                    "  AND d.incident_id = h.incident_id AND d.position = h.position",
                    {"channel": channel},
                )
                found = await cur.fetchone()
                soonest = found[0] if found else None
                return Idle(soonest if soonest is None or soonest > now else now + 50)
            row, event = row_of(values[:19], values[24]), event_of(values[19:])
            start = row.sending_since is None
            await conn.execute(
                "UPDATE deliveries SET lease_owner = %s, lease_until = %s,"
                " sending_since = CASE WHEN %s THEN %s ELSE sending_since END,"
                " attempts = attempts + %s, updated_at = %s WHERE id = %s",
                (owner, now + lease, start, now, int(start), now, row.id),
            )
            await conn.execute(
                "UPDATE delivery_channels SET next_at = %s WHERE name = %s", (now + pace, channel)
            )
        if start:
            row = replace(row, sending_since=now, attempts=row.attempts + 1)
        return Claim(row, event, started=start)

    async def start(self, claim: Claim, owner: str, now: int, lease: int) -> bool:
        async with self.link.use() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE deliveries SET sending_since = %s, attempts = attempts + 1,"
                " lease_until = %s, updated_at = %s WHERE id = %s AND lease_owner = %s",
                (now, now + lease, now, claim.row.id, owner),
            )
            return cur.rowcount == 1

    async def renew(self, claim: Claim, owner: str, until: int) -> bool:
        async with self.link.use() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE deliveries SET lease_until = %s WHERE id = %s AND lease_owner = %s",
                (until, claim.row.id, owner),
            )
            return cur.rowcount == 1

    async def release(self, claim: Claim, owner: str) -> None:
        undo = claim.started
        async with self.link.use() as conn, conn.transaction():
            await conn.execute(
                "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL,"
                " sending_since = CASE WHEN %s THEN NULL ELSE sending_since END,"
                " attempts = attempts - %s WHERE id = %s AND lease_owner = %s",
                (undo, int(undo), claim.row.id, owner),
            )

    async def finish(
        self, claim: Claim, owner: str, outcome: Finish, commands: Sequence[Command]
    ) -> bool:
        from warroom.core.commands import CommandError

        head: int | None = None
        async with self.link.use() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE deliveries SET state = %s, next_at = %s, ref = %s, permalink = %s,"
                " extra = %s, reason = %s, reported = coalesce(%s, reported), updated_at = %s,"
                " sent_at = CASE WHEN %s = 'sent' THEN %s ELSE sent_at END,"
                " lease_owner = NULL, lease_until = NULL,"
                " sending_since = CASE WHEN %s THEN sending_since ELSE NULL END"
                " WHERE id = %s AND lease_owner = %s",
                (
                    outcome.state,
                    outcome.next_at,
                    outcome.ref,
                    outcome.permalink,
                    Jsonb(outcome.extra),
                    outcome.reason,
                    outcome.reported,
                    outcome.now,
                    outcome.state,
                    outcome.now,
                    outcome.unknown,
                    claim.row.id,
                    owner,
                ),
            )
            if cur.rowcount != 1:
                return False
            if outcome.pause_until is not None:
                await conn.execute(
                    "UPDATE delivery_channels SET next_at = greatest(next_at, %s) WHERE name = %s",
                    (outcome.pause_until, claim.row.channel),
                )
            if commands:
                try:
                    async with conn.transaction():  # a savepoint: a refusal keeps the outcome
                        _, head = await self.db._execute_in(
                            conn, claim.event.incident_id, commands, self.actor, _moment()
                        )
                except CommandError as exc:
                    log.warning("delivery: result not recorded: %s", exc)
        if head is not None:
            self.backend.notifier.advance(head)
        return True

    async def previous(self, incident_id: str, channel: str, position: str) -> list[Row]:
        async with self.link.use() as conn, conn.transaction():
            cur = await conn.execute(
                f"SELECT {COLUMNS} FROM deliveries d WHERE incident_id = %s AND channel = %s"
                " AND state = 'sent' AND position < %s ORDER BY position",
                (incident_id, channel, position),
            )
            return [row_of(values) for values in await cur.fetchall()]

    async def event(self, event_id: str) -> Event | None:
        async with self.link.use() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT id, incident_id, device_id, hlc, actor, kind, payload FROM events"
                " WHERE id = %s",
                (event_id,),
            )
            values = await cur.fetchone()
        return event_of(values) if values else None

    async def rows(self, *, states: Sequence[str] = (), limit: int = 1000) -> list[Row]:
        where = " WHERE d.state = ANY(%s)" if states else ""
        args: list[Any] = [list(states)] if states else []
        async with self.link.use() as conn, conn.transaction():
            cur = await conn.execute(
                f"SELECT {COLUMNS}, e.kind FROM deliveries d"
                f" LEFT JOIN events e ON e.id = d.event_id{where}"
                " ORDER BY d.position, d.channel LIMIT %s",
                [*args, limit],
            )
            return [row_of(values[:19], values[19] or "") for values in await cur.fetchall()]

    async def retry(self, row_id: int, now: int, *, resend: bool = False) -> Row | None:
        async with self.link.use() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE deliveries SET state = 'pending', next_at = %s, reason = '',"
                " reported = '', updated_at = %s,"
                " sending_since = CASE WHEN %s THEN NULL ELSE sending_since END"
                f" WHERE id = %s AND state IN ('failed', 'retrying') RETURNING {COLUMNS}",
                (now, now, resend, row_id),
            )
            values = await cur.fetchone()
        return row_of(values) if values else None

    async def counts(self) -> dict[tuple[str, str], int]:
        async with self.link.use() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT channel, state, count(*) FROM deliveries GROUP BY 1, 2"
            )
            return {(channel, state): n for channel, state, n in await cur.fetchall()}


def queue_for(backend: Backend) -> Queue:
    """The delivery queue in this backend's database."""
    from warroom.server.postgres_backend import PostgresBackend
    from warroom.server.sqlite_backend import SqliteBackend

    if isinstance(backend, PostgresBackend):
        return PostgresServerQueue(backend)
    if isinstance(backend, SqliteBackend):
        return SqliteServerQueue(backend)
    raise TypeError(f"no delivery queue for {type(backend).__name__}")


async def deliver(
    backend: Backend, channels: Sequence[Channel], timing: Timing | None = None
) -> None:
    """Run the delivery engine for the server's lifetime (a task `create_app` starts)."""
    from warroom.delivery.engine import Engine, owner_id

    queue = queue_for(backend)
    engine = Engine(
        queue, channels, owner=f"server-{backend.server_id}:{owner_id()}", timing=timing
    )
    try:
        await engine.run()
    except Exception:
        log.exception("delivery stopped")  # the API goes on; a restart resumes the queue
        raise
    finally:
        if isinstance(queue, PostgresServerQueue):
            with suppress(Exception):
                await queue.close()
