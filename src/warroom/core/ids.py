"""Client-made, time-sortable identifiers (ULIDs), so ids never need a server round trip.

A ULID is 128 bits in 26 Crockford base-32 characters (ASCII only), so the first is at most 7.
ULID_RE is also a pydantic pattern; Python code matches it with `fullmatch`.
"""

from __future__ import annotations

import re

ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def new_id() -> str:
    """A new ULID: unique without coordination and sortable by creation time."""
    from ulid import ULID  # here: python-ulid imports importlib.metadata (~20 ms) at load

    return str(ULID())
