"""The confirmation for a playbook action: the exact change, who the Incident Commander is, and
a yes or no. It returns True only on an explicit confirm; the caller applies the change."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from warroom.core.text import one_line
from warroom.kube.actions import Change


def change_text(change: Change, incident_commander: str | None) -> Text:
    """What the dialog says; plain Text built from parts, so no field is read as markup."""
    text = Text()
    text.append(f"{change.action} ", style="bold")
    text.append(f"{change.namespace}/{change.deployment}\n\n", style="bold #ffaf00")
    for line in change.summary:
        text.append(f"  • {one_line(line, 200)}\n")
    text.append("\nSame as: ", style="#8a8a8a")
    text.append(change.command + "\n")
    text.append("Incident Commander: ", style="#8a8a8a")
    if incident_commander:
        text.append(one_line(incident_commander, 40), style="bold")
    else:
        text.append("nobody — consider assigning one first", style="bold #ff5f5f")
    return text


class PlaybookScreen(ModalScreen[bool]):
    """Confirm or cancel one described change."""

    DEFAULT_CSS = """
    PlaybookScreen { align: center middle; }
    PlaybookScreen > Vertical {
        width: 80%; max-width: 100; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    PlaybookScreen Horizontal { height: auto; margin-top: 1; }
    PlaybookScreen Button { margin-right: 2; }
    """
    BINDINGS = [
        Binding("y", "decide(True)", "Confirm"),
        Binding("n,escape", "decide(False)", "Cancel"),
    ]

    def __init__(self, change: Change, incident_commander: str | None) -> None:
        super().__init__()
        self.change = change
        self.incident_commander = incident_commander

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(change_text(self.change, self.incident_commander), id="change")
            with Horizontal():
                yield Button("Apply (y)", variant="warning", id="confirm")
                yield Button("Cancel (n)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_decide(self, confirmed: bool) -> None:
        self.dismiss(confirmed)
