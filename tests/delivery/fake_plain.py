"""A channel kind written the other way the registry takes: `CONFIG` (the table's model,
`kind` included) and `build(name, config, *, policy=None)`, as slack, email, statuspage and
pagerduty are."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from tests.delivery.fake_kind import Scripted
from warroom.core.policy import Policy


class PlainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["plain"]
    audiences: list[str] = ["internal"]
    on: list[str] = []
    pace: float = 0.25


CONFIG = PlainConfig
seen: list[Policy | None] = []


def build(name: str, config: PlainConfig, *, policy: Policy | None = None) -> Scripted:
    seen.append(policy)
    return Scripted(name, audiences=frozenset(config.audiences), pace=config.pace)
