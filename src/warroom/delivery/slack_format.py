"""What a Slack message of warroom's says: mrkdwn text, Block Kit blocks, the plain fallback.

Pure functions (no network): `warroom.delivery.slack` sends what they build.

The rule for text (so nothing from outside pings a channel or becomes a link):
- every piece of text (plain_text objects too: Slack's escaping is the same everywhere) is
  `outbound` text with `&`, `<` and `>` escaped as Slack's formatting guide asks, so no one
  can write `<!here>`, `<@U123>` or `<https://evil|Click>`;
- messages are sent without `link_names` or `parse`, and mrkdwn text objects are `verbatim`,
  so Slack does not turn a typed `@here` or `#channel` into a mention or link by itself;
- the one way in for a mention is an update rendered from a template (`authored`): an ASCII
  `@here`, `@channel` or `@everyone` in it becomes `<!here>`... Field values were neutralised
  before rendering (`warroom.core.outbound`), so those can only be the template's own (or the
  words of the person who edited the update before posting it). Everything else (lifecycle
  lines, the root's status card, names) is `data`: mentions neutralised, then escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from warroom.core import clock
from warroom.core.events import Event
from warroom.core.outbound import MENTION, neutralise_mentions, outbound
from warroom.core.policy import Policy
from warroom.core.state import IncidentState

EVENT_TYPE = "warroom_delivery"
"""Message metadata `event_type` of every message warroom posts; its payload names the event."""

SECTION_LIMIT = 3000
"""Characters in a section's text object (Block Kit)."""
HEADER_LIMIT = 150
FALLBACK_LIMIT = 3000
"""The top-level `text` is for notifications and screen readers: the first part is enough."""
MAX_SECTIONS = 40
"""Sections for one update (a message holds at most 50 blocks)."""
ROOT_SECTIONS = 3
"""Sections of the announcement in a thread's root, which is rewritten on every update."""

_BROADCAST_KINDS = frozenset({"severity_changed"})


def escape(text: str) -> str:
    """Slack's three control characters as entities (its formatting guide: only these)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def data(text: str) -> str:
    """Text nobody wrote for Slack (names, titles, lifecycle lines): inert, escaped mrkdwn."""
    return escape(neutralise_mentions(outbound(text)))


def authored(text: str) -> str:
    """A rendered update: escaped mrkdwn whose own `@here`-style mentions notify."""
    return MENTION.sub(lambda m: f"<!{m[1].lower()}>", escape(outbound(text)))


def message_text(event: Event, text: str) -> str:
    """The mrkdwn for an event's text: authored for updates, data for everything else."""
    body = authored(text) if event.kind == "update_posted" else data(text)
    return body if body.strip() else "_(no text)_"


def broadcasts(event: Event) -> bool:
    """Whether a thread reply is also shown in the channel: severity changes, the resolution."""
    if event.kind in _BROADCAST_KINDS:
        return True
    if event.kind == "status_changed":
        return event.payload.get("status") == "resolved"
    return event.kind == "update_posted" and event.payload.get("template") == "resolution"


def metadata(event: Event) -> dict[str, Any]:
    """The event id travels with the message, so `find` can tell it was posted."""
    return {
        "event_type": EVENT_TYPE,
        "event_payload": {
            "event_id": event.id,
            "incident_id": event.incident_id,
            "kind": event.kind,
        },
    }


def _safe_cut(text: str, cut: int) -> int:
    """Move a cut back so it splits no entity (`&amp;`) and no `<!here>` token."""
    amp = text.rfind("&", max(cut - 6, 0), cut)
    if amp >= 0 and ";" not in text[amp:cut]:
        cut = amp
    lt = text.rfind("<", max(cut - 12, 0), cut)
    if lt >= 0 and ">" not in text[lt:cut]:
        cut = lt
    return cut


