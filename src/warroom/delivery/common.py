"""What every channel kind's config shares: what it carries, and a secret given inline or by
the name of an environment variable.

A secret named by `*_env` is read when it is first needed, not when the config is loaded, so
a dry run and `warroom channels` work on a machine that does not hold it; a delivery then
fails (permanently, shown in red) with the variable's name, never its value.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from warroom.delivery.channel import DeliveryError, Lifecycle

Audience = Literal["internal", "stakeholders", "status-page", "customers"]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=200)]
Seconds = Annotated[float, Field(gt=0, le=300)]

ALL_LIFECYCLE: tuple[Lifecycle, ...] = ("declared", "severity", "status", "roles", "resolved")


class ChannelConfig(BaseModel):
    """The keys of `[channels.NAME]` common to every kind; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audiences: list[Audience] = []
    on: list[Lifecycle] = []


def secret(name: str, inline: SecretStr | None, env: str | None, key: str) -> str:
    """The secret's value; DeliveryError (permanent) naming the key or variable if absent."""
    if inline is not None:
        return inline.get_secret_value()
    if env:
        value = os.environ.get(env, "")
        if value.strip():
            return value.strip()
        raise DeliveryError(
            f"channel {name}: {key}_env: environment variable {env} is not set", retry=False
        )
    raise DeliveryError(f"channel {name}: no {key} or {key}_env configured", retry=False)


def one_secret(inline: SecretStr | None, env: str | None, key: str, *, required: bool) -> None:
    """Config check: the secret inline or by variable, not both (and one if `required`)."""
    if inline is not None and env:
        raise ValueError(f"give {key} or {key}_env, not both")
    if required and inline is None and not env:
        raise ValueError(f"{key} or {key}_env is required")
