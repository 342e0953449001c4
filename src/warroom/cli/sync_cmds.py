"""`serve`, `token` and `sync`: the shared API and offline-first sync.

fastapi, uvicorn, psycopg and httpx are imported inside the commands, so that `warroom note`
does not pay for them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import platformdirs

from warroom.cli.context import Ctx, Failure, pass_ctx
from warroom.config import APP

if TYPE_CHECKING:
    from warroom.core.public import PageSettings
    from warroom.delivery.channel import Channel
    from warroom.server.backend import Backend
    from warroom.sync.engine import Syncer

T = TypeVar("T")


class _ServerSide:
    """For commands run where the server's database is: the CLI-wide `--db` and `--as` name the
    local event log and the actor, which they do not use (`--db` names the server's database)."""

    _params: list[click.Parameter]

    @property
    def params(self) -> list[click.Parameter]:
        return self._params

    @params.setter
    def params(self, value: list[click.Parameter]) -> None:
        self._params = [p for p in value if p.expose_value]


class ServerCommand(_ServerSide, click.Command):
    pass


class ServerGroup(_ServerSide, click.Group):
    pass


def database_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--database-url",
        envvar="WARROOM_DATABASE_URL",
        metavar="URL",
        help="PostgreSQL database (postgresql://...), which several servers can share"
        " (env WARROOM_DATABASE_URL).",
    )(command)
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="WARROOM_SERVER_DB",
        help="The server's SQLite file (env WARROOM_SERVER_DB; default: server.db in your data"
        " dir).",
    )(command)


def _backend(db: Path | None, database_url: str | None) -> Backend:
    """The server's database, judging its own commands by the config file's policy."""
    from warroom.config import ConfigError, load_settings
    from warroom.server.backend import open_backend

    if db and database_url:
        raise click.UsageError("give --db or --database-url, not both")
    try:
        policy = load_settings().policy
    except ConfigError as exc:
        raise Failure(str(exc)) from None
    path = db or Path(platformdirs.user_data_dir(APP)) / "server.db"
    return open_backend(str(path), database_url, policy)


def _with_backend(
    db: Path | None, database_url: str | None, action: Callable[[Backend], Awaitable[T]]
) -> T:
    """Open the server's database, do one thing, close it; errors as one line."""
    from warroom.server.auth import TokenError
    from warroom.server.backend import Unavailable

    backend = _backend(db, database_url)

    async def run() -> T:
        await backend.open()
        try:
            return await action(backend)
        finally:
            await backend.close()

    try:
        return asyncio.run(run())
    except (TokenError, Unavailable) as exc:
        raise Failure(str(exc)) from None


@click.command(cls=ServerCommand)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535))
@database_options
@click.option("--ssl-certfile", type=click.Path(exists=True, dir_okay=False), help="TLS chain.")
@click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False), help="TLS key.")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="warning",
    show_default=True,
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(0.1, 600),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How long a client may take to send a request's head, and each piece of its body;"
    " slower connections are closed.",
)
def serve(
    host: str,
    port: int,
    db: Path | None,
    database_url: str | None,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    log_level: str,
    request_timeout: float,
) -> None:
    """Run the shared sync API.

    For HTTPS give --ssl-certfile and --ssl-keyfile (uvicorn's TLS); clients trust a private
    CA through SSL_CERT_FILE. The API and its OpenAPI spec live under /v1 (docs: /v1/docs).
    Connections still sending their request are capped (per address and in all, from the
    open-files limit, which the server raises as far as allowed) and must finish in time.
    With `[channels.NAME]` tables in its config file, the server delivers updates to them.
    """
    from warroom.server import serving
    from warroom.server.api import create_app
    from warroom.sync.protocol import API

    if bool(ssl_certfile) != bool(ssl_keyfile):
        raise click.UsageError("TLS needs both --ssl-certfile and --ssl-keyfile")
    _with_backend(db, database_url, _noop)  # a bad path or URL: one line now, not a traceback
    background, channels = _delivery()
    app = create_app(
        _backend(db, database_url),
        status_page=_status_page(),
        background=background,
        channels=channels,
    )
    scheme = "https" if ssl_certfile else "http"
    store = "PostgreSQL" if database_url else str(db or "server.db in your data dir")
    click.echo(f"warroom sync API on {scheme}://{host}:{port}{API} ({store})", err=True)
    click.echo(f"public status page on {scheme}://{host}:{port}/status", err=True)
    serving.run(
        app,
        host=host,
        port=port,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        log_level=log_level,
        timeout=request_timeout,
    )


def _status_page() -> PageSettings:
    """The config's `[status_page]` (title, components), for `/status`."""
    from warroom.config import ConfigError, load_settings

    try:
        return load_settings().status_page
    except ConfigError as exc:
        raise Failure(str(exc)) from None


async def _noop(_backend: Backend) -> None:
    return None


