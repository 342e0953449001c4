from datetime import timedelta

import pytest

from warroom.config import ConfigError, load_settings


def write(tmp_path, monkeypatch, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    monkeypatch.setenv("WARROOM_CONFIG", str(path))


def test_policy_overrides_from_toml(tmp_path, monkeypatch):
    write(
        tmp_path,
        monkeypatch,
        """
user = "alice"
timezone = "Europe/Berlin"
checklist = ["Rollback verified", "Alerts quiet"]

[severity.SEV2]
update_every = "20m"
mttr_target = "2h"

[[roles]]
key = "security_lead"
name = "Security Lead"
aliases = ["sec"]
""",
    )
    s = load_settings()
    policy = s.policy
    assert s.actor == "alice"
    assert policy.severity("P1").update_every == timedelta(minutes=20)
    assert policy.severity("SEV2").mttr_target == timedelta(hours=2)
    assert policy.severity("SEV1").update_every == timedelta(minutes=15)
    assert policy.role("sec").name == "Security Lead"
    assert policy.role("ic").name == "Incident Commander"
    assert policy.checklist == ("Rollback verified", "Alerts quiet")


def test_environment_beats_the_file(tmp_path, monkeypatch):
    write(tmp_path, monkeypatch, 'user = "alice"\n')
    monkeypatch.setenv("WARROOM_USER", "bob")
    assert load_settings().actor == "bob"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 'red'\n", "colour"),
        ("[severity.SEV2]\nupdate_every = 'soon'\n", "not a duration"),
        ("this is not toml", "config"),
    ],
)
def test_bad_config_names_the_problem(tmp_path, monkeypatch, text, message):
    write(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_unknown_severity_in_config(tmp_path, monkeypatch):
    write(tmp_path, monkeypatch, "[severity.SEV7]\nlabel = 'x'\n")
    with pytest.raises(ConfigError, match="SEV7"):
        load_settings()
