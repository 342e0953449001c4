"""The confirmation the composer asks before posting, and `shown` for outside text.

Every key's own conversation runs in `FlowScreen`; this is what screens outside a flow
share. Outside text is drawn with `shown`, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from warroom.core.text import clean


def shown(text: str | Text) -> Text:
    """A string drawn literally: cleaned of escapes, tabs and invisible characters, and
    never parsed as markup. A `Text` is taken as already built from cleaned pieces."""
    return text if isinstance(text, Text) else Text(clean(text))


class Dialog(ModalScreen[object]):
    """Esc closes with no answer."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(Dialog):
    """Outward or destructive actions ask first: Enter or y confirms."""

    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel"),
        Binding("enter,y", "confirm", "Confirm"),
    ]

    def __init__(self, title: str, body: Text | str, action: str = "confirm") -> None:
        super().__init__(title)
        self.body = shown(body)
        self.action = action

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(shown(self.title_text), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.body)
            yield Label(f"Enter/y {self.action} · Esc/n cancel", classes="dialog-help")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
