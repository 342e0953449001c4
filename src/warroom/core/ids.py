"""Client-made, time-sortable identifiers (ULIDs), so ids never need a server round trip."""

from __future__ import annotations

import re

ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def new_id() -> str:
    """A new ULID: unique without coordination and sortable by creation time."""
    from ulid import ULID  # here: python-ulid imports importlib.metadata (~20 ms) at load

    return str(ULID())
