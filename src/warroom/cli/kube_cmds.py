"""`sim`: the local Kubernetes API-server simulator (filled in by issue 4)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
