"""What every command shares: settings, the policy, the event log, the acting incident."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from warroom.config import ConfigError, Settings, load_settings
from warroom.core.events import Event, PayloadError
from warroom.core.policy import Policy
from warroom.core.state import IncidentState
from warroom.store import EventLog, StoreError

if TYPE_CHECKING:
    from warroom.core.commands import Command

C = TypeVar("C", bound="Command")


class Failure(click.ClickException):
    """A user-facing error: printed as one line, exit status 1."""


@dataclass
class Ctx:
    db: Path | None
    user: str | None
    incident_ref: str | None = None
    """`-i/--incident` given before the command (after it, the command passes its own)."""
    _settings: Settings | None = None
    _log: EventLog | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(db=self.db, user=self.user)
            except ConfigError as exc:
                raise Failure(str(exc)) from None
        return self._settings

    @property
    def policy(self) -> Policy:
        return self.settings.policy

    @property
    def log(self) -> EventLog:
        if self._log is None:
            try:
                settings = self.settings
                self._log = EventLog(settings.db_path, policy=settings.policy, tz=settings.tz)
            except StoreError as exc:
                raise Failure(str(exc)) from None
        return self._log

    @property
    def actor(self) -> str:
        return self.settings.actor

    def now(self) -> datetime:
        return datetime.now(UTC)

    def incident(self, ref: str | None) -> str:
        """The incident a command acts on: the given one, else the latest open one."""
        ref = ref or self.incident_ref
        try:
            if ref:
                return self.log.timeline.resolve(ref)
        except StoreError as exc:
            raise Failure(str(exc)) from None
        latest = self.log.latest_open()
        if latest is None:
            ids = self.log.timeline.incident_ids()
            if not ids:
                raise Failure("no incident yet: declare one with `warroom declare TITLE`")
            latest = ids[0]
            click.echo(f"(no open incident: acting on the latest, {latest}, resolved)", err=True)
        return latest

    def state(self, incident_id: str) -> IncidentState:
        return self.log.state(incident_id)

    def run(self, incident_id: str | None, *commands: Command) -> list[Event]:
        """Carry out commands on an incident (None: declare a new one); refusals are one
        line and change nothing."""
        from warroom.core.commands import CommandError, Declare

        try:
            if incident_id is None:
                declare, *also = commands
                assert isinstance(declare, Declare)
                return self.log.declare(declare, self.actor, also=also, now=self.now())
            return self.log.execute(incident_id, commands, self.actor, now=self.now())
        except (CommandError, PayloadError, StoreError) as exc:
            raise Failure(str(exc)) from None

    def close(self) -> None:
        if self._log is not None:
            self._log.close()


pass_ctx = click.make_pass_decorator(Ctx)


def build(kind: type[C], /, **fields: Any) -> C:
    """A typed command from option values; a bad value is a one-line Failure."""
    from warroom.core.commands import CommandError, make

    try:
        return make(kind, **fields)
    except CommandError as exc:
        raise Failure(str(exc)) from None


def _set(attr: str) -> Callable[[click.Context, click.Parameter, object], None]:
    def callback(click_ctx: click.Context, _param: click.Parameter, value: object) -> None:
        if value is not None:
            setattr(click_ctx.find_object(Ctx), attr, value)

    return callback


def common_options(command: click.Command) -> click.Command:
    """`--db` and `--as` also after the subcommand, where people type them."""
    command.params += [
        click.Option(
            ["--db"],
            type=click.Path(dir_okay=False, path_type=Path),
            expose_value=False,
            callback=_set("db"),
            help="Event log database (env WARROOM_DB).",
        ),
        click.Option(
            ["--as", "user"],
            metavar="NAME",
            expose_value=False,
            callback=_set("user"),
            help="Who is acting (env WARROOM_USER).",
        ),
    ]
    return command


incident_option = click.option(
    "--incident",
    "-i",
    "incident_ref",
    metavar="ID",
    help="Incident id (or a unique prefix/suffix); default: the latest open incident.",
)
