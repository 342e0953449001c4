from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.factory import INCIDENT, Maker, at
from warroom.core.state import project

ev = Maker()


def declared(minute=0, **kw):
    payload = {"title": "API down", "severity": "SEV2", **kw}
    return ev(minute, "declared", payload)


def test_declaration_sets_every_field():
    s = project([declared(impact="all EU users", components=["api"])])
    assert s.title.value == "API down"
    assert s.current_severity == "SEV2"
    assert s.current_status == "investigating"
    assert s.impact.value == "all EU users"
    assert s.components.value == ["api"]
    assert s.declared_at == at(0)
    assert s.declared_by == "alice"


def test_last_writer_wins_by_clock_not_by_arrival():
    d = declared()
    late = ev(5, "severity_changed", {"severity": "SEV1", "replaces": d.id})
    early = ev(3, "severity_changed", {"severity": "SEV3", "replaces": d.id})
    s = project([d, late, early])
    assert s.current_severity == "SEV1"


def test_concurrent_changes_are_a_visible_conflict_with_one_winner():
    d = declared()
    mine = ev(
        5, "role_assigned", {"role": "incident_commander", "person": "alice", "replaces": None}
    )
    theirs = Maker("dev-b")(
        5, "role_assigned", {"role": "incident_commander", "person": "bob"}, "bob"
    )
    s = project([d, mine, theirs])
    [conflict] = s.conflicts()
    assert conflict.field == "role incident_commander"
    assert {e.value for e in conflict.entries} == {"alice", "bob"}
    assert s.holder("incident_commander").value == conflict.winner.value


def test_sequential_changes_are_not_conflicts():
    d = declared()
    a = ev(1, "severity_changed", {"severity": "SEV1", "replaces": d.id})
    b = ev(2, "severity_changed", {"severity": "SEV3", "replaces": a.id})
    assert project([d, a, b]).conflicts() == []


def test_role_history_keeps_handoffs():
    d = declared()
    a = ev(1, "role_assigned", {"role": "incident_commander", "person": "alice"})
    b = ev(10, "role_assigned", {"role": "incident_commander", "person": "bob"}, actor="bob")
    r = ev(20, "role_released", {"role": "incident_commander", "person": "bob"}, actor="bob")
    s = project([d, a, b, r])
    assert s.holder("incident_commander") is None
    hist = s.role_history("incident_commander")
    assert [(t.person, t.start, t.end) for t in hist] == [
        ("alice", at(1), at(10)),
        ("bob", at(10), at(20)),
    ]


def test_odd_status_transitions_are_kept_with_warnings():
    d = declared()
    r = ev(1, "status_changed", {"status": "resolved"})
    i = ev(2, "status_changed", {"status": "investigating"})
    s = project([d, r, i])
    assert s.current_status == "investigating"
    warnings = [t.warning for t in s.transitions()]
    assert warnings[0] is None
    assert "skipped identified, monitoring" in warnings[1]
    assert "reopened" in warnings[2]


def test_unknown_kinds_are_kept_and_counted():
    s = project([declared(), ev(1, "chatops.reaction", {"emoji": "eyes"})])
    assert s.event_count == 2
    assert s.kind_counts["chatops.reaction"] == 1


def test_pins_notes_updates_and_action_items():
    d = declared()
    n = ev(1, "note", {"text": "look here", "pinned": True})
    n2 = ev(2, "note", {"text": "noise"})
    unpin = ev(3, "pin", {"target": n.id, "pinned": False})
    pin2 = ev(3.5, "pin", {"target": n2.id, "pinned": True})
    u1 = ev(4, "update_posted", {"body": "first", "audience": "internal"})
    u2 = ev(6, "update_posted", {"body": "second", "audience": "status-page"})
    a1 = ev(7, "action_item", {"text": "fix alerting", "owner": "bob", "due": "2026-12-01"})
    s = project([u2, a1, pin2, unpin, n2, n, d, u1])
    assert s.pinned_ids() == [n2.id]
    assert s.update_count == 2
    assert s.last_update.audience == "status-page"
    assert [i.text for i in s.action_items] == ["fix alerting"]


event_sets = st.lists(
    st.tuples(
        st.integers(0, 30),
        st.sampled_from(
            [
                ("severity_changed", {"severity": "SEV1"}),
                ("severity_changed", {"severity": "SEV3"}),
                ("status_changed", {"status": "identified"}),
                ("status_changed", {"status": "resolved"}),
                ("role_assigned", {"role": "incident_commander", "person": "alice"}),
                ("role_assigned", {"role": "incident_commander", "person": "bob"}),
                ("role_released", {"role": "incident_commander"}),
                ("note", {"text": "n", "pinned": True}),
                ("update_posted", {"body": "u"}),
                ("update_posted", {"body": "p", "audience": "status-page", "template": "x"}),
                ("escalated", {"level": 2, "people": ["Team Lead"], "channels": ["pd"]}),
                ("milestone_set", {"milestone": "detected", "at": "2026-01-01T00:00:00+00:00"}),
                ("checklist_checked", {"item": "Issue fixed"}),
                ("action_item", {"text": "a"}),
                ("cadence_snoozed", {"until": "2026-01-01T00:00:00+00:00", "reason": "r"}),
                ("future.kind", {"x": 1}),
            ]
        ),
        st.sampled_from(["dev-a", "dev-b", "dev-c"]),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(spec=event_sets, data=st.data())
def test_any_permutation_gives_the_same_state(spec, data):
    events = [declared()]
    for minute, (kind, payload), device in spec:
        events.append(Maker(device)(minute, kind, payload))
    shuffled = data.draw(st.permutations(events))
    assert project(shuffled, INCIDENT) == project(events, INCIDENT)


@settings(max_examples=50, deadline=None)
@given(spec=event_sets)
def test_snapshot_json_round_trips_any_state(spec):
    from warroom.core.state import IncidentState

    events = [declared()]
    for minute, (kind, payload), device in spec:
        events.append(Maker(device)(minute, kind, payload))
    state = project(events, INCIDENT)
    assert IncidentState.from_json(state.to_json()) == state


def test_a_copy_is_independent_of_its_original():
    d = declared()
    s = project([d, ev(1, "role_assigned", {"role": "scribe", "person": "alice"})])
    c = s.copy()
    c.apply(ev(2, "role_assigned", {"role": "scribe", "person": "bob"}))
    c.apply(ev(3, "action_item", {"text": "add an alert"}))
    assert s.holder("scribe").value == "alice" and s.action_items == []
    assert c.holder("scribe").value == "bob" and len(c.action_items) == 1
    assert s.event_count == 2 and c.event_count == 4
