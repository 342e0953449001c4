"""Communication templates from the process documents, and the fields they are filled with.

Templates are data a team may override with files, so they are untrusted: they render in
`warroom.sandbox` (jinja2's sandbox in a worker process with time, output and memory
limits), never here, and the context holds plain strings only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from warroom.core import clock
from warroom.core.export.markdown import channel_name
from warroom.core.outbound import neutralise_mentions, outbound
from warroom.core.policy import Policy
from warroom.core.state import IncidentState


@dataclass(frozen=True)
class Template:
    key: str
    name: str
    audience: str
    source: str
    only_for: tuple[str, ...] = ()  # severities it applies to (empty: all)


DEFAULT_TEMPLATES: tuple[Template, ...] = (
    Template(
        "initial",
        "Initial announcement (internal)",
        "internal",
        "@here Incident declared: {{ title }}\n"
        "Severity: {{ severity }}\n"
        "Impact: {{ impact }}\n"
        "Incident Channel: {{ channel }}\n"
        "IC: @{{ ic }}\n"
        "Next Update: {{ next_update }}",
    ),
    Template(
        "status-update",
        "Internal status update",
        "internal",
        "[STATUS UPDATE - {{ now }}]\n"
        "Severity: {{ severity }}\n"
        "Status: {{ status_title }}\n"
        "Impact: {{ impact }}\n"
        "Actions: {{ actions }}\n"
        "Next Update: {{ next_update }}",
    ),
    Template(
        "stakeholder",
        "Stakeholder update",
        "stakeholders",
        "**Status Update - {{ now }}**\n\n"
        "Current Status: {{ status }}\n\n"
        "What we know:\n- {{ impact }}\n\n"
        "What we're doing:\n- {{ actions }}\n\n"
        "Next update: {{ next_update }}",
    ),
    Template(
        "statuspage-investigating",
        "Status page: Investigating",
        "status-page",
        "Investigating: We are investigating reports of {{ title }}. Some customers may be "
        "experiencing {{ impact }}. We will provide updates as we learn more.",
    ),
    Template(
        "statuspage-identified",
        "Status page: Identified",
        "status-page",
        "Identified: We have identified the issue affecting {{ components }} and are working "
        "on a resolution.",
    ),
    Template(
        "statuspage-monitoring",
        "Status page: Monitoring",
        "status-page",
        "Monitoring: A fix has been deployed and we are monitoring the results.",
    ),
    Template(
        "statuspage-resolved",
        "Status page: Resolved",
        "status-page",
        "Resolved: The issue affecting {{ components }} has been resolved as of {{ now }}. "
        "All systems are operating normally. We apologize for any inconvenience. A detailed "
        "post-mortem will be published within 48 hours.",
    ),
    Template(
        "customer-email",
        "Customer email (SEV1/SEV2)",
        "customers",
        "Subject: [{{ status_title }}] {{ title }}\n\n"
        "What happened: {{ title }}.\n"
        "Impact: {{ impact }}\n"
        "Status: {{ status_title }} (since {{ started }}, {{ elapsed }} ago)\n"
        "ETA: {{ eta }}\n\n"
        "We will follow up when the issue is resolved.",
        only_for=("SEV1", "SEV2"),
    ),
    Template(
        "resolution",
        "Resolution (internal)",
        "internal",
        "INCIDENT RESOLVED\n"
        "Resolution Time: {{ duration }}\n"
        "Root Cause: {{ root_cause }}\n"
        "Fix Implemented: {{ fix }}\n"
        "Follow-up: Postmortem scheduled for {{ postmortem_by }}",
    ),
)


_DOING = {
    "investigating": "investigating the cause",
    "identified": "working on a fix for the identified cause",
    "monitoring": "a fix is deployed; monitoring the results",
    "resolved": "resolved; postmortem to follow",
}


def suggested(state: IncidentState) -> str:
    """The template a responder most likely wants right now, from the incident's status."""
    if state.is_resolved:
        return "resolution"
    if state.update_count == 0:
        return "initial"
    return "status-update"


def context(state: IncidentState, policy: Policy, now: datetime, tz: tzinfo) -> dict[str, str]:
    """Fields filled from incident state; plain strings so templates can't reach objects.

    Values are data: their `@here`/`@channel`/`@everyone` are neutralised, so that only the
    template's own mentions reach a channel (see `warroom.core.outbound`)."""
    cad = clock.cadence(state, policy, now)
    every = cad.every
    next_at = now + every if not state.is_resolved else None

    def hhmm(at: datetime | None) -> str:
        return at.astimezone(tz).strftime("%H:%M %Z") if at else "n/a"

    ic = state.holder("incident_commander")
    start = clock.impact_started_at(state) or clock.detected_at(state)
    end = clock.resolved_at(state) or now
    root = state.postmortem.get("root_cause")
    components = ", ".join(state.components.value or []) or "our service"
    fields = {
        "title": state.title.value or "Untitled incident",
        "severity": state.current_severity,
        "status": state.current_status,
        "status_title": state.current_status.title(),
        "impact": state.impact.value or "impact under assessment",
        "components": components,
        "ic": ic.value if ic else "unassigned",
        "channel": channel_name(state, tz),
        "now": hhmm(now),
        "next_update": hhmm(next_at),
        "cadence": clock.format_duration(every),
        "started": hhmm(start),
        "elapsed": clock.format_duration(now - start) if start else "n/a",
        "duration": clock.format_duration(end - start) if start else "n/a",
        "actions": _DOING.get(state.current_status, "[what we are doing]"),
        "eta": "unknown",
        "root_cause": root.value if root and root.value else "[brief description]",
        "fix": "[description]",
        "postmortem_by": hhmm(now + timedelta(hours=48)),
    }
    return {k: neutralise_mentions(outbound(v)) for k, v in fields.items()}
