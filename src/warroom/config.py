"""Settings from the environment and a TOML file, and the policy they override.

The file lives in the platformdirs config dir (`WARROOM_CONFIG` points elsewhere). Anything the
process documents fix (cadences, targets, roles, checklist, escalation) can be changed there;
unknown keys are an error with the key's name, so a typo never silently does nothing.

Validation is pydantic-settings' job (`warroom.config_schema`), but loading it costs ~150 ms,
so a start pays it only when there is something new to validate:

- no file, and only the plain string variables (`WARROOM_USER`, `_DB`, `_SERVER`, `_TOKEN`):
  nothing can be wrong, the settings are the defaults plus those;
- otherwise the validated result is kept in the platformdirs cache dir (0600), keyed by a hash
  of the file's bytes, the other `WARROOM_*` variables and warroom's version, so any change
  validates again and a stale result is never used. The token is not written there: it is
  read from the environment or the file at each start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from warroom.core.policy import DEFAULT_POLICY, AlertRules, EscalationStep, Policy, RoleDef
from warroom.core.public import Component, PageSettings

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
    "status_page",
    "alerts",
    "logs_dir",
)
PLAIN = frozenset({"user", "db", "server", "token", "logs_dir"})
"""Settings whose variable is taken as it is: any string is valid."""
DURATIONS = frozenset({"update_every", "mtta_target", "mttr_target", "after", "amber_before"})
"""Fields held as whole microseconds in validated data (JSON has no durations)."""
CACHE_FORMAT = 1


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


def cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP))


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
    status_page: PageSettings = field(default_factory=PageSettings)
    """`[status_page]`: the public page's title, components and address."""
    logs_dir: Path | None = None
    """Where the logs pane saves (its dialog starts there); None: the documents folder."""
    channels: tuple[str, ...] = ()
    """The names of the file's `[channels.NAME]` tables; `warroom.delivery.config` reads and
    validates the tables themselves where they are used (they hold secrets: never cached)."""

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


def _env_settings() -> dict[str, str]:
    """The settings WARROOM_* variables set, by field (pydantic-settings ignores case)."""
    fields = {ENV_PREFIX + name.upper(): name for name in FIELDS}
    return {fields[k.upper()]: v for k, v in os.environ.items() if k.upper() in fields}


