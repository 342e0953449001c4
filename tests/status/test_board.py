"""What the public sees, as a pure function of incident states (`warroom.core.public`)."""

from __future__ import annotations

from datetime import timedelta

from tests.delivery.driver import Incident
from warroom.core.commands import AddNote, ChangeStatus, Declare, PostUpdate
from warroom.core.public import Component, PageSettings, board, post_phase, public_incident

SETTINGS = PageSettings(
    "Shop",
    (Component("checkout", "Checkout"), Component("api", "API"), Component("search", "Search")),
)


def incident(
    severity: str, components: tuple[str, ...], *posts: tuple[str, str], days: int = 0
) -> Incident:
    made = Incident()
    made.now -= timedelta(days=days)
    made.run(Declare(title=f"{severity} thing", severity=severity, components=components))
    for template, body in posts:
        made.run(
            PostUpdate(body=body, audience="status-page", template=template),
            after=timedelta(minutes=5),
        )
    return made


def test_post_phases() -> None:
    assert post_phase("statuspage-monitoring", "anything") == "monitoring"
    assert post_phase("", "Identified: we know") == "identified"
    assert post_phase("custom", "  resolved : all good") == "resolved"
    assert post_phase("", "We are looking: at it") == ""
    assert post_phase("statuspage-bogus", "text") == ""


def test_an_incident_is_public_only_once_posted_for_the_status_page() -> None:
    quiet = incident("SEV1", ("checkout",))
    quiet.run(AddNote(text="secret stuff"), PostUpdate(body="internal", audience="internal"))
    assert public_incident(quiet.state, SETTINGS) is None
    shown = board([quiet.state], SETTINGS, quiet.now)
    assert shown.active == () and shown.overall == "operational"


def test_phases_carry_and_a_resolved_post_ends_it() -> None:
    made = incident(
        "SEV2",
        ("api", "internal-db"),
        ("statuspage-investigating", "Investigating: slow"),
        ("", "More news without a phase word"),
        ("statuspage-resolved", "Resolved: fine"),
    )
    public = public_incident(made.state, SETTINGS)
    assert public is not None
    assert [p.phase for p in public.posts] == ["resolved", "investigating", "investigating"]
    assert public.phase == "resolved" and public.resolved_at == public.posts[0].at
    assert public.components == (Component("api", "API"),)
    assert (
        public.posts[0].words == "fine"
        and public.posts[1].words == "More news without a phase word"
    )


def test_components_take_the_worst_open_incident_and_history_keeps_90_days() -> None:
    sev1 = incident("SEV1", ("checkout",), ("statuspage-investigating", "Investigating: down"))
    sev3 = incident(
        "SEV3", ("checkout", "search"), ("statuspage-investigating", "Investigating: slow")
    )
    old = incident("SEV2", ("api",), ("statuspage-investigating", "Investigating: x"), days=100)
    old.run(ChangeStatus(status="resolved"))
    recent = incident("SEV2", ("api",), ("statuspage-investigating", "Investigating: y"), days=89)
    recent.run(ChangeStatus(status="resolved"))
    now = sev1.now
    shown = board([s.state for s in (sev1, sev3, old, recent)], SETTINGS, now)
    assert dict((c.key, state) for c, state in shown.components) == {
        "checkout": "major_outage",
        "api": "operational",
        "search": "degraded_performance",
    }
    assert shown.overall == "major_outage"
    assert {i.id for i in shown.active} == {sev3.incident_id, sev1.incident_id}
    assert [i.id for i in shown.history] == [recent.incident_id]


def test_an_open_incident_on_no_listed_component_still_shows_degraded() -> None:
    made = incident("SEV2", ("billing",), ("statuspage-investigating", "Investigating: z"))
    shown = board([made.state], SETTINGS, made.now)
    assert all(state == "operational" for _, state in shown.components)
    assert shown.overall == "degraded_performance"


def test_the_config_names_the_page_and_the_ladder_its_channels(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from warroom.config import ConfigError, load_settings

    config = tmp_path / "config.toml"
    monkeypatch.setenv("WARROOM_CONFIG", str(config))
    config.write_text(
        '[status_page]\ntitle = "Shop"\nurl = "https://status.example/status"\n'
        'components = { checkout = "Checkout", api = "API" }\n'
        '[[escalation]]\nafter = "0m"\nwho = ["Primary"]\n'
        '[[escalation]]\nafter = "15m"\nwho = ["Backup"]\nchannels = ["pd-backup"]\nauto = true\n'
    )
    settings = load_settings()
    assert settings.status_page == PageSettings(
        "Shop",
        (Component("checkout", "Checkout"), Component("api", "API")),
        "https://status.example/status",
    )
    second = settings.policy.escalation[1]
    assert (second.level, second.channels, second.auto) == (2, ("pd-backup",), True)
    config.write_text('[[escalation]]\nafter = "0m"\nwho = ["x"]\nauto = "yes"\n')
    with pytest.raises(ConfigError, match="auto"):
        load_settings()
    config.write_text('[status_page]\ntitel = "typo"\n')
    with pytest.raises(ConfigError, match="titel"):
        load_settings()
