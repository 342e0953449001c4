"""The contract between the delivery engine and each kind of channel.

A channel is a named destination in the config (`[channels.NAME]`, kind slack, webhook,
email, statuspage or pagerduty). For every event a channel carries, one delivery is due;
the engine (`warroom.delivery.engine`) claims it, builds an `Outgoing`, and asks the channel
to `send` it. Channels are plain blocking code (they run in the engine's worker threads)
and know nothing of queues, leases or events in the log: they turn an `Outgoing` into the
remote service's requests and the answer into a `Delivered` or a `DeliveryError`.

Rules every channel keeps:
- the event id is the idempotency key: it travels with every request (a header, Slack
  message metadata, a Message-ID, a dedup key) so a retry can be recognised;
- `find` answers "was this already delivered?" for an attempt whose outcome is unknown
  (the process died mid-request), before the engine sends it again;
- `requests` shows exactly what `send` would send, secrets redacted (the dry run);
- text from an incident is data, never markup or a mention, unless the template wrote it;
- secrets (tokens, keys, webhook secrets) never appear in a `Request`, a `Delivered`, a
  `DeliveryError` reason, an event or a log line.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal, final

from warroom.core.deliveries import carries, told
from warroom.core.events import Event
from warroom.core.state import IncidentState

REDACTED = "[redacted]"

Lifecycle = Literal["declared", "severity", "status", "roles", "resolved"]
"""The lifecycle events a channel may carry (`on = [...]`), besides updates for its audiences."""


@dataclass(frozen=True)
class Delivered:
    """A delivery the remote service has: what it calls it, for later requests and people."""

    event_id: str
    ref: str
    """The remote id: Slack's message ts, a Statuspage incident id, PagerDuty's dedup key,
    an SMTP Message-ID, a webhook receiver's answer id (or the HTTP status)."""
    permalink: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)
    """Channel-specific facts later deliveries need (e.g. the Slack channel id of a thread)."""


@dataclass(frozen=True)
class Outgoing:
    """One delivery: an event of an incident, to one channel."""

    channel: str
    event: Event
    """What happened: an `update_posted`, or a lifecycle event (`declared`, `status_changed`,
    `severity_changed`, `role_assigned`/`role_released`)."""
    incident: IncidentState
    """The incident as it stands when delivering (a root message shows it)."""
    text: str
    """The words to send: the update's body as posted, or a line saying what changed.
    Already free of terminal escapes; channels escape it for their own markup."""
    previous: tuple[Delivered, ...] = ()
    """This incident's earlier successful deliveries on this channel, oldest first (the
    first is a Slack thread's root, a Statuspage incident...)."""
    links: Mapping[str, str] = field(default_factory=dict)
    """Where people can read more: `status_page`, `incident` (absent when unknown)."""

    @property
    def idempotency_key(self) -> str:
        return self.event.id


@dataclass(frozen=True)
class Request:
    """One request exactly as a channel would send it, secrets replaced by REDACTED."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: str
    """The body as sent: JSON text, form text, or an RFC 5322 message for email."""


class DeliveryError(Exception):
    """The remote did not take the delivery. `retry`: worth trying again (network, 5xx, 429);
    else permanent (a 4xx other than 429: shown in red, retried only when someone asks).
    `after`: seconds the remote asked to wait (Retry-After)."""

    def __init__(self, reason: str, *, retry: bool, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.after = after


class Channel(ABC):
    """One configured destination. Subclasses are built from their validated config."""

    kind: ClassVar[str]

    def __init__(
        self,
        name: str,
        *,
        audiences: frozenset[str],
        on: frozenset[Lifecycle],
        pace: float = 0.0,
    ) -> None:
        self.name = name
        self.audiences = audiences
        self.on = on
        self.pace = pace
        """Seconds to keep between two requests to this channel (the service's rate)."""

    @final
    def carries(self, event: Event) -> bool:
        """Whether this channel gets a delivery for `event`: the kind wants it, and the
        event does not keep itself from this channel (`untold`, checked here for every
        kind: kinds override `wants`, never this)."""
        return told(event, self.name) and self.wants(event)

    def wants(self, event: Event) -> bool:
        """Whether this kind of channel, as configured, takes `event` (its audiences and
        lifecycle events by default)."""
        return carries(event.kind, event.payload, self.audiences, self.on)

    @abstractmethod
    def requests(self, out: Outgoing) -> list[Request]:
        """What `send` would send for `out`, in order (the dry run)."""

    @abstractmethod
    def send(self, out: Outgoing) -> Delivered:
        """Deliver `out`; raises DeliveryError. Blocking; bounded by the channel's timeouts."""

    @abstractmethod
    def find(self, out: Outgoing) -> Delivered | None:
        """For an attempt whose outcome is unknown: the delivery if the remote has it, None
        if it surely does not (safe to send again). Raises DeliveryError when it cannot tell
        (then the engine retries the check later, never a blind resend where the remote
        could tell)."""

    @abstractmethod
    def test(self) -> Delivered:
        """Send a test message (`warroom channels test NAME`); raises DeliveryError."""

    def health(self) -> str:
        """A few words for `warroom channels`: configured, reachable, last failure..."""
        return "configured"
