"""Slack: text from outside never pings a channel or becomes a link; a template's mention does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from tests.delivery.events import Incident
from tests.delivery.slack_fake import SlackFake
from warroom.core.policy import DEFAULT_POLICY
from warroom.core.state import project
from warroom.core.templates import DEFAULT_TEMPLATES, context
from warroom.delivery import slack_format as fmt
from warroom.delivery.slack import SlackChannel

HOSTILE = "@here <!channel> <https://evil.example|click me> & <@U0BOSS> \x1b[31mred\u202e"


def _everything(message: dict) -> str:  # type: ignore[type-arg]
    parts = [message["text"]]
    for block in message["blocks"]:
        parts += [block.get("text", {}).get("text", "")]
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e["text"] for e in block.get("elements", [])]
    return "\n".join(parts)


def test_hostile_fields_reach_slack_inert_and_the_templates_here_pings(
    slack: SlackFake, incidents_channel: str, make_slack: Callable[..., SlackChannel]
) -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    incident = Incident()
    declared = incident.declare(HOSTILE, "SEV1", impact=HOSTILE)
    state = project(incident.events)
    fields = context(state, DEFAULT_POLICY, datetime.now(UTC), UTC)
    initial = next(t for t in DEFAULT_TEMPLATES if t.key == "initial")
    body = ImmutableSandboxedEnvironment().from_string(initial.source).render(**fields)
    update = incident.update(body, template="initial")

    channel = make_slack()
    root = channel.send(incident.out(update))
    assert root.ref
    channel.send(incident.out(declared, (root,), text=f"Incident declared: {HOSTILE}"))
    first, lifecycle = slack.posted(incidents_channel)

    everything = _everything(first) + _everything(lifecycle)
    # the template's own "@here" is the one and only mention
    assert everything.count("<!here>") == 2  # in the root's blocks and its fallback text
    assert first["text"].startswith("<!here> Incident declared: ")
    assert "<!channel>" not in everything and "<@U0BOSS>" not in everything
    assert "<https://evil" not in everything
    assert "&lt;!channel&gt;" in everything and "&lt;@U0BOSS&gt;" in everything
    assert "&lt;https://evil.example|click me&gt;" in everything and " &amp; " in everything
    assert "\x1b" not in everything and "\u202e" not in everything
    assert "＠here" in everything  # the field values' mentions, neutralised
    # the lifecycle line is data: its "@here" does not ping either
    assert "<!" not in _everything(lifecycle)


def test_rules_for_text() -> None:
    assert fmt.authored("@here a & b <x>") == "<!here> a &amp; b &lt;x&gt;"
    assert fmt.authored("mail ops@here.com, cc @channel.") == "mail ops@here.com, cc <!channel>."
    assert fmt.data("@here a & b <x>") == "＠here a &amp; b &lt;x&gt;"
    assert fmt.link("https://status.example.com/a|b>c", "Status") == (
        "<https://status.example.com/a%7Cb%3Ec|Status>"
    )
    assert fmt.link("javascript:alert(1)", "x") == ""
    pieces = fmt.chunks("&amp;" * 700, 3000)
    assert all(p.startswith("&amp;") and p.endswith("&amp;") for p in pieces)
    assert "".join(pieces) == "&amp;" * 700


def test_what_is_broadcast_to_the_channel() -> None:
    incident = Incident()
    incident.declare()
    shown = {
        "severity": incident.add("severity_changed", {"severity": "SEV1"}),
        "resolved": incident.add("status_changed", {"status": "resolved"}),
        "resolution update": incident.update("INCIDENT RESOLVED", template="resolution"),
    }
    kept_in_thread = {
        "status": incident.add("status_changed", {"status": "monitoring"}),
        "update": incident.update("Still monitoring."),
        "role": incident.add("role_assigned", {"role": "scribe", "person": "dan"}),
    }
    assert {k: fmt.broadcasts(e) for k, e in shown.items()} == dict.fromkeys(shown, True)
    assert {k: fmt.broadcasts(e) for k, e in kept_in_thread.items()} == dict.fromkeys(
        kept_in_thread, False
    )


def test_a_long_title_fits_the_header() -> None:
    incident = Incident()
    incident.declare("x & y " * 60)
    card = fmt.card(project(incident.events), DEFAULT_POLICY, datetime.now(UTC))
    [header, *_] = fmt.root_blocks("hello", card, {})
    assert len(header["text"]["text"]) <= 150 and header["text"]["text"].endswith("…")
    assert "&amp;" in header["text"]["text"]
