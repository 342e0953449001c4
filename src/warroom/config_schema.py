"""The config file and `WARROOM_*` variables, validated by pydantic-settings.

Loaded only when `warroom.config` has something new to validate (its cache missed): the
result is JSON-shaped data without the token, which `config.settings_from` turns into the
`Settings` dataclass, here and on every later start that finds it in the cache.
"""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from warroom.config import ENV_PREFIX, ConfigError, settings_from
from warroom.core.deliveries import CHANNEL_NAME
from warroom.core.policy import DEFAULT_POLICY
from warroom.core.timeparse import parse_duration
from warroom.keymap import check_keymap


def _duration(value: Any) -> Any:
    if isinstance(value, bool):  # an int to Python, and `true` would mean one minute
        raise ValueError(f"not a duration: {value!r} (try 15m, 2h, 1d)")
    if isinstance(value, str | int | float):
        value = parse_duration(value)
    if isinstance(value, timedelta) and value < timedelta(0):
        raise ValueError(f"a duration cannot be negative: {value}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeverityOverride(_Strict):
    label: str | None = None
    definition: str | None = None
    examples: tuple[str, ...] | None = None
    response_time: str | None = None
    update_every: timedelta | None = None
    mtta_target: timedelta | None = None
    mttr_target: timedelta | None = None
    notification: str | None = None
    customer_communication: str | None = None
    escalate_to: str | None = None
    escalates: StrictBool | None = None  # not "yes" or 1

    _durations = field_validator("update_every", "mtta_target", "mttr_target", mode="before")(
        _duration
    )


class StepOverride(_Strict):
    after: timedelta
    who: tuple[str, ...]
    notify: str = ""
    extra_for: dict[str, tuple[str, ...]] = {}
    channels: tuple[str, ...] = ()
    auto: StrictBool = False

    _durations = field_validator("after", mode="before")(_duration)


class RoleOverride(_Strict):
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    duties: str = ""


class StatusPageOverride(_Strict):
    """`[status_page]`: the public page `warroom serve` serves at /status."""

    title: str = Field("Service status", min_length=1, max_length=200)
    url: str = Field("", max_length=2000)
    """Where people reach the page (links in PagerDuty, the console's help)."""
    components: dict[str, Annotated[str, Field(min_length=1, max_length=200)]] = {}
    """Component as incidents name it = its public name, in the order shown."""


class AlertsOverride(_Strict):
    """`[alerts]`: how alerts meet incidents (see `warroom.core.policy.AlertRules`)."""

    service_label: str | None = Field(None, min_length=1, max_length=200)
    severity_label: str | None = Field(None, min_length=1, max_length=200)
    severities: dict[str, str] | None = None
    """Label value -> level, e.g. `{ critical = "SEV2", warning = "SEV3" }` (replaces the map)."""
    default_severity: str | None = None
    attach: bool | None = None

    @field_validator("severities")
    @classmethod
    def _levels(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        return {label: DEFAULT_POLICY.severity(level).name for label, level in value.items()}

    @field_validator("default_severity")
    @classmethod
    def _level(cls, value: str | None) -> str | None:
        return None if value is None else DEFAULT_POLICY.severity(value).name


class SettingsSchema(BaseSettings):
    """What the file and the environment may hold; unknown keys are refused by name."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    user: str | None = None
    db: Path | None = None
    server: str | None = None
    token: str | None = None
    timezone: str = "UTC"
    severity: dict[str, SeverityOverride] = {}
    roles: list[RoleOverride] = []
    checklist: tuple[str, ...] | None = None
    post_resolution: tuple[str, ...] | None = None
    escalation: list[StepOverride] | None = None
    amber_before: timedelta | None = None
    keys: dict[str, str] = Field(default_factory=dict)
    status_page: StatusPageOverride | None = None
    alerts: AlertsOverride | None = None
    logs_dir: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's table comes in as init arguments (`validate` parsed the very bytes the
        # cache key was made from); the environment beats it.
        return (env_settings, init_settings)

    _durations = field_validator("amber_before", mode="before")(_duration)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (try UTC or Europe/Berlin)") from None
        return value

    @field_validator("keys")
    @classmethod
    def _keymap(cls, value: dict[str, str]) -> dict[str, str]:
        return check_keymap(value)

    def data(self) -> dict[str, Any]:
        """What `config.settings_from` takes: JSON types, durations in microseconds, no
        token (it is never cached)."""
        data: dict[str, Any] = _json(self.model_dump(exclude={"token"}, exclude_none=True))
        return data


def _json(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value // timedelta(microseconds=1)
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _channel_names(channels: object) -> list[str]:
    """The names of the `[channels.NAME]` tables. Only their shape is checked here: each
    channel's keys are validated by `warroom.delivery.config` where channels are used
    (delivery, `warroom channels`, `warroom serve`), and its tables (secrets among them)
    are never cached; the environment cannot set them."""
    if not isinstance(channels, dict):
        raise ValueError("channels: must be a table of [channels.NAME] tables")
    for name, table in channels.items():
        if not CHANNEL_NAME.fullmatch(name):
            raise ValueError(
                f"channels.{ascii(name)[1:-1]}: a channel name is up to 64 letters, digits,"
                " '.', '_' or '-'"
            )
        if not isinstance(table, dict):
            raise ValueError(f"channels.{name}: must be a table ([channels.{name}])")
    return list(channels)


def validate(path: Path, raw: bytes | None) -> dict[str, Any]:
    """The file's bytes (None: no file) and the environment, validated, as cacheable data."""
    try:
        table = tomllib.loads(raw.decode()) if raw is not None else {}
        private = sorted(k for k in table if k.startswith("_"))
        if private:  # pydantic-settings would take `_env_file = ...` as its own argument
            raise ValueError(f"{private[0]}: Extra inputs are not permitted")
        channels = _channel_names(table.pop("channels", {}))
        if not isinstance(table.pop("delivery", {}), dict):  # validated where it is used
            raise ValueError("delivery: must be a table ([delivery])")
        data = SettingsSchema(**table).data()
        if channels:
            data["channels"] = channels
        settings_from(data)  # what only the whole policy can refuse (an unknown severity)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"config ({path}): {where}: {err['msg']}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"config ({path}): {exc}") from None
    return data
