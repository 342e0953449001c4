"""Settings from the environment and a TOML file, and the policy they override.

The file lives in the platformdirs config dir (`WARROOM_CONFIG` points elsewhere). Anything the
process documents fix (cadences, targets, roles, checklist, escalation) can be changed there;
unknown keys are an error with the key's name, so a typo never silently does nothing.

Validation is pydantic-settings' job (`warroom.config_schema`), and it is only loaded when
there is something to validate: with no config file and no `WARROOM_*` variable the settings
are the defaults, and the console starts ~150 ms sooner without pydantic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from warroom.core.policy import DEFAULT_POLICY, Policy

APP = "warroom"
ENV_PREFIX = "WARROOM_"
# The settings the environment can set (WARROOM_USER, ...); a test keeps it equal to the
# schema's fields.
FIELDS = (
    "user",
    "db",
    "server",
    "token",
    "timezone",
    "severity",
    "roles",
    "checklist",
    "post_resolution",
    "escalation",
    "amber_before",
    "keys",
    "alerts",
)


class ConfigError(ValueError):
    """The config file or environment holds something unusable; the message says what."""


def config_path() -> Path:
    env = os.environ.get("WARROOM_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP)) / "warroom.db"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, validated. Precedence: CLI flags > environment > file."""

    user: str | None = None
    db: Path | None = None
    server: str | None = None
    token: str | None = None
    timezone: str = "UTC"
    keys: Mapping[str, str] = field(default_factory=dict)
    policy: Policy = DEFAULT_POLICY

    @property
    def actor(self) -> str:
        return self.user or _login_name()

    @property
    def db_path(self) -> Path:
        return (self.db or default_db_path()).expanduser()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _login_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "responder"


def _env_settings() -> list[str]:
    """The WARROOM_* variables that set a setting (pydantic-settings ignores case)."""
    names = {ENV_PREFIX + name.upper() for name in FIELDS}
    return [key for key in os.environ if key.upper() in names]


def load_settings(**overrides: Any) -> Settings:
    """Read settings; a broken file or variable raises ConfigError naming the culprit."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    path = config_path()
    if not _env_settings() and not path.exists():
        if "db" in clean:
            clean["db"] = Path(clean["db"])
        return Settings(**clean)
    from warroom.config_schema import validate

    return validate(path, clean)
