"""Channels from the config file: `[channels.NAME]` tables, validated where they are used.

    [channels.ops-hook]
    kind = "webhook"
    url = "https://hooks.example.com/warroom"
    secret_env = "OPS_HOOK_SECRET"        # or secret = "..." inline
    audiences = ["internal", "stakeholders"]
    on = ["declared", "severity", "status", "resolved"]

The console's start never pays for this (`warroom.config` keeps only the channels' names,
and never caches their tables: they hold secrets). Delivery, `warroom channels` and
`warroom serve` read the tables from the file and validate them here.

Kinds plug in by name: `KINDS` maps a kind to the module that defines it, imported only when
a channel of that kind is configured. Such a module exposes either `KIND = ChannelKind(...)`,
or `CONFIG` (the pydantic model of its whole table, `kind` included) and `build(name, config)`
(which may take the team's `policy` as a keyword). Every problem is one line naming the
channel and the key; a secret's value never appears in one.
"""

from __future__ import annotations

import importlib
import inspect
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from warroom.config import ConfigError, config_path
from warroom.core.deliveries import Route
from warroom.core.policy import Policy
from warroom.core.timeparse import parse_duration
from warroom.delivery.channel import Channel, Lifecycle

if TYPE_CHECKING:
    from warroom.delivery.engine import Timing

KINDS: dict[str, str] = {
    "slack": "warroom.delivery.slack",
    "webhook": "warroom.delivery.webhook",
    "email": "warroom.delivery.email",
    "statuspage": "warroom.delivery.statuspage",
    "pagerduty": "warroom.delivery.pagerduty",
}
"""Each kind of channel and the module that defines it (its `KIND`), imported on use."""

Audience = Literal["internal", "stakeholders", "status-page", "customers"]
ALL_AUDIENCES: tuple[Audience, ...] = ("internal", "stakeholders", "status-page", "customers")
ALL_LIFECYCLE: tuple[Lifecycle, ...] = ("declared", "severity", "status", "roles", "resolved")


class ChannelConfigError(ConfigError):
    """A channel table that cannot be used; the message names the channel and the key."""


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


def _env_name(value: str) -> str:
    if not value or not value.replace("_", "A").isalnum() or not value.isascii():
        raise ValueError("must name an environment variable (letters, digits, _)")
    return value


HttpEndpoint = Annotated[str, AfterValidator(_http_url)]
"""An endpoint URL: always overridable, so tests and compatible servers can stand in."""
EnvName = Annotated[str, AfterValidator(_env_name)]


class ChannelConfig(BaseModel):
    """What every channel table holds; a kind's model adds its endpoint and secret.

    A secret is a pair of fields: `NAME` (inline, a `SecretStr`) or `NAME_env` (the name of
    an environment variable holding it). `resolve_secret("NAME")` resolves it when the channel is
    built, so a missing variable is reported then, by name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    audiences: tuple[Audience, ...] = ()
    """The composer's audiences whose updates this channel receives."""
    on: tuple[Lifecycle, ...] = ()
    """The lifecycle events it receives: declared, severity, status, roles, resolved."""
    pace: float = Field(0.0, ge=0, le=3600)
    """Seconds between two requests to this channel (the service's rate limit)."""
    timeout: float = Field(10.0, gt=0, le=300)
    """Seconds a request may take before it counts as failed (and is retried)."""

    @model_validator(mode="after")
    def _one_source_per_secret(self) -> ChannelConfig:
        for name, value in self:
            if name.endswith("_env") and value is not None:
                inline = name.removesuffix("_env")
                if getattr(self, inline, None) is not None:
                    raise ValueError(f"give {inline} or {name}, not both")
        return self

    def resolve_secret(self, name: str, *, required: bool = True) -> str | None:
        """The secret `name`, inline or from the variable `name_env`; ChannelConfigError
        (naming the key, never the value) when it is missing."""
        inline = getattr(self, name, None)
        if isinstance(inline, SecretStr):
            return inline.get_secret_value()
        variable = getattr(self, f"{name}_env", None)
        if variable:
            value = os.environ.get(variable)
            if not value:
                raise ChannelConfigError(f"{name}_env: environment variable {variable} is not set")
            return value
        if required:
            raise ChannelConfigError(
                f"{name}: missing (give {name}, or {name}_env naming a variable)"
            )
        return None

    def channel_args(self) -> dict[str, Any]:
        """The keyword arguments of `Channel.__init__` this table sets."""
        return {"audiences": frozenset(self.audiences), "on": frozenset(self.on), "pace": self.pace}


@dataclass(frozen=True)
class ChannelKind:
    """How a kind plugs in: its table's model, and the factory of its channels."""

    config: type[BaseModel]
    build: Callable[..., Channel]
    """(channel name, validated config[, policy=...]) -> Channel; may raise
    ChannelConfigError."""

    def make(self, name: str, config: BaseModel, policy: Policy | None = None) -> Channel:
        if policy is not None and "policy" in inspect.signature(self.build).parameters:
            return self.build(name, config, policy=policy)
        return self.build(name, config)


