"""`serve`, `token` and `sync`: the shared API and offline-first sync (filled in by issue 5)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
