from datetime import timedelta

import pytest

from warroom.core.policy import DEFAULT_POLICY, parse_status


@pytest.mark.parametrize(
    ("name", "expected"),
    [("SEV1", "SEV1"), ("p0", "SEV1"), ("P1", "SEV2"), ("sev3", "SEV3"), ("P3", "SEV4")],
)
def test_severity_aliases(name, expected):
    assert DEFAULT_POLICY.severity(name).name == expected


def test_cadences_and_targets_come_from_the_process_docs():
    p = DEFAULT_POLICY
    assert [p.severity(s).update_every for s in ("SEV1", "SEV2", "SEV3", "SEV4")] == [
        timedelta(minutes=15),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(days=1),
    ]
    assert p.severity("SEV1").mtta_target == timedelta(minutes=5)
    assert p.severity("SEV2").mttr_target == timedelta(hours=4)
    assert [s.after for s in p.escalation] == [
        timedelta(0),
        timedelta(minutes=15),
        timedelta(minutes=30),
        timedelta(minutes=60),
    ]
    assert "CEO" in p.escalation[3].people("SEV1")
    assert "CEO" not in p.escalation[3].people("SEV2")
    assert p.checklist[3] == "Monitored for 30 minutes (stable)"


def test_unknown_severity_and_role_say_what_is_allowed():
    with pytest.raises(ValueError, match=r"SEV1 .*P0"):
        DEFAULT_POLICY.severity("SEV9")
    with pytest.raises(ValueError, match="tech_lead"):
        DEFAULT_POLICY.role("janitor")


def test_role_aliases():
    assert DEFAULT_POLICY.role("IC").key == "incident_commander"
    assert DEFAULT_POLICY.role("Incident Commander").key == "incident_commander"
    assert DEFAULT_POLICY.role("tech-lead").key == "tech_lead"


def test_status_parsing():
    assert parse_status("Mon").value == "monitoring"
    with pytest.raises(ValueError):
        parse_status("fixed")
