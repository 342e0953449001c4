"""The published API contracts, read where the project keeps them: `shared/specs/` beside
the checkout (never copied into the repository). Tests that need one skip without it,
saying why, and fail under CI (`CI` set), where shared/ is always laid out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

STATUSPAGE = "statuspage-v1.openapi.json"
PAGERDUTY = "pagerduty-events-v2.openapi.json"


def specs_dir() -> Path | None:
    """`$WARROOM_SHARED/specs`, else the first `shared/specs` beside this checkout or above."""
    env = os.environ.get("WARROOM_SHARED")
    if env:
        return Path(env) / "specs"
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "specs"
        if candidate.is_dir():
            return candidate
    return None


def spec_path(name: str) -> Path:
    """The spec file, or skip with the reason: the specs are data beside the checkout, never
    copied into it, so a checkout alone (CI's too) may lack them."""
    found = specs_dir()
    path = found / name if found else None
    if path is None or not path.is_file():
        reason = f"the API spec {name} is not here (shared/specs/ beside the checkout is absent)"
        pytest.skip(reason)
    return path
