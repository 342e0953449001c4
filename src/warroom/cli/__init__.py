"""The `warroom` command: the console when run bare, scriptable subcommands otherwise.

Errors are one line on stderr and a non-zero exit, never a traceback (set WARROOM_DEBUG=1 to
see one). Heavy modules (Textual, the kubernetes client) are imported only by the commands
that need them, so `warroom note ...` stays quick.
"""

from __future__ import annotations

import os
import sys

import click

from warroom.cli.app import cli


def main(argv: list[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="warroom", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("warroom: aborted", err=True)
        code = 130
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        click.echo(f"warroom: {exc.format_message()}{hint}", err=True)
        code = 2
    except click.ClickException as exc:
        click.echo(f"warroom: error: {exc.format_message()}", err=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        if os.environ.get("WARROOM_DEBUG"):
            raise
        click.echo(f"warroom: internal error: {type(exc).__name__}: {exc}", err=True)
        code = 70
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["cli", "main"]