def kind_of(name: str) -> ChannelKind:
    """The registered kind `name`; ChannelConfigError if unknown or not installed."""
    module_name = KINDS.get(name)
    if module_name is None:
        raise ChannelConfigError(f"kind: {name!r} is not one of {', '.join(KINDS)}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise ChannelConfigError(
            f"kind: {name!r} is not available in this warroom ({module_name} is missing)"
        ) from None
    kind = getattr(module, "KIND", None)
    if isinstance(kind, ChannelKind):
        return kind
    config, factory = getattr(module, "CONFIG", None), getattr(module, "build", None)
    if isinstance(config, type) and issubclass(config, BaseModel) and callable(factory):
        return ChannelKind(config=config, build=factory)
    raise ChannelConfigError(
        f"kind: {name!r} is not available ({module_name} has neither KIND nor CONFIG and build)"
    )


def _seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r} (try 30s, 5m)")
    return parse_duration(value).total_seconds()


Seconds = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]


class DeliveryConfig(BaseModel):
    """`[delivery]`: how patient the deliverer is (durations like "30s", "5m")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lease: Seconds = 30.0
    """How long a claimed delivery stays with a deliverer that stopped answering."""
    poll: Seconds = 1.0
    """How often idle workers look again for what others changed."""
    retry_base: Seconds = 2.0
    retry_cap: Seconds = 300.0
    stale_after: Seconds = 24 * 3600.0
    """Events older than this when first seen by a deliverer are not sent."""

    def timing(self) -> Timing:
        from warroom.core.backoff import Backoff
        from warroom.delivery.engine import Timing

        return Timing(
            lease=self.lease,
            poll=self.poll,
            backoff=Backoff(base=self.retry_base, cap=self.retry_cap),
            stale_after=self.stale_after,
        )


# -- reading the tables ----------------------------------------------------------------------


def _tables(path: Path | None) -> tuple[Path, dict[str, Any]]:
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return path, {}
    except OSError as exc:
        raise ConfigError(f"config ({path}): {exc.strerror or exc}") from None
    try:
        return path, tomllib.loads(raw.decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config ({path}): {exc}") from None


def channel_tables(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The `[channels.NAME]` tables of the config file, as written (not validated)."""
    path, table = _tables(path)
    channels = table.get("channels", {})
    if not isinstance(channels, dict) or not all(isinstance(t, dict) for t in channels.values()):
        raise ConfigError(f"config ({path}): channels: must be [channels.NAME] tables")
    return channels


def delivery_config(path: Path | None = None) -> DeliveryConfig:
    """The `[delivery]` table of the config file, validated (defaults without one)."""
    path, table = _tables(path)
    try:
        return DeliveryConfig.model_validate(table.get("delivery", {}))
    except ValidationError as exc:
        err = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"config ({path}): delivery.{where}: {message}") from None


def validate(name: str, table: Mapping[str, Any]) -> BaseModel:
    """One channel's table, validated by its kind's model; ChannelConfigError naming the
    channel and the key."""
    try:
        kind_name = table.get("kind")
        if not isinstance(kind_name, str):
            raise ChannelConfigError(f"kind: missing (one of {', '.join(KINDS)})")
        kind = kind_of(kind_name)
        return kind.config.model_validate(dict(table))
    except ValidationError as exc:
        err = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ChannelConfigError(
            f"channels.{name}: {where}: {message}" if where else f"channels.{name}: {message}"
        ) from None
    except ChannelConfigError as exc:
        raise ChannelConfigError(f"channels.{name}: {exc}") from None


def build(name: str, table: Mapping[str, Any], policy: Policy | None = None) -> Channel:
    """A channel from its table; ChannelConfigError if unusable. `policy`: the team's, for
    kinds that word messages by it (severity labels)."""
    config = validate(name, table)
    try:
        return kind_of(str(table["kind"])).make(name, config, policy)
    except ChannelConfigError as exc:
        raise ChannelConfigError(f"channels.{name}: {exc}") from None


def load_channels(
    tables: Mapping[str, Mapping[str, Any]] | None = None, policy: Policy | None = None
) -> list[Channel]:
    """Every configured channel, built, in the file's order; the first bad one raises."""
    tables = channel_tables() if tables is None else tables
    return [build(name, table, policy) for name, table in tables.items()]


def load_routes(tables: Mapping[str, Mapping[str, Any]] | None = None) -> list[Route]:
    """What each configured channel carries, without building it (no secret is needed):
    what the composer and the declare dialog show."""
    tables = channel_tables() if tables is None else tables
    routes = []
    for name, table in tables.items():
        config = validate(name, table)
        audiences = frozenset(getattr(config, "audiences", ()))
        routes.append(
            Route(name, str(table["kind"]), audiences, frozenset(getattr(config, "on", ())))
        )
    return routes