def _delivery() -> tuple[list[Callable[[Backend], Coroutine[Any, Any, None]]], list[Channel]]:
    """The delivery engine and its channels, when the config file has channels: the server
    holds their secrets and delivers. A bad channel is one line now, before the server
    starts."""
    from warroom.config import ConfigError, load_settings
    from warroom.delivery.config import delivery_config, load_channels

    try:
        channels = load_channels(policy=load_settings().policy)
        timing = delivery_config().timing()
    except ConfigError as exc:
        raise Failure(str(exc)) from None
    if not channels:
        return [], []
    from warroom.server.deliveries import deliver

    click.echo(f"delivering to {', '.join(c.name for c in channels)}", err=True)

    async def run(backend: Backend) -> None:
        await deliver(backend, channels, timing)

    return [run], channels


@click.group(cls=ServerGroup)
def token() -> None:
    """Create, list and revoke the server's bearer tokens (where its database is)."""


@token.command()
@click.argument("name")
@click.option(
    "--alerts",
    "for_alerts",
    is_flag=True,
    help="A token for monitoring: it posts alerts (Alertmanager, Grafana) and nothing else.",
)
@database_options
def create(name: str, for_alerts: bool, db: Path | None, database_url: str | None) -> None:
    """Create a token for NAME (a person or a laptop); prints it once, on the last line.

    With --alerts, a token for Alertmanager or Grafana: it can post alerts to
    /v1/alerts/alertmanager or /v1/alerts/grafana and nothing else (it cannot read or write
    incidents), and a client's token cannot post alerts.
    """
    from warroom.server.auth import ALERTS, CLIENT

    scope = ALERTS if for_alerts else CLIENT
    made, secret = _with_backend(
        db, database_url, lambda backend: backend.create_token(name, scope)
    )
    what = "alert token" if for_alerts else "token"
    click.echo(f"{what} {made.id} for {name!r}; it is shown only now, keep it secret:")
    click.echo(secret)


@token.command("list")
@database_options
def list_(db: Path | None, database_url: str | None) -> None:
    """List the tokens: id, name, scope (client or alerts), the device each serves, created,
    revoked."""
    tokens = _with_backend(db, database_url, lambda backend: backend.tokens())
    if not tokens:
        click.echo("no tokens yet: `warroom token create NAME`", err=True)
        return
    click.echo(f"{'ID':<9} {'NAME':<20} {'SCOPE':<7} {'DEVICE':<27} {'CREATED':<17} REVOKED")
    for t in tokens:
        click.echo(
            f"{t.id:<9} {t.name[:20]:<20} {t.scope:<7} {t.device_id or '-':<27}"
            f" {_when(t.created_at):<17} {_when(t.revoked_at) if t.revoked_at else '-'}"
        )


@token.command()
@click.argument("ref", metavar="ID_OR_NAME")
@database_options
def revoke(ref: str, db: Path | None, database_url: str | None) -> None:
    """Revoke a live token: it is refused from the next request on."""
    revoked = _with_backend(db, database_url, lambda backend: backend.revoke_token(ref))
    if not revoked:
        raise Failure(f"no live token has the id or name {ref!r} (see `warroom token list`)")
    for t in revoked:
        click.echo(f"revoked token {t.id} ({t.name})")


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


@click.command()
@click.option("--once", "mode", flag_value="once", default=True, help="Sync and exit (default).")
@click.option("--watch", "mode", flag_value="watch", help="Keep syncing; print status changes.")
@pass_ctx
def sync(ctx: Ctx, mode: str) -> None:
    """Push local events to the shared server and pull everyone else's.

    Exits 0 when in sync; otherwise 1, with the reason. The server and token come from
    WARROOM_SERVER and WARROOM_TOKEN, or `server` and `token` in the config file.
    """
    syncer = _syncer(ctx)
    if mode == "watch":
        _watch(syncer, ctx)
        return
    status = asyncio.run(syncer.sync_once())
    if not status.in_sync:
        pending = f"; {status.pending} events not pushed" if status.pending else ""
        raise Failure(f"not in sync with {syncer.server}: {status.reason}{pending}")
    click.echo(
        f"in sync with {syncer.server}: pushed {status.pushed}, pulled {status.pulled} events"
    )


def _syncer(ctx: Ctx) -> Syncer:
    from warroom.sync.engine import Syncer

    settings = ctx.settings
    if not settings.server:
        raise Failure("no server: set WARROOM_SERVER or `server` in the config file")
    if not settings.token:
        raise Failure(
            "no token: set WARROOM_TOKEN or `token` in the config file"
            " (the server's admin makes one with `warroom token create NAME`)"
        )
    return Syncer(ctx.log, settings.server, settings.token)


def _watch(syncer: Syncer, ctx: Ctx) -> None:
    """Sync in the background until Ctrl+C, printing the header's sync state whenever it
    changes. The loops run in the syncer's own thread, so Ctrl+C always ends this process:
    stopping them is bounded (it took over 30 s once, under load, when the loops ran here)."""
    tz = ctx.settings.tz
    shown = ""
    syncer.start()
    try:
        while True:
            label = syncer.status().label(tz)
            if label != shown:
                click.echo(f"{ctx.now().astimezone(tz):%H:%M:%S} {label}", err=True)
                shown = label
            time.sleep(0.5)  # how often the state is looked at, not a wait for it
    finally:
        if not syncer.stop(timeout=5.0):
            click.echo("warroom: sync was still finishing a request; stopped anyway", err=True)


COMMANDS: list[click.Command] = [serve, token, sync]
