"""The click group and its global options.

Subcommands are loaded when they are named (`LazyGroup`): the bare `warroom` opens the
console without importing what `warroom note` needs (the command layer loads pydantic, the
server commands fastapi), and each command pays only for itself.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Unpack

import click

from warroom import __version__
from warroom.cli.console import KubeFlags, kube_options, kube_target, open_console
from warroom.cli.context import Ctx, common_options

COMMANDS: dict[str, str] = {
    "declare": "incident:declare",
    "note": "incident:note",
    "status": "incident:status",
    "severity": "incident:severity",
    "assign": "incident:assign",
    "release": "incident:release",
    "milestone": "incident:milestone",
    "action-item": "incident:action_item",
    "update": "incident:update",
    "check": "incident:check",
    "postmortem": "incident:postmortem",
    "title": "incident:title",
    "impact": "incident:impact",
    "list": "show:list_",
    "show": "show:show",
    "export": "porting:export",
    "import": "porting:import_",
    "serve": "sync_cmds:serve",
    "token": "sync_cmds:token",
    "sync": "sync_cmds:sync",
    "sim": "kube_cmds:sim",
    "alerts": "alerts_cmds:alerts",
    "attach": "alerts_cmds:attach",
    "channels": "delivery_cmds:channels",
    "deliver": "delivery_cmds:deliver",
    "deliveries": "delivery_cmds:deliveries",
}
"""Subcommand name -> `module:attribute` under warroom.cli, imported on first use."""


class LazyGroup(click.Group):
    """A group whose commands are imported when named (click's documented lazy pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = COMMANDS[cmd_name].partition(":")
        command: click.Command = getattr(
            importlib.import_module(f"warroom.cli.{module}"), attribute
        )
        self.add_command(common_options(command), cmd_name)
        return command


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="WARROOM_DB",
    help="Event log database (env WARROOM_DB; default: your data dir).",
)
@click.option(
    "--as", "user", metavar="NAME", envvar="WARROOM_USER", help="Who is acting (env WARROOM_USER)."
)
@click.option(
    "--incident",
    "-i",
    "incident_ref",
    metavar="ID",
    help="Incident id (or a unique prefix/suffix); default: the latest open one.",
)
@click.version_option(__version__, prog_name="warroom")
@kube_options
@click.pass_context
def cli(
    click_ctx: click.Context,
    /,
    db: Path | None,
    user: str | None,
    incident_ref: str | None,
    **kube: Unpack[KubeFlags],
) -> None:
    """warroom: the incident war-room console.

    Run without a command to open the console on the latest open incident
    (or pick one, or declare one when there is none).
    """
    ctx = Ctx(db=db, user=user, incident_ref=incident_ref)
    click_ctx.obj = ctx
    click_ctx.call_on_close(ctx.close)
    if click_ctx.invoked_subcommand is None:
        open_console(ctx, incident_ref, kube_target(**kube))


@click.command("open")
@click.argument("incident_ref", metavar="ID")
@kube_options
@click.pass_obj
def open_(ctx: Ctx, /, incident_ref: str, **kube: Unpack[KubeFlags]) -> None:
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
        from warroom.cli.show import show

        click.get_current_context().invoke(show)


for command in [demo, open_]:
    cli.add_command(common_options(command))
