"""`channels`, `deliver` and `deliveries`: updates that reach people.

Channels are `[channels.NAME]` tables of the config file (`warroom.delivery.config`).
Whoever holds them delivers: `warroom serve` in a team, else this machine (`warroom deliver`,
or the console in the background). The engine, httpx and the server's backends are
imported inside the commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Coroutine, Sequence
from contextlib import suppress
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from warroom.cli.context import Ctx, Failure, pass_ctx
from warroom.cli.show import local, to_json
from warroom.config import ConfigError, config_path
from warroom.core.describe import label
from warroom.core.text import one_line

if TYPE_CHECKING:
    from warroom.delivery.channel import Channel
    from warroom.delivery.engine import Engine, Result
    from warroom.delivery.queue import Queue
    from warroom.store.deliveries import Row

T = TypeVar("T")
ACTOR = "delivery"
"""Who this machine records delivery results as (the server does the same)."""


def _channels(ctx: Ctx) -> list[Channel]:
    from warroom.delivery.config import load_channels

    try:
        channels = load_channels(policy=ctx.policy)
    except ConfigError as exc:
        raise Failure(str(exc)) from None
    if not channels:
        raise Failure(f"no channels: add a [channels.NAME] table to {config_path()}")
    return channels


def _when(ms: int | None, tz: tzinfo) -> str:
    if not ms:
        return "—"
    return local(datetime.fromtimestamp(ms / 1000, UTC), tz)


def _iso(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms else None


# -- channels -----------------------------------------------------------------------------------


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
@click.pass_context
def channels(click_ctx: click.Context, ctx: Ctx, as_json: bool) -> None:
    """List the configured channels: name, kind, audiences, lifecycle events, health.

    A channel is a `[channels.NAME]` table in the config file (kind = slack, webhook, email,
    statuspage or pagerduty). Exits 1 if any channel's table is unusable.
    """
    if click_ctx.invoked_subcommand is not None:
        return
    from warroom.delivery.config import build, channel_tables

    try:
        tables = channel_tables()
    except ConfigError as exc:
        raise Failure(str(exc)) from None
    counts = _local_counts(ctx)
    rows: list[dict[str, Any]] = []
    errors = []
    for name, table in tables.items():
        try:
            channel = build(name, table, ctx.policy)
        except ConfigError as exc:
            errors.append(str(exc))
            kind = table.get("kind")
            rows.append(
                {
                    "name": name,
                    "kind": kind if isinstance(kind, str) else None,
                    "audiences": [],
                    "on": [],
                    "health": f"error: {exc}",
                    "ok": False,
                }
            )
            continue
        queued = {state: n for (ch, state), n in counts.items() if ch == name}
        health = channel.health()
        if queued:
            health += " · " + ", ".join(f"{n} {s}" for s, n in sorted(queued.items()))
        rows.append(
            {
                "name": name,
                "kind": channel.kind,
                "audiences": sorted(channel.audiences),
                "on": sorted(channel.on),
                "health": health,
                "ok": True,
                "deliveries": queued,
            }
        )
    if as_json:
        click.echo(to_json(rows))
    elif not rows:
        click.echo(f"no channels: add a [channels.NAME] table to {config_path()}")
    else:
        from warroom.cells import cut, fit
        from warroom.core.deliveries import LIFECYCLE
        from warroom.core.policy import AUDIENCES

        click.echo(f"{'NAME':20}  {'KIND':10}  {'AUDIENCES':28}  {'ON':28}  HEALTH")
        for row in rows:
            click.echo(
                f"{fit(row['name'], 20)}  {fit(row['kind'] or '?', 10)}  "
                f"{fit(_listed(row['audiences'], AUDIENCES), 28)}  "
                f"{fit(_listed(row['on'], LIFECYCLE), 28)}  {cut(one_line(row['health']), 80)}"
            )
    if errors:
        raise Failure(errors[0])


def _listed(values: Collection[str], every: Collection[str]) -> str:
    if not values:
        return "—"
    return "all" if set(values) >= set(every) else ",".join(values)


def _local_counts(ctx: Ctx) -> dict[tuple[str, str], int]:
    """The local queue's counts, when this machine delivers (no server configured)."""
    if ctx.settings.server:
        return {}
    try:
        return ctx.log.deliveries.counts()
    except Exception:
        return {}


@channels.command("test")
@click.argument("name")
@pass_ctx
def test_(ctx: Ctx, name: str) -> None:
    """Send a test message to the channel NAME."""
    from warroom.delivery.channel import DeliveryError
    from warroom.delivery.config import build, channel_tables

    try:
        tables = channel_tables()
    except ConfigError as exc:
        raise Failure(str(exc)) from None
    if name not in tables:
        known = ", ".join(tables) or "none configured"
        raise Failure(f"no channel named {name!r} (channels: {known})")
    try:
        channel = build(name, tables[name], ctx.policy)
    except ConfigError as exc:
        raise Failure(str(exc)) from None
    try:
        delivered = channel.test()
    except DeliveryError as exc:
        raise Failure(f"{name}: test message not delivered: {exc.reason}") from None
    where = f" ({one_line(delivered.permalink)})" if delivered.permalink else ""
    click.echo(f"{name}: test message delivered, ref {one_line(delivered.ref)}{where}")


