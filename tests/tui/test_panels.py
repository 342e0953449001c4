"""The panels are pure functions of state: tested without an app."""

from datetime import UTC

from tests.core.factory import Maker, at
from warroom.core.describe import conflict_sides
from warroom.core.policy import DEFAULT_POLICY
from warroom.core.state import project
from warroom.tui.widgets.panels import Context, roles_text

ev = Maker()


def test_conflict_sides_name_a_few_and_count_the_rest():
    assert conflict_sides(["a", "b"]) == "a vs b"
    assert conflict_sides(["a", "b", "c", "d", "e"], limit=2) == "a vs b (+3 more)"


def test_thousands_of_concurrent_writes_keep_the_roles_panel_short():
    # An importer that never names what it replaces makes every write "concurrent".
    events = [ev(0, "declared", {"title": "API down", "severity": "SEV2"})]
    events += [
        ev(1 + i / 1000, "role_assigned", {"role": "scribe", "person": f"p{i}"})
        for i in range(2000)
    ]
    state = project(events)
    text = roles_text(Context(state, DEFAULT_POLICY, at(5), UTC))
    assert "(+1998 more)" in text.plain
    assert len(text.plain.splitlines()) <= len(DEFAULT_POLICY.roles) + 2
