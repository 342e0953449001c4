"""What the public may see of incidents: status-page posts and what follows from them.

The public status page (`warroom serve`'s `/status`), its JSON and feed, and the Statuspage
channel all read incidents through this module, so one rule decides what leaves the team: an
incident is public once someone posted an update for the status page (`PUBLIC_AUDIENCE`),
and then only its title, those posts, their phases, when it started and ended, and the
configured components it names. Never a note, another audience's update, an actor or a role.

Phases are Statuspage's (investigating, identified, monitoring, resolved, as in the process
documents' status-page template). Component states and impact follow the severity.
Text leaves as typed minus escapes, control characters and bidi overrides
(`core.outbound`): it is read in browsers and feed readers, and XML refuses controls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.core import clock
from warroom.core.outbound import outbound
from warroom.core.policy import Status
from warroom.core.state import IncidentState, PostRef

PHASES: tuple[str, ...] = tuple(s.value for s in Status)
TEMPLATE_PREFIX = "statuspage-"

COMPONENT_STATES: tuple[str, ...] = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
"""Statuspage's component statuses, least to most severe (maintenance is not ours)."""
STATE_LABELS: dict[str, str] = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
}
COMPONENT_STATE: dict[str, str] = {
    "SEV1": "major_outage",
    "SEV2": "partial_outage",
    "SEV3": "degraded_performance",
    "SEV4": "degraded_performance",
}
"""What an open incident of each severity does to the components it names."""
IMPACT: dict[str, str] = {"SEV1": "critical", "SEV2": "major", "SEV3": "minor", "SEV4": "none"}
"""Statuspage's `impact_override` for each severity."""
OVERALL: dict[str, str] = {
    "operational": "All systems operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
}
HISTORY = timedelta(days=90)


@dataclass(frozen=True)
class Component:
    """A component the public knows: `key` as incidents name it, `name` as shown."""

    key: str
    name: str


@dataclass(frozen=True)
class PageSettings:
    """The config's `[status_page]`: what the public page is called and lists."""

    title: str = "Service status"
    components: tuple[Component, ...] = ()
    url: str = ""
    """Where the page is published (for links in pages and feeds); empty: unknown."""

    def component(self, key: str) -> Component | None:
        wanted = key.strip().casefold()
        for component in self.components:
            if component.key.casefold() == wanted:
                return component
        return None


@dataclass(frozen=True)
class PublicPost:
    id: str
    at: datetime
    phase: str
    body: str

    @property
    def words(self) -> str:
        """The body without the phase it starts with ("Monitoring: A fix..." under a
        "Monitoring" heading reads "A fix..."), as pages show it; `body` is as posted."""
        head, sep, rest = self.body.partition(":")
        if sep and head.strip().lower() == self.phase and rest.strip():
            return rest.strip()
        return self.body


@dataclass(frozen=True)
class PublicIncident:
    id: str
    title: str
    phase: str
    impact: str
    started_at: datetime
    resolved_at: datetime | None
    components: tuple[Component, ...]
    posts: tuple[PublicPost, ...]
    """Newest first, as status pages show them."""
    component_state: str

    @property
    def active(self) -> bool:
        return self.resolved_at is None

    @property
    def updated_at(self) -> datetime:
        return self.posts[0].at if self.posts else self.started_at


@dataclass(frozen=True)
class Board:
    """Everything the public page shows, at one moment."""

    settings: PageSettings
    components: tuple[tuple[Component, str], ...]
    """Each configured component with its state now."""
    active: tuple[PublicIncident, ...]
    history: tuple[PublicIncident, ...]
    """Resolved within `HISTORY`, newest first."""
    now: datetime

    @property
    def overall(self) -> str:
        worst = max((state for _, state in self.components), key=_rank, default="operational")
        if self.active and worst == "operational":
            return "degraded_performance"  # an open incident on no listed component
        return worst

    @property
    def updated_at(self) -> datetime | None:
        times = [i.updated_at for i in (*self.active, *self.history)]
        return max(times, default=None)


def post_phase(template: str, body: str) -> str:
    """The phase a post announces: its template's (`statuspage-identified`), else the word
    its text starts with (`Monitoring: A fix...`, as the process template writes it), else
    "" (it carries the phase before it)."""
    if template.startswith(TEMPLATE_PREFIX) and template[len(TEMPLATE_PREFIX) :] in PHASES:
        return template[len(TEMPLATE_PREFIX) :]
    head = body.lstrip().split(":", 1)[0].strip().lower() if ":" in body[:40] else ""
    return head if head in PHASES else ""


def phases(posts: Iterable[PostRef]) -> list[str]:
    """Each post's phase, a post that names none carrying the one before (investigating
    at first)."""
    out: list[str] = []
    current = "investigating"
    for post in posts:
        current = post_phase(post.template, post.body) or current
        out.append(current)
    return out


def public_incident(state: IncidentState, settings: PageSettings) -> PublicIncident | None:
    """The incident as the public sees it, or None while nobody posted for the status page."""
    if not state.public_posts or state.declared_at is None:
        return None
    posts = state.public_posts
    phased = phases(posts)
    last = phased[-1]
    resolved_at: datetime | None = None
    if state.is_resolved:
        resolved_at = clock.resolved_at(state)
        last = "resolved"
    elif last == "resolved":  # posted as resolved before the status was changed
        run = len(phased)
        while run > 0 and phased[run - 1] == "resolved":
            run -= 1
        resolved_at = posts[run].time
    severity = state.current_severity
    named = [settings.component(c) for c in (state.components.value or [])]
    components = tuple(dict.fromkeys(c for c in named if c is not None))
    return PublicIncident(
        id=state.incident_id,
        title=outbound(state.title.value or "Incident"),
        phase=last,
        impact=IMPACT.get(severity, "minor"),
        started_at=posts[0].time,
        resolved_at=resolved_at,
        components=components,
        posts=tuple(
            PublicPost(p.id, p.time, ph, outbound(p.body))
            for p, ph in reversed(list(zip(posts, phased, strict=True)))
        ),
        component_state=COMPONENT_STATE.get(severity, "degraded_performance"),
    )


def board(states: Iterable[IncidentState], settings: PageSettings, now: datetime) -> Board:
    """The public page: components with their state, active incidents, the last 90 days."""
    public = [i for i in (public_incident(s, settings) for s in states) if i is not None]
    active = sorted((i for i in public if i.active), key=lambda i: i.started_at, reverse=True)
    since = now - HISTORY
    history = sorted(
        (i for i in public if i.resolved_at is not None and i.resolved_at >= since),
        key=lambda i: i.resolved_at or i.started_at,
        reverse=True,
    )
    components = []
    for component in settings.components:
        hit = [i.component_state for i in active if component in i.components]
        components.append((component, max(hit, key=_rank, default="operational")))
    return Board(settings, tuple(components), tuple(active), tuple(history), now)


def _rank(state: str) -> int:
    return COMPONENT_STATES.index(state) if state in COMPONENT_STATES else 0