# -- deliver ------------------------------------------------------------------------------------


def _engine(ctx: Ctx, channels: Sequence[Channel], on_result: Any = None) -> Engine:
    from warroom.delivery.config import delivery_config
    from warroom.delivery.engine import Engine
    from warroom.delivery.queue import LocalQueue

    try:
        timing = delivery_config().timing()
    except ConfigError as exc:
        raise Failure(str(exc)) from None
    return Engine(LocalQueue(ctx.log, ACTOR), channels, timing=timing, on_result=on_result)


@click.command()
@click.option("--once", "mode", flag_value="once", default=True, help="Deliver what is due, exit.")
@click.option("--watch", "mode", flag_value="watch", help="Keep delivering until interrupted.")
@click.option("--dry-run", "mode", flag_value="dry-run", help="Print each request; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: the requests as JSON.")
@pass_ctx
def deliver(ctx: Ctx, mode: str, as_json: bool) -> None:
    """Deliver updates and lifecycle events to the configured channels, from this machine.

    --once (the default) exits 0 only when nothing is left undelivered. When a server is
    configured, it delivers (with the channels in its own config file), not this machine.
    """
    if ctx.settings.server and mode != "dry-run":
        raise Failure(
            f"a server is configured ({ctx.settings.server}): it delivers with the channels of"
            " its own config; `warroom deliver` is for a warroom without a server"
        )
    channels = _channels(ctx)
    tz = ctx.settings.tz

    def report(result: Result) -> None:
        moment = local(datetime.fromtimestamp(result.at, UTC), tz)
        what = f"{label(result.kind)} {result.event_id[-6:]}"
        if result.state == "sent":
            ref = f" ({one_line(result.ref, 60)})" if result.ref else ""
            click.echo(f"{moment}  sent      {result.channel}: {what}{ref}")
        else:
            again = ""
            if result.next_at is not None:
                again = f"; next try {local(datetime.fromtimestamp(result.next_at, UTC), tz)}"
            click.echo(
                f"{moment}  {result.state:9} {result.channel}: {what}:"
                f" {one_line(result.reason, 200)}{again}",
                err=True,
            )

    _quiet_logs()
    engine = _engine(ctx, channels, report)
    if mode == "dry-run":
        _dry_run(engine, as_json)
        return
    if mode == "watch":
        click.echo(f"delivering to {', '.join(engine.channels)} (Ctrl+C stops)", err=True)
        with suppress(KeyboardInterrupt):
            asyncio.run(engine.run())
        return
    from warroom.delivery.engine import summary_line
    from warroom.store import StoreError

    try:
        counts = asyncio.run(engine.once())
    except StoreError as exc:
        raise Failure(str(exc)) from None
    left = engine.undelivered(counts)
    line = summary_line(counts, engine.channels)
    if left:
        raise Failure(f"{left} not delivered ({line}): see `warroom deliveries`")
    click.echo(line)


def _quiet_logs() -> None:
    """Outcomes are printed by `report`; the engine's log says them again only when
    debugging (WARROOM_DEBUG=1)."""
    import logging
    import os

    logger = logging.getLogger("warroom.delivery")
    if os.environ.get("WARROOM_DEBUG") == "1":
        logging.basicConfig(level=logging.INFO)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # its lines hold whole URLs
        return
    logger.addHandler(logging.NullHandler())
    logger.propagate = False


def _dry_run(engine: Engine, as_json: bool) -> None:
    previews = asyncio.run(engine.dry_run())
    if as_json:
        click.echo(
            to_json(
                [
                    {
                        "channel": p.channel,
                        "kind": p.kind,
                        "event_id": p.event.id,
                        "event_kind": p.event.kind,
                        "error": p.error or None,
                        "requests": [
                            {
                                "method": r.method,
                                "url": r.url,
                                "headers": dict(r.headers),
                                "body": r.body,
                            }
                            for r in p.requests
                        ],
                    }
                    for p in previews
                ]
            )
        )
        return
    if not previews:
        click.echo("nothing to deliver")
        return
    for p in previews:
        click.echo(f"== {p.channel} ({p.kind}) · {label(p.event.kind)} {p.event.id}")
        if p.error:
            click.echo(f"   cannot show it: {one_line(p.error)}")
        for r in p.requests:
            click.echo(f"{r.method} {one_line(r.url)}")
            for key, value in r.headers.items():
                click.echo(f"{one_line(key)}: {one_line(value)}")
            click.echo("")
            click.echo(r.body.translate(_CONTROLS))
        click.echo("")


