"""What a flow asks the person at the keyboard, one step at a time, and what it ends with.

A flow (`warroom.tui.flows`) is a generator: it yields steps (pick one of these, fill these
fields, confirm this, tick these) and returns an outcome (commands to carry out, a filter to
apply, an incident to open...). `FlowScreen` shows the steps in one modal screen, so keys
typed between two steps land in the next step, never in the console behind it. Steps are
plain data: flows are tested without Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text

if TYPE_CHECKING:
    from warroom.core.commands import Command
    from warroom.store import TimelineFilter

# -- steps ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choose:
    """Pick one option; the answer is its value."""

    title: str
    options: tuple[tuple[str, str], ...]
    """(value, label) pairs; labels are outside text, shown literally."""
    current: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    value: str = ""
    placeholder: str = ""
    required: bool = True
    parse: Callable[[str], Any] | None = None
    """Turns the typed text into the answer; a ValueError is shown beside the field."""


@dataclass(frozen=True)
class Fill:
    """A few text fields; the answer maps each field's name to its (parsed) value.

    A refused answer comes back as the same step with the typed values kept and the reason
    beside the field it is about (`again`).
    """

    title: str
    fields: tuple[Field, ...]
    errors: Mapping[str, str] = field(default_factory=dict)
    error: str = ""

    def again(self, values: Mapping[str, Any], exc: Exception) -> Fill:
        """This step with what was typed and the error where it belongs."""
        typed = tuple(replace(f, value=_shown(values.get(f.name, f.value))) for f in self.fields)
        where = getattr(exc, "field", None)
        names = {f.name for f in self.fields}
        if where in names:
            return replace(self, fields=typed, errors={where: str(exc)}, error="")
        return replace(self, fields=typed, errors={}, error=str(exc))


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Confirm:
    """Yes or no (Enter/y or Esc/n); the answer is a bool."""

    title: str
    body: Text
    action: str = "confirm"


@dataclass(frozen=True)
class Tick:
    """Tick items in groups; the answer maps each changed item to its new value."""

    title: str
    groups: tuple[tuple[str, tuple[str, ...]], ...]
    """(heading, items) in order; items are unique across groups."""
    checked: frozenset[str] = frozenset()
    notes: Mapping[str, Text] = field(default_factory=dict)
    """Evidence shown beside an item (e.g. the alerts still firing)."""


@dataclass(frozen=True)
class Browse:
    """Look through a list, the highlighted item's details beneath it, and act on it with a
    key; the answer is (action, value), None when closed."""

    title: str
    items: tuple[tuple[str, str | Text], ...]
    """(value, label) pairs; an empty value is a heading. A string label is outside text
    (cleaned and cut); a `Text` is taken as built from cleaned pieces (columns kept)."""
    details: Mapping[str, Text]
    """What is shown beneath the list for each value."""
    keys: tuple[tuple[str, str, str], ...]
    """(key, action, what it does): `enter` or a letter."""
    note: str = ""
    current: str | None = None


@dataclass(frozen=True)
class Read:
    """Text to read (history, keys); the answer is None."""

    title: str
    body: Text


@dataclass(frozen=True)
class Load:
    """Fetch something slow (a cluster's namespaces) in a worker thread; the answer is its
    result, or the exception it raised (the flow decides what to say)."""

    what: str
    fetch: Callable[[], Any]

    @property
    def title(self) -> str:
        return f"Loading {self.what}…"


Step = Choose | Fill | Confirm | Tick | Read | Load | Browse

# -- outcomes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submit:
    """Carry out commands: on the open incident, on a new one (`declare`), or on the one
    named (`incident_id`: the alert inbox)."""

    commands: tuple[Command, ...]
    message: str
    declare: bool = False
    incident_id: str | None = None


@dataclass(frozen=True)
class ApplyFilter:
    filter: TimelineFilter


@dataclass(frozen=True)
class JumpTo:
    moment: datetime


@dataclass(frozen=True)
class OpenIncident:
    incident_id: str


@dataclass(frozen=True)
class SwitchCluster:
    context: str
    namespace: str | None
    all_namespaces: bool = False


@dataclass(frozen=True)
class Picked:
    """What a pane's dialog chose (a revision, a since-window, a directory): the pane that
    opened the flow carries it out."""

    value: Any


@dataclass(frozen=True)
class Notice:
    """Nothing to do but say something (e.g. "you already have command")."""

    message: str
    error: bool = False


Outcome = Submit | ApplyFilter | JumpTo | OpenIncident | SwitchCluster | Picked | Notice | None
Flow = Generator[Step, Any, Outcome]