def chunks(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """mrkdwn cut into pieces of at most `limit` characters, at line ends where possible."""
    out: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut <= limit // 2:
            cut = text.rfind(" ", 0, limit + 1)
        if cut <= limit // 2:
            cut = limit
        cut = _safe_cut(text, cut) or limit
        out.append(text[:cut])
        text = text[cut:].lstrip("\n")
    out.append(text)
    return [piece for piece in out if piece.strip()]


def truncated(pieces: list[str], keep: int) -> list[str]:
    """At most `keep` pieces; the last one says that the rest was cut."""
    if len(pieces) <= keep:
        return pieces
    note = "\n_… (cut here: the whole update is in warroom)_"
    last = pieces[keep - 1]
    last = last[: _safe_cut(last, SECTION_LIMIT - len(note)) or 0] + note
    return [*pieces[: keep - 1], last]


def fallback(mrkdwn: str, limit: int = FALLBACK_LIMIT) -> str:
    """The top-level `text`: the message's start, cut cleanly."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    return mrkdwn[: _safe_cut(mrkdwn, limit - 1)] + "…"


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def to_dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    """Blocks as JSON objects, validated by slack_sdk's models on the way."""
    return [block.to_dict() for block in blocks]


def reply_blocks(mrkdwn: str, context: str) -> list[dict[str, Any]]:
    """A thread reply: the text in sections, then a context line."""
    sections: list[Block] = [
        SectionBlock(text=_mrkdwn(piece)) for piece in truncated(chunks(mrkdwn), MAX_SECTIONS)
    ]
    return to_dicts([*sections, ContextBlock(elements=[_mrkdwn(context)])])


def root_announcement(mrkdwn: str) -> str:
    """What of the first message a root keeps (and shows again on each rewrite)."""
    return "\n".join(truncated(chunks(mrkdwn), ROOT_SECTIONS))


@dataclass(frozen=True)
class Card:
    """The incident as the root message shows it, kept current in place."""

    title: str
    severity: str
    status: str
    commander: str
    next_update: str
    """mrkdwn: a `<!date^...>` each reader sees in their own time zone, or a dash."""


def card(state: IncidentState, policy: Policy, now: datetime) -> Card:
    sev = state.current_severity
    try:
        label = policy.severity(sev).label
        severity = f"{sev} · {label}"
    except ValueError:
        severity = sev
    ic = state.holder("incident_commander")
    next_update = "—"
    if state.is_resolved:
        next_update = "— (resolved)"
    else:
        try:
            due = clock.cadence(state, policy, now).due_at
        except ValueError:
            due = None
        if due is not None:
            utc = due.astimezone(UTC)
            plain = utc.strftime("%Y-%m-%d %H:%M UTC")
            next_update = f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{plain}>"
    return Card(
        title=outbound(state.title.value or "Untitled incident"),
        severity=data(severity),
        status=data(state.current_status.title()),
        commander=data(str(ic.value)) if ic else "_unassigned_",
        next_update=next_update,
    )


def link(url: str, label: str) -> str:
    """A `<url|label>` for a URL from the config (http/https only), else nothing."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    safe = escape(quote(url, safe=":/?#[]@!$&'()*+,;=%~"))
    return f"<{safe}|{escape(label)}>"


def root_blocks(announcement: str, card: Card, links: dict[str, str]) -> list[dict[str, Any]]:
    """The thread's root: title, the first message, the status card, where to read more."""
    title = fallback(data(card.title.replace("\n", " ")), HEADER_LIMIT)
    fields = [
        _mrkdwn(f"*Severity*\n{card.severity}"),
        _mrkdwn(f"*Status*\n{card.status}"),
        _mrkdwn(f"*Incident Commander*\n{card.commander}"),
        _mrkdwn(f"*Next update*\n{card.next_update}"),
    ]
    where = ["Updates in this thread"]
    for key, label in (("incident", "Incident"), ("status_page", "Status page")):
        if key in links and (made := link(links[key], label)):
            where.append(made)
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=title or "Incident", emoji=True))]
    blocks += [SectionBlock(text=_mrkdwn(piece)) for piece in chunks(announcement)]
    blocks += [SectionBlock(fields=fields), ContextBlock(elements=[_mrkdwn(" · ".join(where))])]
    return to_dicts(blocks)


def context_line(event: Event) -> str:
    """Who and what, under a reply."""
    if event.kind == "update_posted":
        what = f"{event.payload.get('audience', 'internal')} update"
    else:
        what = event.kind.replace("_", " ")
    return data(f"{what} · {event.actor}")
