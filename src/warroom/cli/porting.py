"""`export` (postmortem Markdown, full JSON log, CSV timeline) and `import`."""

from __future__ import annotations

import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from warroom.cli.context import Ctx, Failure, incident_option, pass_ctx
from warroom.core.export import FORMATS, from_json, to_csv, to_json, to_markdown
from warroom.core.export.jsonlog import ImportError_
from warroom.files import write_atomically
from warroom.store import StoreError


def render(ctx: Ctx, incident: str, fmt: str, tz: ZoneInfo) -> str:
    events = ctx.log.timeline.events(incident)
    if fmt == "json":
        return to_json(incident, events)
    if fmt == "csv":
        return to_csv(events, tz)
    return to_markdown(ctx.state(incident), events, ctx.policy, tz)


@click.command()
@click.argument("incident_arg", metavar="[ID]", required=False)
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File.")
@click.option("--tz", "tz_name", default=None, help="Time zone for times (default: config, UTC).")
@incident_option
@pass_ctx
def export(
    ctx: Ctx,
    incident_arg: str | None,
    fmt: str,
    output: Path | None,
    tz_name: str | None,
    incident_ref: str | None,
) -> None:
    """Export the postmortem (md), the full event log (json) or the timeline (csv)."""
    try:
        tz = ZoneInfo(tz_name) if tz_name else ctx.settings.tz
    except (ZoneInfoNotFoundError, ValueError):
        raise Failure(f"unknown time zone {tz_name!r} (try UTC or Europe/Berlin)") from None
    incident = ctx.incident(incident_arg or incident_ref)
    text = render(ctx, incident, fmt, tz)
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        return
    try:
        write_atomically(output, text)
    except OSError as exc:
        raise Failure(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {output} ({len(text.encode())} bytes)", err=True)


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def import_(ctx: Ctx, file: Path) -> None:
    """Import an incident from a JSON export (idempotent: known events are skipped)."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise Failure(f"cannot read {file}: {reason}") from None
    try:
        events = from_json(text)
    except ImportError_ as exc:
        raise Failure(f"{file}: {exc}") from None
    try:
        added = ctx.log.insert(events, outbox=True)
    except StoreError as exc:
        raise Failure(str(exc)) from None
    incident = events[0].incident_id if events else "(empty)"
    click.echo(f"imported {len(added)} new of {len(events)} events into incident {incident}")


COMMANDS = [export, import_]
