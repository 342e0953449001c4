"""The click group and its global options."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from warroom import __version__
from warroom.cli import incident, kube_cmds, porting, show, sync_cmds
from warroom.cli.console import kube_options, kube_target, open_console
from warroom.cli.context import Ctx, common_options


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
@kube_options
@click.pass_context
def cli(click_ctx: click.Context, db: Path | None, user: str | None, **kube: object) -> None:
    """warroom: the incident war-room console.

    Run without a command to open the console on the latest open incident
    (or pick one, or declare one when there is none).
    """
    ctx = Ctx(db=db, user=user)
    click_ctx.obj = ctx
    click_ctx.call_on_close(ctx.close)
    if click_ctx.invoked_subcommand is None:
        open_console(ctx, None, kube_target(**kube))


@click.command("open")
@click.argument("incident_ref", metavar="ID")
@kube_options
@click.pass_obj
def open_(ctx: Ctx, incident_ref: str, **kube: object) -> None:
    """Open the console on one incident."""
    open_console(ctx, incident_ref, kube_target(**kube))


@click.command()
@click.pass_obj
def demo(ctx: Ctx) -> None:
    """Seed a fresh demo incident into --db (replacing it) and show it."""
    from warroom.demo import seed

    path = ctx.settings.db_path
    incident = seed(path)
    click.echo(f"demo incident written to {path}", err=True)
    if sys.stdout.isatty():
        open_console(ctx, incident, kube_target(None, None, None, None, False))
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