_CONTROLS = {c: f"\\x{c:02x}" for c in range(32) if c not in (9, 10)} | {127: "\\x7f"}
"""A body is printed as sent, except what a terminal would act on."""


# -- deliveries ---------------------------------------------------------------------------------


def _server_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--database-url",
        envvar="WARROOM_DATABASE_URL",
        metavar="URL",
        help="The server's PostgreSQL database: its deliveries, not this machine's.",
    )(command)
    return click.option(
        "--server-db",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The server's SQLite file: its deliveries, not this machine's.",
    )(command)


def _on_queue(
    ctx: Ctx,
    server_db: Path | None,
    database_url: str | None,
    action: Callable[[Queue], Coroutine[Any, Any, T]],
) -> T:
    """Run `action` on the local queue, or the server's when its database is named."""
    from warroom.delivery.queue import LocalQueue

    if server_db and database_url:
        raise click.UsageError("give --server-db or --database-url, not both")
    if not (server_db or database_url):
        return asyncio.run(action(LocalQueue(ctx.log, ACTOR)))
    from warroom.server.backend import Unavailable, open_backend
    from warroom.server.deliveries import queue_for

    backend = open_backend(str(server_db) if server_db else None, database_url)

    async def run() -> T:
        await backend.open()
        queue = queue_for(backend)
        try:
            return await action(queue)
        finally:
            close = getattr(queue, "close", None)
            if close is not None:
                await close()
            await backend.close()

    try:
        return asyncio.run(run())
    except Unavailable as exc:
        raise Failure(str(exc)) from None


def _row_data(row: Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "channel": row.channel,
        "event_id": row.event_id,
        "event_kind": row.event_kind,
        "incident_id": row.incident_id,
        "state": row.state,
        "attempts": row.attempts,
        "next_attempt_at": _iso(row.next_at) if row.state in ("pending", "retrying") else None,
        "outcome_unknown": row.sending_since is not None and row.state != "sent",
        "ref": row.ref,
        "permalink": row.permalink,
        "reason": row.reason,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "sent_at": _iso(row.sent_at),
    }


STATES = ("pending", "sent", "retrying", "failed")


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--state", "states", multiple=True, type=click.Choice(STATES), help="Only these states."
)
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@_server_options
@pass_ctx
@click.pass_context
def deliveries(
    click_ctx: click.Context,
    ctx: Ctx,
    as_json: bool,
    states: tuple[str, ...],
    limit: int,
    server_db: Path | None,
    database_url: str | None,
) -> None:
    """List deliveries (event x channel): state, attempts, remote reference, times.

    This machine's, or with --server-db / --database-url the server's.
    """
    if click_ctx.invoked_subcommand is not None:
        return
    rows = _on_queue(
        ctx, server_db, database_url, lambda queue: queue.rows(states=states, limit=limit)
    )
    if as_json:
        click.echo(to_json([_row_data(row) for row in rows]))
        return
    if not rows:
        click.echo("no deliveries yet")
        return
    from warroom.cells import cut, fit

    tz = ctx.settings.tz
    click.echo(
        f"{'ID':>6}  {'CHANNEL':16}  {'EVENT':18}  {'STATE':8}  {'TRIES':>5}  "
        f"{'UPDATED':24}  REF / REASON"
    )
    for row in rows:
        event = f"{label(row.event_kind)} {row.event_id[-6:]}"
        said = row.ref if row.state == "sent" else row.reason
        if row.state == "retrying":
            said = f"next {_when(row.next_at, tz)}: {said}"
        click.echo(
            f"{row.id:>6}  {fit(row.channel, 16)}  {fit(event, 18)}  {fit(row.state, 8)}  "
            f"{row.attempts:>5}  {fit(_when(row.updated_at, tz), 24)}  {cut(one_line(said), 70)}"
        )


@deliveries.command()
@click.argument("row_id", metavar="ID", type=click.IntRange(1, 2**62))
@click.option(
    "--resend",
    is_flag=True,
    help="Send again without first asking the channel whether an earlier attempt arrived"
    " (when asking keeps failing; the remote may then get it twice).",
)
@_server_options
@pass_ctx
def retry(
    ctx: Ctx, row_id: int, resend: bool, server_db: Path | None, database_url: str | None
) -> None:
    """Try a failed (or retrying) delivery again now."""
    now = int(datetime.now(UTC).timestamp() * 1000)
    row = _on_queue(
        ctx, server_db, database_url, lambda queue: queue.retry(row_id, now, resend=resend)
    )
    if row is None:
        raise Failure(
            f"no failed or retrying delivery {row_id} (see `warroom deliveries --state failed`)"
        )
    click.echo(f"delivery {row.id} to {row.channel} will be tried again now")


COMMANDS: list[click.Command] = [channels, deliver, deliveries]
