"""The config file and `WARROOM_*` variables, validated by pydantic-settings.

Loaded only when a file or a variable exists (see `warroom.config`): the result is the plain
`Settings` dataclass, with the policy overrides already applied.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from warroom.config import ENV_PREFIX, ConfigError, Settings, config_path
from warroom.core.policy import DEFAULT_POLICY, AlertRules, EscalationStep, Policy, RoleDef
from warroom.core.timeparse import parse_duration


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str | int | float) else value


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
    escalates: bool | None = None

    _durations = field_validator("update_every", "mtta_target", "mttr_target", mode="before")(
        _duration
    )


class StepOverride(_Strict):
    after: timedelta
    who: tuple[str, ...]
    notify: str = ""
    extra_for: dict[str, tuple[str, ...]] = {}

    _durations = field_validator("after", mode="before")(_duration)


class RoleOverride(_Strict):
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    duties: str = ""


class AlertsOverride(_Strict):
    """`[alerts]`: how alerts meet incidents (see `warroom.core.policy.AlertRules`)."""

    service_label: str | None = None
    severity_label: str | None = None
    severities: dict[str, str] | None = None
    """Label value -> level, e.g. `{ critical = "SEV2", warning = "SEV3" }` (replaces the map)."""
    default_severity: str | None = None
    attach: bool | None = None

    def rules(self) -> AlertRules:
        update: dict[str, Any] = self.model_dump(exclude_none=True)
        levels = [*update.get("severities", {}).values()]
        if "default_severity" in update:
            levels.append(update["default_severity"])
        for level in levels:
            DEFAULT_POLICY.severity(level)  # ValueError names the levels there are
        if "severities" in update:
            update["severities"] = tuple(
                (label, DEFAULT_POLICY.severity(level).name)
                for label, level in update["severities"].items()
            )
        if "default_severity" in update:
            update["default_severity"] = DEFAULT_POLICY.severity(update["default_severity"]).name
        return replace(AlertRules(), **update)


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
    alerts: AlertsOverride | None = None

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

    _durations = field_validator("amber_before", mode="before")(_duration)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (try UTC or Europe/Berlin)") from None
        return value

    def policy(self) -> Policy:
        """The default policy with this config's overrides applied."""
        levels = []
        for level in DEFAULT_POLICY.severities:
            override = self.severity.get(level.name) or self.severity.get(level.name.lower())
            update = override.model_dump(exclude_none=True) if override else {}
            levels.append(replace(level, **update))
        unknown = {k.upper() for k in self.severity} - {lvl.name for lvl in levels}
        if unknown:
            raise ConfigError(f"unknown severity {sorted(unknown)[0]} (SEV1..SEV4)")
        roles = {r.key: r for r in DEFAULT_POLICY.roles}
        roles.update({r.key: RoleDef(**r.model_dump()) for r in self.roles})
        update: dict[str, Any] = {"severities": tuple(levels), "roles": tuple(roles.values())}
        if self.checklist is not None:
            update["checklist"] = self.checklist
        if self.post_resolution is not None:
            update["post_resolution"] = self.post_resolution
        if self.escalation is not None:
            update["escalation"] = tuple(
                EscalationStep(level=i + 1, **step.model_dump())
                for i, step in enumerate(self.escalation)
            )
        if self.amber_before is not None:
            update["amber_before"] = self.amber_before
        if self.alerts is not None:
            update["alerts"] = self.alerts.rules()
        return replace(DEFAULT_POLICY, **update)

    def settings(self) -> Settings:
        return Settings(
            user=self.user,
            db=self.db,
            server=self.server,
            token=self.token,
            timezone=self.timezone,
            keys=dict(self.keys),
            policy=self.policy(),
        )


def validate(path: Path, overrides: dict[str, Any]) -> Settings:
    """Settings from overrides, environment and file, in that order of precedence."""
    try:
        return SettingsSchema(**overrides).settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"config ({path}): {where}: {err['msg']}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"config ({path}): {exc}") from None
