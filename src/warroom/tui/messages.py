"""What the console's threads tell its UI thread. Workers post these; handlers own state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from warroom.core.alerts import AlertBoard
from warroom.core.deliveries import RESULT_KINDS, Deliveries
from warroom.core.events import Event
from warroom.core.state import IncidentState
from warroom.store import EventLog, TimelineFilter
from warroom.tui.widgets.timeline import PAGE

if TYPE_CHECKING:
    from warroom.core.templates import Template
    from warroom.delivery.local import Deliverer
    from warroom.sync.engine import Syncer
    from warroom.tui.delivery_text import Routing
    from warroom.tui.steps import Flow
    from warroom.tui.writer import Write


class Refreshed(Message):
    """The log changed (or a refresh was asked for): fresh state and timeline size."""

    def __init__(
        self,
        incident_id: str,
        head: int,
        state: IncidentState,
        total: int,
        pages: dict[int, list[Event]],
        flt: TimelineFilter,
        board: AlertBoard | None = None,
        deliveries: Deliveries | None = None,
    ) -> None:
        super().__init__()
        self.deliveries = deliveries or Deliveries()
        """What became of each delivery of the incident's events."""
        self.board = board
        """Every alert (the inbox and each incident's)."""
        self.incident_id = incident_id
        self.head = head
        self.state = state
        self.total = total
        self.pages = pages
        """The timeline pages the cursor will sit on (and the one above it), fetched ahead."""
        self.filter = flt
        """The filter it was read with: a reply to an older filter is dropped."""


CONSOLE_FILTER = TimelineFilter(exclude=RESULT_KINDS)
"""What the timeline shows unless filtered: every event but delivery results, which are
folded into the line of the event they are about (`kind:delivery` shows them)."""


def read_view(
    store: EventLog, incident_id: str, flt: TimelineFilter, cursor: int | None
) -> Refreshed:
    """What the console shows of an incident: its state, what became of its deliveries, and
    the timeline pages around the cursor (None: the newest), read in one go. Raises
    StoreError."""
    head = store.timeline.head()
    state = store.state(incident_id)
    deliveries = store.deliveries.results(incident_id)
    if flt.is_empty:
        total = state.event_count
    elif flt == CONSOLE_FILTER:  # counted without a scan of a 100k-event incident
        total = state.event_count - deliveries.recorded
    else:
        total = store.timeline.count(incident_id, flt)
    number = (max(total - 1, 0) if cursor is None else min(cursor, total)) // PAGE
    wanted = [number - 1, number] if cursor is None and number else [number]
    pages = {n: store.timeline.page(incident_id, n * PAGE, PAGE, flt, total) for n in wanted}
    return Refreshed(incident_id, head, state, total, pages, flt, store.alerts(), deliveries)


class AlertsRead(Message):
    """With no incident open: the alert board as the log holds it."""

    def __init__(self, head: int, board: AlertBoard) -> None:
        super().__init__()
        self.head = head
        self.board = board


class ReadFailed(Message):
    """The poller could not read the log (busy, damaged, gone): shown, and retried."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class Written(Message):
    """A write is on disk."""

    def __init__(self, write: Write, events: list[Event]) -> None:
        super().__init__()
        self.write = write
        self.events = events


class WriteFailed(Message):
    """A write was refused or failed; nothing of it was stored."""

    def __init__(self, write: Write | None, reason: str) -> None:
        super().__init__()
        self.write = write
        self.reason = reason


class SyncStarted(Message):
    def __init__(self, syncer: Syncer) -> None:
        super().__init__()
        self.syncer = syncer


class Pulled(Message):
    """Sync stored events from the server (posted from the sync thread)."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count


class SyncUnavailable(Message):
    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class DeliveryStarted(Message):
    """This machine delivers to the config's channels (no server is configured)."""

    def __init__(self, deliverer: Deliverer) -> None:
        super().__init__()
        self.deliverer = deliverer


class DeliveryUnavailable(Message):
    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class RoutingRead(Message):
    """Which channels carry what, from this machine's config or the server."""

    def __init__(self, routing: Routing) -> None:
        super().__init__()
        self.routing = routing


class IncidentsListed(Message):
    """Every incident with its state, for the picker (`o`, or at start-up)."""

    def __init__(self, rows: list[tuple[str, IncidentState]], at_start: bool) -> None:
        super().__init__()
        self.rows = rows
        self.at_start = at_start


class Exported(Message):
    def __init__(self, path: str, error: str = "") -> None:
        super().__init__()
        self.path = path
        self.error = error


class Jumped(Message):
    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index


class FlowReady(Message):
    """A worker gathered what a flow needs (e.g. the kubeconfig's contexts): start it."""

    def __init__(self, flow: Flow) -> None:
        super().__init__()
        self.flow = flow


class ComposerReady(Message):
    """Templates read and their fields filled, off the UI thread: open the composer."""

    def __init__(
        self,
        state: IncidentState,
        templates: list[Template],
        problems: list[str],
        fields: dict[str, str],
    ) -> None:
        super().__init__()
        self.state = state
        self.templates = templates
        self.problems = problems
        self.fields = fields
