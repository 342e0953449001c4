"""The command palette's console commands (ctrl+p): every key's action, found by name.

A `Provider`, as posting's `commands.py` does it: the hits are built from the same bindings
the footer and `?` show, so the three never disagree, and each says its key.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider


class KeyTable(Protocol):
    def key_table(self) -> list[tuple[str, str, str]]:
        """(action, key as shown, description) of every console action."""
        ...


class ConsoleCommands(Provider):
    def _commands(self) -> list[tuple[str, str, str]]:
        """(name, help, action) for every console action."""
        table = cast(KeyTable, self.app).key_table()
        return [(description, f"key: {key}", action) for action, key, description in table]

    async def discover(self) -> Hits:
        for name, help_text, action in self._commands():
            yield DiscoveryHit(name, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    partial(self.app.run_action, action),
                    help=help_text,
                )
