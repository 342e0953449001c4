"""Settings from the environment and a TOML file, and the policy they override.

The file lives in the platformdirs config dir (`WARROOM_CONFIG` points elsewhere). Anything the
process documents fix (cadences, targets, roles, checklist, escalation) can be changed there;
unknown keys are an error with the key's name, so a typo never silently does nothing.
"""

from __future__ import annotations

import getpass
import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from warroom.core.policy import DEFAULT_POLICY, EscalationStep, Policy, RoleDef
from warroom.core.timeparse import parse_duration

APP = "warroom"


class ConfigError(ValueError):
    """The config file or environment holds something unusable; the message says what."""


def config_path() -> Path:
    env = os.environ.get("WARROOM_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir(APP)) / "warroom.db"


class SeverityOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str | None = None
    definition: str | None = None
    examples: list[str] | None = None
    response_time: str | None = None
    update_every: timedelta | None = None
    mtta_target: timedelta | None = None
    mttr_target: timedelta | None = None
    notification: str | None = None
    customer_communication: str | None = None
    escalate_to: str | None = None
    escalates: bool | None = None

    @field_validator("update_every", "mtta_target", "mttr_target", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str | int | float) else value


class StepOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: timedelta
    who: list[str]
    notify: str = ""
    extra_for: dict[str, list[str]] = {}

    @field_validator("after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str | int | float) else value


class Settings(BaseSettings):
    """Everything configurable. Precedence: CLI flags > environment (WARROOM_*) > file."""

    model_config = SettingsConfigDict(env_prefix="WARROOM_", extra="forbid")

    user: str | None = None
    db: Path | None = None
    server: str | None = None
    token: str | None = None
    timezone: str = "UTC"
    severity: dict[str, SeverityOverride] = {}
    roles: list[RoleDef] = []
    checklist: list[str] | None = None
    post_resolution: list[str] | None = None
    escalation: list[StepOverride] | None = None
    amber_before: timedelta | None = None
    keys: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_path()))

    @field_validator("amber_before", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str | int | float) else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (try UTC or Europe/Berlin)") from None
        return value

    @property
    def actor(self) -> str:
        return self.user or _login_name()

    @property
    def db_path(self) -> Path:
        return (self.db or default_db_path()).expanduser()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def policy(self) -> Policy:
        """The default policy with this config's overrides applied."""
        levels = []
        for level in DEFAULT_POLICY.severities:
            override = self.severity.get(level.name) or self.severity.get(level.name.lower())
            update = override.model_dump(exclude_none=True) if override else {}
            levels.append(level.model_copy(update=update))
        unknown = {k.upper() for k in self.severity} - {lvl.name for lvl in levels}
        if unknown:
            raise ConfigError(f"config: unknown severity {sorted(unknown)[0]} (SEV1..SEV4)")
        roles = {r.key: r for r in DEFAULT_POLICY.roles}
        roles.update({r.key: r for r in self.roles})
        update: dict[str, Any] = {"severities": levels, "roles": list(roles.values())}
        if self.checklist is not None:
            update["checklist"] = self.checklist
        if self.post_resolution is not None:
            update["post_resolution"] = self.post_resolution
        if self.escalation is not None:
            update["escalation"] = [
                EscalationStep(level=i + 1, **step.model_dump())
                for i, step in enumerate(self.escalation)
            ]
        if self.amber_before is not None:
            update["amber_before"] = self.amber_before
        return DEFAULT_POLICY.model_copy(update=update)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "responder"


def load_settings(**overrides: Any) -> Settings:
    """Read settings; a broken file or variable raises ConfigError naming the culprit."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"config ({config_path()}): {where}: {err['msg']}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"config ({config_path()}): {exc}") from None
