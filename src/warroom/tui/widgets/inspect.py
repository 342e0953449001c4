"""The panes that answer "why is it crashing?" and "what changed?" beside the pods pane:
events, describe, and rollout history, for the pod chosen there.

Each is a status line over a list (Textual's OptionList: a cursor, long lines wrapped). They
show what the cluster row hands them (`show`), and report what people ask for: `p` pins the
highlighted line into the timeline as evidence (`Pinned`), `U` in the history rolls back to
the highlighted revision (`UndoTo`). They read nothing themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from warroom.core.text import one_line
from warroom.keymap import specs

GREY = "#8a8a8a"
RED = "bold #ff5f5f"
AMBER = "#ffaf00"


@dataclass(frozen=True)
class Evidence:
    """What pinning a line records (see `warroom.core.commands.PinClusterFact`)."""

    source: str
    """"event", "describe", "rollout"."""
    object: str
    namespace: str
    text: str
    observed_at: int | None = None
    """When the cluster says it happened (ns), if it says."""


@dataclass(frozen=True)
class Item:
    """One line of a pane: its key (kept under the cursor across refreshes), what is drawn,
    and what pinning it records (None: a heading)."""

    key: str
    prompt: Text
    evidence: Evidence | None = None
    revision: int | None = None


class InspectPane(Widget):
    """A status line over a list of items; `p` pins the highlighted one."""

    BINDINGS = [
        Binding(s.key, s.action, s.description, show=s.show, id=s.id) for s in specs("detail")
    ]
    title = "Inspect"

    class Pinned(Message):
        def __init__(self, evidence: Evidence) -> None:
            super().__init__()
            self.evidence = evidence

    class Closed(Message):
        """The person is done with this pane: the pods pane takes the room again."""

    class UndoTo(Message):
        def __init__(self, where: str, deployment: str, revision: int) -> None:
            super().__init__()
            self.where = where
            """The deployment's namespace."""
            self.deployment = deployment
            self.revision = revision

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[Any, ...] = ()
        self._said: Text | None = None
        self._title = ""
        self.items: list[Item] = []

    def compose(self) -> ComposeResult:
        yield Static("", classes="inspect-status")
        yield OptionList(classes="inspect-list")

    def on_mount(self) -> None:
        self.border_title = self.title

    def on_resize(self) -> None:
        """Lines rewrap when the width changes (the pods pane narrows as this one takes the
        focus): scroll from the top to the cursor again, so what is in view depends on where
        the cursor is, not on the widths the pane went through."""
        self.call_after_refresh(self._rescroll)

    def _rescroll(self) -> None:
        options = self.list
        options.scroll_home(animate=False, immediate=True)
        options.scroll_to_highlight()

    @property
    def list(self) -> OptionList:
        return self.query_one(OptionList)

    def focus_list(self) -> None:
        self.list.focus()

    def show(
        self, status: Text, items: Sequence[Item], title: str = "", start: str | None = None
    ) -> None:
        """Replace what is listed, keeping the cursor on the same item (by key), else on
        `start`'s, else on the first that can be pinned; nothing is redrawn when nothing
        changed (the cluster row asks every second)."""
        if title and title != self._title:
            self._title = title
            # a Text: a str title is parsed as markup, and names come from the cluster
            self.border_title = Text(one_line(title, 200))
        if status != self._said:
            self._said = status
            self.query_one(".inspect-status", Static).update(status)
        shown = tuple(
            (i.key, i.prompt.plain, str(i.prompt.style), i.evidence is None) for i in items
        )
        if shown == self._shown:
            return
        self._shown = shown
        options = self.list
        highlighted = options.highlighted
        under = (
            self.items[highlighted].key
            if highlighted is not None and highlighted < len(self.items)
            else None
        )
        self.items = list(items)
        options.clear_options()
        options.add_options(
            [
                Option(i.prompt, id=f"{n}", disabled=i.evidence is None and i.revision is None)
                for n, i in enumerate(self.items)
            ]
        )
        keys = [i.key for i in self.items]
        if under in keys:
            options.highlighted = keys.index(under)
        elif start in keys:
            options.highlighted = keys.index(start)
        else:
            first = next((n for n, i in enumerate(self.items) if i.evidence or i.revision), None)
            options.highlighted = first

    @property
    def chosen(self) -> Item | None:
        index = self.list.highlighted
        if index is None or index >= len(self.items):
            return None
        return self.items[index]

    def action_pin(self) -> None:
        item = self.chosen
        if item is not None and item.evidence is not None:
            self.post_message(self.Pinned(item.evidence))

    def action_close(self) -> None:
        self.post_message(self.Closed())

    def action_undo(self) -> None:
        """Only the history pane rolls back (see `RolloutsPane`)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo":
            return isinstance(self, RolloutsPane)
        return True


class EventsPane(InspectPane):
    title = "Events"


class DescribePane(InspectPane):
    title = "Describe"


class RolloutsPane(InspectPane):
    title = "Rollout history"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.namespace = ""
        self.deployment = ""

    def action_undo(self) -> None:
        item = self.chosen
        if item is not None and item.revision is not None and self.deployment:
            self.post_message(self.UndoTo(self.namespace, self.deployment, item.revision))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_undo()
