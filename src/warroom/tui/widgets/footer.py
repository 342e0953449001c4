"""The key hints along the bottom: one widget drawing every key.

Textual's Footer mounts a widget per key and rebuilds them on every bindings signal (a
focus change sends two). With the console's dozen keys that cost ~40 ms before the first
frame, a third of its start-up. This draws the same hints, in the theme's footer colours,
as one line of text; a click on a hint presses its key, as in Textual's footer.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class KeysFooter(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"keys-footer--key", "keys-footer--description"}
    DEFAULT_CSS = """
    KeysFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .keys-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .keys-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._spans: list[tuple[int, int, str, bool]] = []  # start, end, key, enabled

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[Any]) -> None:
        if screen is self.screen:
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keys-footer--key")
        description_style = self.get_component_rich_style("keys-footer--description")
        palette = self.app.COMMAND_PALETTE_BINDING
        hints: list[tuple[str, str, str, bool]] = []
        seen: set[str] = set()
        tail = None
        for _, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.key == palette and self.app.ENABLE_COMMAND_PALETTE:
                tail = (
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    enabled,
                )
            elif binding.show and binding.action not in seen:  # one hint per action
                seen.add(binding.action)
                hints.append(
                    (binding.key, self.app.get_key_display(binding), binding.description, enabled)
                )
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        self._spans = []  # in cells, as clicks arrive: a remapped key may be a wide character
        for key, display, description, enabled in hints + ([tail] if tail else []):
            start = text.cell_len
            if key == palette:  # right-aligned, like Textual's footer
                width = cell_len(display) + cell_len(description)
                text.append(" " * max(1, self.size.width - start - width - 4))
                start = text.cell_len
            dim = Style() if enabled else Style(dim=True)
            text.append(f" {display} ", key_style + dim)
            text.append(f"{description} ", description_style + dim)
            self._spans.append((start, text.cell_len, key, enabled))
        return text

    def on_mouse_down(self, event: events.MouseDown) -> None:
        for start, end, key, enabled in self._spans:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
