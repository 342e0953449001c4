"""Small modal dialogs: pick one, fill a form, confirm, read, tick a checklist.

Each returns its answer through `dismiss`, so the app can `push_screen(dialog, callback)`
and keep all writing in one place. Outside text is drawn with `shown`, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, SelectionList, Static
from textual.widgets.option_list import Option

from warroom.core.text import clean


def shown(text: str | Text) -> Text:
    """A string drawn literally: cleaned of escapes, tabs and invisible characters, and
    never parsed as markup. A `Text` is taken as already built from cleaned pieces."""
    return text if isinstance(text, Text) else Text(clean(text))


class Dialog(ModalScreen):
    """Esc closes with no answer."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceDialog(Dialog):
    """Pick one of several options; Enter chooses."""

    AUTO_FOCUS = "OptionList"

    def __init__(
        self, title: str, options: list[tuple[str, str]], current: str | None = None
    ) -> None:
        super().__init__(title)
        self.options = options
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(shown(self.title_text), classes="dialog-title")
            yield OptionList(*(Option(shown(label), id=value) for value, label in self.options))
            yield Label("↑↓ choose · Enter select · Esc cancel", classes="dialog-help")

    def on_mount(self) -> None:
        ids = [value for value, _ in self.options]
        self.query_one(OptionList).highlighted = (
            ids.index(self.current) if self.current in ids else 0
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    value: str = ""
    placeholder: str = ""
    required: bool = True


class FormDialog(Dialog):
    """A few text fields; Enter moves on, Enter on the last one submits.

    `submit`, when given, receives the values synchronously on Enter, before the dialog
    closes: a write queued there does not wait for the console to repaint.
    """

    AUTO_FOCUS = "Input"

    def __init__(
        self,
        title: str,
        fields: list[FormField],
        hint: str = "",
        submit: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        super().__init__(title)
        self.fields = fields
        self.hint = hint
        self.submit = submit

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(shown(self.title_text), classes="dialog-title")
            for field in self.fields:
                yield Label(shown(field.label))
                yield Input(value=field.value, placeholder=field.placeholder, id=f"f-{field.name}")
            yield Label("", id="form-error", classes="dialog-error")
            yield Label(self.hint or "Enter save · Esc cancel", classes="dialog-help")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        at = inputs.index(event.input)
        if at + 1 < len(inputs):
            inputs[at + 1].focus()
            return
        values = {f.name: self.query_one(f"#f-{f.name}", Input).value.strip() for f in self.fields}
        missing = [f.label for f in self.fields if f.required and not values[f.name]]
        if missing:
            self.query_one("#form-error", Label).update(shown(f"{missing[0]} is required"))
            return
        if self.submit is not None:
            self.submit(values)
        self.dismiss(values)


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


class TextDialog(Dialog):
    """Read-only text (history, keys); Esc or q closes."""

    BINDINGS = [Binding("escape,q", "cancel", "Close")]

    def __init__(self, title: str, body: Text | str) -> None:
        super().__init__(title)
        self.body = shown(body)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(shown(self.title_text), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.body)
            yield Label("Esc close", classes="dialog-help")


class ChecklistDialog(Dialog):
    """Tick items with space; Enter saves the changes (one event per changed item)."""

    AUTO_FOCUS = "SelectionList"

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "save", "Save", priority=True),
    ]

    def __init__(self, title: str, items: list[str], checked: set[str]) -> None:
        super().__init__(title)
        self.items = items
        self.checked = checked

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(shown(self.title_text), classes="dialog-title")
            yield SelectionList[str](
                *((shown(item), item, item in self.checked) for item in self.items)
            )
            yield Label("Space tick · Enter save · Esc cancel", classes="dialog-help")

    def action_save(self) -> None:
        ticked = set(self.query_one(SelectionList).selected)
        changes = {
            item: item in ticked
            for item in self.items
            if (item in ticked) != (item in self.checked)
        }
        self.dismiss(changes)
