"""The pure half of templates: which one to suggest, and the fields they are filled with."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from tests.core.factory import Maker, at
from warroom.core.policy import DEFAULT_POLICY
from warroom.core.state import project
from warroom.core.templates import DEFAULT_TEMPLATES, context, suggested

ev = Maker()
UTC = ZoneInfo("UTC")


def declared(**kw):
    return ev(0, "declared", {"title": "API down", "severity": "SEV2", **kw})


def test_the_suggestion_follows_the_incident():
    d = declared()
    assert suggested(project([d])) == "initial"
    posted = ev(5, "update_posted", {"body": "x"})
    assert suggested(project([d, posted])) == "status-update"
    resolved = ev(9, "status_changed", {"status": "resolved"})
    assert suggested(project([d, posted, resolved])) == "resolution"
    assert {"initial", "status-update", "resolution"} <= {t.key for t in DEFAULT_TEMPLATES}


def test_fields_are_plain_strings_without_terminal_escapes():
    state = project([declared(title="API \x1b]0;pwned\x07down", impact="EU \x1b[31mcheckout")])
    fields = context(state, DEFAULT_POLICY, at(10), UTC)
    assert all(type(v) is str for v in fields.values())
    assert fields["title"] == "API down" and fields["impact"] == "EU checkout"
    assert fields["severity"] == "SEV2" and fields["ic"] == "unassigned"


def test_every_field_a_built_in_template_uses_is_in_the_context():
    import re

    fields = context(project([declared()]), DEFAULT_POLICY, at(10), UTC)
    used = {name for t in DEFAULT_TEMPLATES for name in re.findall(r"{{ (\w+) }}", t.source)}
    assert used and used <= set(fields)
