"""The incident policy: severities, cadences, targets, escalation, roles, checklist.

Defaults come from the process documents in `shared/process/` (the "Incident Response Plan"
severity table, escalation matrix and target SLAs; the P0..P3 table's notifications; the
resolution checklist and the postmortem template). Every field can be overridden from the
config file, which is validated into these same classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum


class Status(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


STATUS_ORDER: tuple[Status, ...] = tuple(Status)

MILESTONES: tuple[str, ...] = (
    "impact_started",
    "detected",
    "acknowledged",
    "identified",
    "mitigated",
    "resolved",
)

AUDIENCES: tuple[str, ...] = ("internal", "stakeholders", "status-page", "customers")
"""Who an update is for (the composer's templates say which; channels carry some of them)."""
PUBLIC_AUDIENCE = "status-page"
"""Updates for this audience are public: the status page shows them, and nothing else."""

POSTMORTEM_FIELDS: dict[str, str] = {
    "summary": "Summary",
    "impact": "Impact",
    "root_cause": "Root Cause",
    "contributing_factors": "Contributing Factors",
    "went_well": "What Went Well",
    "could_improve": "What Could Be Improved",
}


# Frozen dataclasses, not pydantic models: the console reads the policy before its first
# frame, and pydantic costs ~100 ms to import. The config file is validated by pydantic
# (warroom.config_schema) into these same classes.


@dataclass(frozen=True)
class SeverityLevel:
    name: str
    label: str
    definition: str
    response_time: str
    update_every: timedelta
    aliases: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    mtta_target: timedelta | None = None
    mttr_target: timedelta | None = None
    notification: str = ""
    customer_communication: str = ""
    escalate_to: str = ""
    escalates: bool = True
    postmortem_required: bool = False

    @property
    def pages_on_call(self) -> bool:
        """Whether declaring at this level pages on-call: its notification says "Page
        on-call" (001's P0/P1; "Notify on-call (no page)" does not). Configurable through
        `[severity.SEVn] notification`."""
        return "page on-call" in self.notification.lower()


@dataclass(frozen=True)
class EscalationStep:
    level: int
    after: timedelta
    who: tuple[str, ...]
    notify: str = ""
    extra_for: dict[str, tuple[str, ...]] = field(default_factory=dict)
    channels: tuple[str, ...] = ()
    """The configured channels (`[channels.NAME]`, e.g. a PagerDuty service) that page this
    level's people; empty: the console only says who to call."""
    auto: bool = False
    """Page the channels as soon as elapsed time reaches the level (no key needed)."""

    def people(self, severity: str) -> list[str]:
        return [*self.who, *self.extra_for.get(severity, ())]


@dataclass(frozen=True)
class RoleDef:
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    duties: str = ""


@dataclass(frozen=True)
class Targets:
    mttd: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class AlertRules:
    """How alerts from monitoring meet incidents (config `[alerts]`).

    `service_label` names the service an alert is about: at intake, an alert whose service is
    a component of an open incident is attached to it (`attach`), and declaring an incident
    from an alert makes that service its component. `severities` maps the `severity_label`
    value to a suggested level (the Incident Commander confirms it); any other value
    suggests `default_severity`.
    """

    service_label: str = "service"
    severity_label: str = "severity"
    severities: tuple[tuple[str, str], ...] = (("critical", "SEV2"), ("warning", "SEV3"))
    default_severity: str = "SEV3"
    attach: bool = True

    def severity_for(self, value: str) -> str:
        wanted = value.strip().casefold()
        for label, level in self.severities:
            if label.casefold() == wanted:
                return level
        return self.default_severity


@dataclass(frozen=True)
class Policy:
    severities: tuple[SeverityLevel, ...]
    escalation: tuple[EscalationStep, ...]
    roles: tuple[RoleDef, ...]
    checklist: tuple[str, ...]
    post_resolution: tuple[str, ...] = ()
    targets: Targets = Targets()
    amber_before: timedelta = timedelta(minutes=5)
    """The cadence countdown turns amber this long before an update is due."""
    ic_missing_warning: timedelta = timedelta(minutes=5)
    alerts: AlertRules = AlertRules()

    def severity(self, name: str) -> SeverityLevel:
        """The level for a name or alias (`SEV1`, `sev1`, `P0`, `1`); ValueError otherwise."""
        key = name.strip().upper()
        for level in self.severities:
            if key == level.name.upper() or key in (a.upper() for a in level.aliases):
                return level
        names = ", ".join(
            f"{lvl.name} ({'/'.join(lvl.aliases)})" if lvl.aliases else lvl.name
            for lvl in self.severities
        )
        raise ValueError(f"unknown severity {name!r}: use one of {names}")

    def role(self, name: str) -> RoleDef:
        """The role for a key, name or alias (`ic`, `Incident Commander`); ValueError otherwise."""
        key = _norm(name)
        for role in self.roles:
            if key in {_norm(role.key), _norm(role.name), *(_norm(a) for a in role.aliases)}:
                return role
        names = ", ".join("/".join([role.key, *role.aliases[:1]]) for role in self.roles)
        raise ValueError(f"unknown role {name!r}: use one of {names}")

    def role_name(self, key: str) -> str:
        try:
            return self.role(key).name
        except ValueError:
            return key.replace("_", " ").title()

    def escalation_for(self, severity: str) -> tuple[EscalationStep, ...]:
        try:
            level = self.severity(severity)
        except ValueError:
            return self.escalation
        return self.escalation if level.escalates else self.escalation[:1]


def _norm(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def parse_status(text: str) -> Status:
    key = text.strip().lower()
    for status in Status:
        if status.value == key or (len(key) >= 3 and status.value.startswith(key)):
            return status
    raise ValueError(f"unknown status {text!r}: use one of {', '.join(s.value for s in Status)}")


def _m(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


DEFAULT_POLICY = Policy(
    severities=(
        SeverityLevel(
            name="SEV1",
            label="Critical",
            aliases=("P0", "1"),
            definition="Complete service outage or data loss affecting all users.",
            examples=(
                "Complete database failure",
                "Authentication system down",
                "Data corruption or loss",
                "Security breach",
            ),
            response_time="Immediate",
            update_every=_m(15),
            mtta_target=_m(5),
            mttr_target=_m(60),
            notification="Page on-call, notify leadership",
            customer_communication="Email to all affected customers",
            escalate_to="Immediate to CTO/VP Engineering",
            postmortem_required=True,
        ),
        SeverityLevel(
            name="SEV2",
            label="High",
            aliases=("P1", "2"),
            definition=(
                "Major functionality degraded or unavailable for significant user population."
            ),
            examples=(
                "API performance degradation (>5s response time)",
                "Partial service outage",
                "Critical feature unavailable",
                "Severe performance issues",
            ),
            response_time="Within 15 minutes",
            update_every=_m(30),
            mtta_target=_m(15),
            mttr_target=_m(240),
            notification="Page on-call",
            customer_communication="Email to directly affected customers",
            escalate_to="Engineering Manager within 30 minutes",
            postmortem_required=True,
        ),
        SeverityLevel(
            name="SEV3",
            label="Medium",
            aliases=("P2", "3"),
            definition="Minor functionality issues or degradation affecting subset of users.",
            examples=(
                "Non-critical feature unavailable",
                "Performance degradation (<5s response time)",
                "Intermittent errors",
                "Minor data inconsistencies",
            ),
            response_time="Within 1 hour",
            update_every=_m(120),
            mtta_target=_m(60),
            mttr_target=_m(24 * 60),
            notification="Notify on-call (no page)",
            customer_communication="Status page only",
            escalate_to="Team Lead within 2 hours",
        ),
        SeverityLevel(
            name="SEV4",
            label="Low",
            aliases=("P3", "4"),
            definition="Minor issues with minimal user impact or cosmetic problems.",
            examples=("UI bugs", "Logging issues", "Documentation errors"),
            response_time="Within 24 hours",
            update_every=_m(24 * 60),
            notification="Create ticket",
            customer_communication="None required",
            escalate_to="None required",
            escalates=False,
        ),
    ),
    escalation=(
        EscalationStep(
            level=1, after=_m(0), who=("Primary on-call",), notify="PagerDuty, Email, SMS"
        ),
        EscalationStep(
            level=2,
            after=_m(15),
            who=("Backup on-call", "Team Lead"),
            notify="Phone call, SMS",
        ),
        EscalationStep(
            level=3,
            after=_m(30),
            who=("Engineering Manager", "Product Manager"),
            notify="Phone call",
        ),
        EscalationStep(
            level=4,
            after=_m(60),
            who=("VP Engineering", "CTO"),
            notify="Phone call",
            extra_for={"SEV1": ("CEO",)},
        ),
    ),
    roles=(
        RoleDef(
            key="incident_commander",
            name="Incident Commander",
            aliases=("ic", "commander"),
            duties="Coordinates response, makes decisions, manages escalations; does not fix.",
        ),
        RoleDef(
            key="tech_lead",
            name="Tech Lead",
            aliases=("tl", "technical_lead", "tech"),
            duties="Investigates root cause, implements the fix, reports findings to the IC.",
        ),
        RoleDef(
            key="comms_lead",
            name="Comms Lead",
            aliases=("cl", "communications", "communications_lead", "comms"),
            duties="Status page, stakeholder and customer updates on the cadence.",
        ),
        RoleDef(
            key="scribe",
            name="Scribe",
            duties="Documents the timeline and actions.",
        ),
    ),
    checklist=(
        "Issue fixed",
        "Service health metrics returned to normal",
        "No error alerts firing",
        "Monitored for 30 minutes (stable)",
        "Customer impact verified resolved",
    ),
    post_resolution=(
        'Update status page: "Resolved"',
        "Post in incident channel: Incident closed",
        "Thank everyone involved",
        "Schedule post-mortem (within 48 hours)",
    ),
)
