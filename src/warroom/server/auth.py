"""Bearer tokens: shown once, stored only as a hash, bound to one device.

A token is 32 random bytes, so a plain SHA-256 of it is enough to store (no salt or slow hash
needed: nobody can guess their way to a preimage). The server keeps the hash, the name a
person gave it, and the device it serves: the first push binds the token to the pushing
device, and from then on it pushes for that device only.

A token has one scope: a client's (`client`: push and pull events) or monitoring's (`alerts`:
post alert notifications, nothing else). Each is refused (403) where the other belongs, so
the token pasted into Alertmanager's config can neither read an incident nor write one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

PREFIX = "wr_"
CLIENT = "client"
ALERTS = "alerts"
SCOPES = (CLIENT, ALERTS)


@dataclass(frozen=True, slots=True)
class Token:
    id: str
    name: str
    device_id: str | None
    created_at: datetime
    revoked_at: datetime | None = None
    scope: str = CLIENT


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    return secrets.token_hex(4)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenError(ValueError):
    """A token command cannot be done as asked; the message says why."""


class DeviceRefused(Exception):
    """A push for a device this token may not push for (403)."""
