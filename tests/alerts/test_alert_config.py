"""`[alerts]` in the config file: which labels name the service and the severity, the
severity map, and whether intake attaches alerts to open incidents."""

from __future__ import annotations

import pytest

from warroom.config import ConfigError, load_settings
from warroom.core.policy import AlertRules


def write(tmp_path, monkeypatch, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    monkeypatch.setenv("WARROOM_CONFIG", str(path))


def test_the_defaults_map_critical_and_warning():
    rules = load_settings().policy.alerts
    assert rules == AlertRules()
    assert (rules.severity_for("critical"), rules.severity_for("Warning")) == ("SEV2", "SEV3")
    assert rules.severity_for("info") == "SEV3" and rules.attach


def test_the_alerts_section_changes_the_rules(tmp_path, monkeypatch):
    write(
        tmp_path,
        monkeypatch,
        '[alerts]\nservice_label = "app"\nseverities = { page = "P0", ticket = "sev4" }\n'
        'default_severity = "SEV4"\nattach = false\n',
    )
    rules = load_settings().policy.alerts
    assert rules.service_label == "app" and rules.severity_label == "severity"
    assert rules.severities == (("page", "SEV1"), ("ticket", "SEV4"))
    assert rules.severity_for("critical") == "SEV4" and not rules.attach


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[alerts]\nseverities = { page = "SEV9" }\n', "unknown severity 'SEV9'"),
        ('[alerts]\ndefault_severity = "urgent"\n', "unknown severity 'urgent'"),
        ('[alerts]\nservice = "app"\n', "alerts.service"),
    ],
)
def test_a_bad_alerts_section_names_the_problem(tmp_path, monkeypatch, text, message):
    write(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError, match=message):
        load_settings()