def load_settings(**overrides: Any) -> Settings:
    """Read settings; a broken file or variable raises ConfigError naming the culprit."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    if "db" in clean:
        clean["db"] = Path(clean["db"])
    path = config_path()
    env = _env_settings()
    try:
        raw: bytes | None = path.read_bytes()
    except FileNotFoundError:
        raw = None
    except OSError as exc:
        raise ConfigError(f"config ({path}): {exc.strerror or exc}") from None
    if raw is None and env.keys() <= PLAIN:
        plain: dict[str, Any] = {**env, **clean}
        for name in ("db", "logs_dir"):
            if name in plain:
                plain[name] = Path(plain[name]).expanduser()
        return Settings(**plain)
    key = _cache_key(raw, env)
    cached = _read_cache(path, key)
    if cached is None:
        from warroom.config_schema import validate

        data = validate(path, raw)
        token_at = _token_at(raw)
        _write_cache(path, {"key": key, "settings": data, "token_at": token_at})
    else:
        data, token_at = cached["settings"], cached.get("token_at")
    token = env["token"] if "token" in env else _file_token(raw, token_at)
    return replace(settings_from(data, token), **clean)


def settings_from(data: Mapping[str, Any], token: str | None = None) -> Settings:
    """Settings from validated data (`config_schema.validate`'s JSON-shaped dict); the
    default policy with the data's overrides applied. Pure: no pydantic."""
    sev = data.get("severity") or {}
    levels = []
    for level in DEFAULT_POLICY.severities:
        override = sev.get(level.name) or sev.get(level.name.lower()) or {}
        levels.append(replace(level, **_typed(override)))
    unknown = {k.upper() for k in sev} - {lvl.name for lvl in levels}
    if unknown:
        raise ConfigError(f"unknown severity {sorted(unknown)[0]} (SEV1..SEV4)")
    roles = {r.key: r for r in DEFAULT_POLICY.roles}
    roles.update({r["key"]: RoleDef(**_typed(r)) for r in data.get("roles") or ()})
    update: dict[str, Any] = {"severities": tuple(levels), "roles": tuple(roles.values())}
    for name in ("checklist", "post_resolution"):
        if data.get(name) is not None:
            update[name] = tuple(data[name])
    if data.get("escalation") is not None:
        update["escalation"] = tuple(
            EscalationStep(level=i + 1, **_typed(step)) for i, step in enumerate(data["escalation"])
        )
    if data.get("amber_before") is not None:
        update["amber_before"] = timedelta(microseconds=data["amber_before"])
    if data.get("alerts"):
        update["alerts"] = _alert_rules(data["alerts"])
    return Settings(
        user=data.get("user"),
        db=Path(data["db"]) if data.get("db") is not None else None,
        server=data.get("server"),
        token=token,
        timezone=data.get("timezone", "UTC"),
        keys=dict(data.get("keys") or {}),
        policy=replace(DEFAULT_POLICY, **update),
        status_page=_status_page(data.get("status_page")),
        logs_dir=Path(data["logs_dir"]).expanduser() if data.get("logs_dir") else None,
        channels=tuple(data.get("channels") or ()),
    )


def _alert_rules(data: Mapping[str, Any]) -> AlertRules:
    """`[alerts]` over the defaults; `severities` (label -> level) replaces the map."""
    fields = dict(data)
    if "severities" in fields:
        fields["severities"] = tuple(fields["severities"].items())
    return replace(AlertRules(), **fields)


def _status_page(data: Mapping[str, Any] | None) -> PageSettings:
    if not data:
        return PageSettings()
    components = tuple(Component(k, v) for k, v in (data.get("components") or {}).items())
    return PageSettings(
        title=data.get("title", PageSettings.title),
        components=components,
        url=data.get("url", ""),
    )


def _typed(fields: Mapping[str, Any]) -> dict[str, Any]:
    """JSON values back to the policy's types: lists to tuples, microseconds to durations."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name in DURATIONS and value is not None:
            value = timedelta(microseconds=value)
        elif isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, dict):
            value = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
        out[name] = value
    return out


# -- the cache of validated settings ---------------------------------------------------------


def _cache_key(raw: bytes | None, env: Mapping[str, str]) -> str:
    """A hash of everything validation depends on; the token's variable is left out (the
    token is not cached, and any string is a valid token)."""
    import json

    from warroom import __version__

    described = {k: v for k, v in env.items() if k != "token"}
    head = json.dumps([CACHE_FORMAT, __version__, raw is not None, sorted(described.items())])
    digest: str = _blake2b(head.encode() + b"\0" + (raw or b"")).hexdigest()
    return digest


def _blake2b(data: bytes) -> Any:
    """BLAKE2b from the interpreter's built-in module: `hashlib` would load OpenSSL first
    (~2.5 ms of the start)."""
    try:
        from _blake2 import blake2b
    except ImportError:  # an interpreter without it
        from hashlib import blake2b
    return blake2b(data)


def _cache_file(path: Path) -> Path:
    """One cache file per config file: a new result replaces the old one."""
    name = _blake2b(str(path.absolute()).encode()).hexdigest()[:16]
    return cache_dir() / f"config-{name}.json"


def _read_cache(path: Path, key: str) -> dict[str, Any] | None:
    """What was cached under `key`, or None: missing, stale, unreadable or not safely ours."""
    import json

    try:
        with open(_cache_file(path), "rb") as f:
            st = os.fstat(f.fileno())
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
                return None  # someone else could have written it: validate instead
            cached = json.loads(f.read())
    except (OSError, ValueError):
        return None
    if not isinstance(cached, dict) or cached.get("key") != key:
        return None
    return cached if isinstance(cached.get("settings"), dict) else None


def _write_cache(path: Path, cached: Mapping[str, Any]) -> None:
    """Best effort: a cache that cannot be written only means validating again next time."""
    import json
    import tempfile

    target = _cache_file(path)
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".config-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:  # mkstemp makes it 0600
                json.dump(cached, f)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def _token_at(raw: bytes | None) -> list[int] | str | None:
    """Where the file's `token` is, so a start that hits the cache reads it back without
    loading tomllib (~7 ms): the span of its bytes (the cache key pins those bytes), "toml"
    when the file writes it with escapes, None when the file has none. The file was just
    validated, so it parses and the token is a string."""
    token = _parse_token(raw)
    if token is None:
        return None
    at = raw.find(token.encode()) if raw is not None else -1
    return [at, at + len(token.encode())] if at >= 0 else "toml"


def _file_token(raw: bytes | None, token_at: object) -> str | None:
    """The file's `token`, read again at each start so that it is never cached."""
    if raw is None or token_at is None:
        return None
    if isinstance(token_at, list) and len(token_at) == 2:
        start, end = token_at
        if isinstance(start, int) and isinstance(end, int):
            return raw[start:end].decode()
    return _parse_token(raw)


def _parse_token(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    import tomllib

    token = tomllib.loads(raw.decode()).get("token")
    return token if isinstance(token, str) else None
