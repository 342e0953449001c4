"""The one modal screen every key's conversation runs in (see `warroom.tui.steps`).

It shows a flow's steps one after another in place, so nothing typed between two steps
reaches the console behind it. Enter is a priority binding: the answer is read and the next
step is on screen, with its field focused, before the next key is handled, so a paste or a
fast typist lands every character in the field it was aimed at. A refused answer keeps
what was typed and shows why beside the field.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, SelectionList, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from warroom.cells import cut
from warroom.tui import keys
from warroom.tui.keys import settle
from warroom.tui.screens.dialogs import shown
from warroom.tui.steps import (
    Browse,
    Choose,
    Confirm,
    Fill,
    Flow,
    Load,
    Outcome,
    Read,
    Step,
    Tick,
)

HELP = {
    Choose: "↑↓ choose · Enter select · Esc cancel",
    Fill: "Enter next field / save · Esc cancel",
    Confirm: "Enter/y {action} · Esc/n cancel",
    Tick: "Space tick · Enter save · Esc cancel",
    Read: "↑↓ PgUp PgDn scroll · Esc close",
    Load: "Esc cancel",
    Browse: "↑↓ choose · {action} · Esc close",
}


class FlowScreen(ModalScreen[Outcome]):
    """Runs one flow to its outcome (dismissed with it; None when cancelled)."""

    AUTO_FOCUS = None
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", priority=True),
        Binding("enter", "answer", "OK", priority=True),
        Binding("y", "confirm(True)", "Yes", show=False),
        Binding("n", "confirm(False)", "No", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, flow: Flow, first: Step) -> None:
        super().__init__()
        self.flow = flow
        self.step: Step = first

    def compose(self) -> ComposeResult:
        wide = isinstance(self.step, Read | Tick | Browse)
        with Vertical(classes="dialog wide" if wide else "dialog"):
            yield Label(shown(self.step.title), classes="dialog-title", id="flow-title")
            with Vertical(id="flow-step"):
                yield from self._widgets(self.step)
            yield Label(self._help(self.step), classes="dialog-help", id="flow-help")

    def on_mount(self) -> None:
        self._focus(self.step)
        if isinstance(self.step, Load):
            self._load(self.step)

    # -- showing a step -----------------------------------------------------------------------

    def _widgets(self, step: Step) -> list[Widget]:
        if isinstance(step, Choose):
            values = [value for value, _ in step.options]
            options = OptionList(
                *(Option(Text(cut(label, 200)), id=value) for value, label in step.options),
                id="flow-options",
            )
            if step.current in values:
                options.highlighted = values.index(step.current)
            elif values:
                options.highlighted = 0
            widgets: list[Widget] = [options]
            if step.note:
                widgets.append(Label(shown(step.note), classes="dialog-note"))
            return widgets
        if isinstance(step, Fill):
            widgets = []
            for field in step.fields:
                widgets.append(Label(shown(field.label)))
                widgets.append(
                    Input(value=field.value, placeholder=field.placeholder, id=f"f-{field.name}")
                )
                error = step.errors.get(field.name, "")
                widgets.append(Label(shown(error), classes="dialog-error", id=f"e-{field.name}"))
            widgets.append(Label(shown(step.error), classes="dialog-error", id="form-error"))
            return widgets
        if isinstance(step, Browse):
            options = OptionList(
                *(
                    Option(_label(label), id=value)
                    if value
                    else Option(_label(label, "bold"), disabled=True)
                    for value, label in step.items
                ),
                id="flow-options",
            )
            values = [value for value, _ in step.items]
            first = next((i for i, v in enumerate(values) if v), None)
            at = values.index(step.current) if step.current in values else first
            if at is not None:
                options.highlighted = at
            detail = step.details.get(values[at], Text()) if at is not None else Text()
            widgets = [options]
            if step.note:
                widgets.append(Label(shown(step.note), classes="dialog-error"))
            widgets.append(
                VerticalScroll(Static(detail, id="flow-detail"), classes="dialog-detail")
            )
            return widgets
        if isinstance(step, Confirm | Read):
            return [VerticalScroll(Static(step.body), classes="dialog-body", id="flow-body")]
        if isinstance(step, Tick):
            selections: list[Selection[str]] = []
            for heading, items in step.groups:
                selections.append(
                    Selection(
                        Text(cut(heading, 200), style="bold"), f"\0{heading}", False, disabled=True
                    )
                )
                selections += [
                    Selection(_noted(item, step.notes.get(item)), item, item in step.checked)
                    for item in items
                ]
            ticks = SelectionList[str](*selections, id="flow-ticks")
            ticks.highlighted = 1  # the first item, under the first heading
            return [ticks]
        return [Static(Text(f"Loading {step.what}…", style="#8a8a8a"))]

    def _help(self, step: Step) -> Text:
        action = step.action if isinstance(step, Confirm) else ""
        if isinstance(step, Browse):
            action = " · ".join(f"{keys.shown(k)} {what}" for k, _, what in step.keys)
        return Text(HELP[type(step)].format(action=action))

    def _focus(self, step: Step) -> None:
        """Focus the step's first input now (not on the next refresh), so typed keys land."""
        target: Widget | None = None
        if isinstance(step, Fill):
            wanted = next(iter(step.errors), None)
            inputs = list(self.query(Input))
            target = next((i for i in inputs if i.id == f"f-{wanted}"), None) or (
                inputs[0] if inputs else None
            )
        elif isinstance(step, Choose | Browse):
            target = self.query_one(OptionList)
        elif isinstance(step, Tick):
            target = self.query_one(SelectionList)
        elif isinstance(step, Read):
            target = self.query_one("#flow-body")
        if target is not None:
            self.set_focus(target)  # an Input selects its text on focus: typing replaces it

    async def _show(self, step: Step) -> None:
        if isinstance(step, Fill) and isinstance(self.step, Fill) and _same_form(step, self.step):
            self._refill(step)
            return
        self.step = step
        self.query_one("#flow-title", Label).update(shown(step.title))
        self.query_one("#flow-help", Label).update(self._help(step))
        body = self.query_one("#flow-step", Vertical)
        await body.remove_children()
        await body.mount_all(self._widgets(step))
        self._focus(step)
        if isinstance(step, Load):
            self._load(step)

    def _refill(self, step: Fill) -> None:
        """The same form asked again (a refused answer): the reason beside its field, and
        the fields as the person typed them (not as parsed: `2`, not `2.0`)."""
        self.step = step
        for field in step.fields:
            self.query_one(f"#e-{field.name}", Label).update(shown(step.errors.get(field.name, "")))
        self.query_one("#form-error", Label).update(shown(step.error))
        self._focus(step)

    async def _send(self, answer: Any) -> None:
        """Give the flow its answer; show what it asks next, or finish with its outcome."""
        try:
            step = self.flow.send(answer)
        except StopIteration as done:
            self.dismiss(done.value)
            return
        await self._show(step)

    # -- answering ----------------------------------------------------------------------------

    async def action_answer(self) -> None:
        await settle(self.focused)  # the keys typed before Enter land first
        step = self.step
        if isinstance(step, Choose):
            options = self.query_one(OptionList)
            if options.highlighted is None:
                return
            option = options.get_option_at_index(options.highlighted)
            await self._send(option.id)
        elif isinstance(step, Fill):
            await self._fill(step)
        elif isinstance(step, Confirm):
            await self._send(True)
        elif isinstance(step, Tick):
            ticked = set(self.query_one(SelectionList).selected)
            changes = {
                item: item in ticked
                for _, items in step.groups
                for item in items
                if (item in ticked) != (item in step.checked)
            }
            await self._send(changes)
        elif isinstance(step, Read):
            await self._send(None)
        elif isinstance(step, Browse):
            await self._act(step, "enter")

    async def _act(self, step: Browse, key: str) -> None:
        """A Browse key on the highlighted item: the answer is (action, value)."""
        action = next((a for k, a, _ in step.keys if k == key), None)
        options = self.query_one(OptionList)
        if action is None or options.highlighted is None:
            return
        value = options.get_option_at_index(options.highlighted).id
        if value:
            await self._send((action, value))

    async def on_key(self, event: events.Key) -> None:
        step = self.step
        if isinstance(step, Browse) and any(k == event.key for k, _, _ in step.keys):
            event.stop()
            event.prevent_default()
            await self._act(step, event.key)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        step = self.step
        if isinstance(step, Browse) and event.option.id:
            detail = step.details.get(event.option.id, Text())
            self.query_one("#flow-detail", Static).update(detail)

    async def _fill(self, step: Fill) -> None:
        """Enter on a field moves to the next; on the last, checks every field and answers."""
        inputs = list(self.query(Input))
        focused = self.focused
        if isinstance(focused, Input) and focused in inputs[:-1]:
            self.set_focus(inputs[inputs.index(focused) + 1])
            return
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for field, box in zip(step.fields, inputs, strict=True):
            text = box.value.strip()
            if field.required and not text:
                errors[field.name] = f"{field.label} is required"
                continue
            try:
                values[field.name] = field.parse(text) if field.parse else text
            except ValueError as exc:
                errors[field.name] = str(exc)
        for field in step.fields:
            self.query_one(f"#e-{field.name}", Label).update(shown(errors.get(field.name, "")))
        self.query_one("#form-error", Label).update(Text(""))
        if errors:
            first = next(i for i, f in enumerate(step.fields) if f.name in errors)
            self.set_focus(inputs[first])
            return
        await self._send(values)

    async def action_confirm(self, yes: bool) -> None:
        if isinstance(self.step, Confirm):
            if yes:
                await self._send(True)
            else:
                self.dismiss(None)

    def action_close(self) -> None:
        if isinstance(self.step, Read):
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.flow.close()
        self.dismiss(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # y, n and q are letters: in a form they are typed, not bindings.
        if action in ("confirm", "close"):
            return isinstance(self.step, Confirm | Read)
        return True

    # -- loading ------------------------------------------------------------------------------

    class Loaded(Message):
        def __init__(self, step: Load, result: Any) -> None:
            super().__init__()
            self.step = step
            self.result = result

    @work(thread=True, exclusive=True, group="flow-load", exit_on_error=False)
    def _load(self, step: Load) -> None:
        try:
            result: Any = step.fetch()
        except Exception as exc:  # the flow decides what to say about it
            result = exc
        self.post_message(self.Loaded(step, result))

    async def on_flow_screen_loaded(self, message: Loaded) -> None:
        if self.step is message.step:
            await self._send(message.result)


def _label(label: str | Text, style: str = "") -> Text:
    """A list entry: a string is outside text, cleaned and cut; a Text is already built."""
    if isinstance(label, Text):
        return label
    return Text(cut(label, 200), style=style)


def _noted(item: str, note: Text | None) -> Text:
    """A checklist item, with its evidence beside it."""
    label = shown(item)
    if note is not None:
        label = Text.assemble(label, "  ", note)
    return label


def _same_form(a: Fill, b: Fill) -> bool:
    return a.title == b.title and [f.name for f in a.fields] == [f.name for f in b.fields]
