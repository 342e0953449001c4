"""The click group and its global options."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from warroom import __version__
from warroom.cli import incident, kube_cmds, porting, show, sync_cmds
from warroom.cli.context import Ctx, Failure, common_options
from warroom.store import StoreError


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="WARROOM_DB",
    help="Event log database (env WARROOM_DB; default: your data dir).",
)
@click.option(
    "--as", "user", metavar="NAME", envvar="WARROOM_USER", help="Who is acting (env WARROOM_USER)."
)
@click.version_option(__version__, prog_name="warroom")
@click.pass_context
def cli(click_ctx: click.Context, db: Path | None, user: str | None) -> None:
    """warroom: the incident war-room console.

    Run without a command to open the console on the latest open incident
    (or pick one, or declare one when there is none).
    """
    ctx = Ctx(db=db, user=user)
    click_ctx.obj = ctx
    click_ctx.call_on_close(ctx.close)
    if click_ctx.invoked_subcommand is None:
        open_console(ctx, None)


def open_console(ctx: Ctx, ref: str | None) -> None:
    """Run the full-screen console (imported here: Textual is only loaded when needed)."""
    from warroom.tui.app import WarroomApp

    if not sys.stdout.isatty():
        raise Failure("the console needs a terminal; use `warroom show` in scripts")
    incident = ctx.log.resolve(ref) if ref else ctx.log.latest_open()
    WarroomApp(ctx.log, ctx.settings, incident, actor=ctx.actor).run()


@click.command("open")
@click.argument("incident_ref", metavar="ID")
@click.pass_obj
def open_(ctx: Ctx, incident_ref: str) -> None:
    """Open the console on one incident."""
    try:
        open_console(ctx, incident_ref)
    except StoreError as exc:
        raise Failure(str(exc)) from None


@click.command()
@click.pass_obj
def demo(ctx: Ctx) -> None:
    """Seed a fresh demo incident into --db (replacing it) and show it."""
    from warroom.demo import seed

    path = ctx.settings.db_path
    incident = seed(path)
    click.echo(f"demo incident written to {path}", err=True)
    if sys.stdout.isatty():
        open_console(ctx, incident)
    else:
        click.get_current_context().invoke(show.show)


for command in [
    demo,
    open_,
    *incident.COMMANDS,
    *show.COMMANDS,
    *porting.COMMANDS,
    *sync_cmds.COMMANDS,
    *kube_cmds.COMMANDS,
]:
    cli.add_command(common_options(command))
