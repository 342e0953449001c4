"""Channel config: `[channels.NAME]` tables validated where they are used, one line naming
the channel and the key for anything wrong, secrets never cached, logged or quoted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from warroom.config import ConfigError, load_settings
from warroom.delivery import config as delivery_config
from warroom.delivery.config import build, channel_tables, load_channels, load_routes
from warroom.delivery.webhook import WebhookChannel

SECRET = "hunter2-very-secret-value"


def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    monkeypatch.setenv("WARROOM_CONFIG", str(path))
    return path


@pytest.fixture
def fake_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(delivery_config.KINDS, "fake", "tests.delivery.fake_kind")


def test_a_webhook_channel_from_the_config_file(tmp_path, monkeypatch):
    write(
        tmp_path,
        monkeypatch,
        f"""
user = "alice"

[channels.ops-hook]
kind = "webhook"
url = "https://hooks.example.com/warroom"
secret = "{SECRET}"
audiences = ["internal", "stakeholders"]
on = ["declared", "resolved"]
pace = 0.5
""",
    )
    settings = load_settings()
    assert settings.channels == ("ops-hook",)
    [channel] = load_channels()
    assert isinstance(channel, WebhookChannel)
    assert (channel.name, channel.url, channel.pace) == (
        "ops-hook",
        "https://hooks.example.com/warroom",
        0.5,
    )
    assert channel.audiences == {"internal", "stakeholders"}
    assert channel.on == {"declared", "resolved"}
    assert SECRET not in repr(channel)
    [route] = load_routes()
    assert (route.name, route.kind, route.audiences) == ("ops-hook", "webhook", channel.audiences)


def test_the_secret_is_never_cached_with_the_validated_settings(tmp_path, monkeypatch):
    write(
        tmp_path,
        monkeypatch,
        f'[channels.h]\nkind = "webhook"\nurl = "http://x"\nsecret = "{SECRET}"\n',
    )
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert load_settings().channels == ("h",)
    assert load_settings().channels == ("h",)  # from the cache now
    cached = [p.read_text() for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert cached and all(SECRET not in text for text in cached)


def test_a_secret_from_the_environment(tmp_path, monkeypatch):
    write(
        tmp_path,
        monkeypatch,
        '[channels.h]\nkind = "webhook"\nurl = "http://x"\nsecret_env = "HOOK_SECRET"\n',
    )
    with pytest.raises(ConfigError) as missing:
        load_channels()
    assert (
        str(missing.value) == "channels.h: secret_env: environment variable HOOK_SECRET is not set"
    )
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    [channel] = load_channels()
    assert channel._secret == SECRET  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({}, "channels.c: kind: missing (one of slack, webhook, email, statuspage, pagerduty)"),
        ({"kind": "pigeon"}, "channels.c: kind: 'pigeon' is not one of slack, webhook"),
        ({"kind": "webhook", "url": "http://x"}, "channels.c: secret: missing (give secret, or"),
        ({"kind": "webhook", "secret": "s"}, "channels.c: url: Field required"),
        ({"kind": "webhook", "url": "ftp://x", "secret": "s"}, "channels.c: url: must be an http"),
        (
            {"kind": "webhook", "url": "http://x", "secret": "s", "urll": 1},
            "channels.c: urll: Extra",
        ),
        (
            {"kind": "webhook", "url": "http://x", "secret": "s", "audiences": ["everyone"]},
            "channels.c: audiences.0: Input should be 'internal'",
        ),
        (
            {"kind": "webhook", "url": "http://x", "secret": "s", "on": ["posted"]},
            "channels.c: on.0: Input should be 'declared'",
        ),
        ({"kind": "webhook", "url": "http://x", "secret": "s", "pace": -1}, "channels.c: pace:"),
        (
            {"kind": "webhook", "url": "http://x", "secret": "s", "secret_env": "X"},
            "channels.c: give secret or secret_env, not both",
        ),
        (
            {"kind": "webhook", "url": "http://x", "secret_env": "not a name"},
            "channels.c: secret_env: must name an environment variable",
        ),
    ],
)
def test_a_bad_channel_is_one_line_naming_the_channel_and_the_key(table, message):
    with pytest.raises(ConfigError) as caught:
        build("c", table)
    text = str(caught.value)
    assert text.startswith(message)
    assert "\n" not in text


def test_a_wrong_secret_is_reported_without_its_value():
    table = {"kind": "webhook", "url": "http://x", "secret": ["hunter2-very-secret-value"]}
    with pytest.raises(ConfigError) as caught:
        build("c", table)
    assert str(caught.value).startswith("channels.c: secret: ")
    assert SECRET not in str(caught.value)


def test_a_kind_plugs_in_by_module_name(fake_kind, monkeypatch):
    monkeypatch.setenv("FAKE_TOKEN", "xoxb-1")
    channel = build("f", {"kind": "fake", "token_env": "FAKE_TOKEN", "audiences": ["customers"]})
    assert channel.kind == "fake"
    assert channel.token == "xoxb-1"  # type: ignore[attr-defined]
    assert channel.pace == 1.0  # the kind's own default
    assert channel.audiences == {"customers"}


def test_a_kind_with_config_and_build_plugs_in_and_gets_the_policy(monkeypatch):
    from tests.delivery import fake_plain
    from warroom.core.policy import DEFAULT_POLICY

    monkeypatch.setitem(delivery_config.KINDS, "plain", "tests.delivery.fake_plain")
    channel = build("p", {"kind": "plain", "audiences": ["customers"]}, DEFAULT_POLICY)
    assert (channel.kind, channel.pace, channel.audiences) == ("fake", 0.25, {"customers"})
    assert fake_plain.seen[-1] is DEFAULT_POLICY
    with pytest.raises(ConfigError, match=r"^channels\.p: colour: Extra inputs"):
        build("p", {"kind": "plain", "colour": "red"})
    [route] = load_routes({"p": {"kind": "plain"}})
    assert (route.kind, route.audiences) == ("plain", {"internal"})


def test_a_kind_whose_module_is_missing_says_so(monkeypatch):
    monkeypatch.setitem(delivery_config.KINDS, "ghost", "warroom.delivery.ghost")
    with pytest.raises(ConfigError) as caught:
        build("g", {"kind": "ghost"})
    assert str(caught.value) == (
        "channels.g: kind: 'ghost' is not available in this warroom"
        " (warroom.delivery.ghost is missing)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[channels."bad name"]\nkind = "webhook"\n', "channels.bad name: a channel name is"),
        ("channels = 3\n", "channels: must be a table"),
        ("[channels]\nx = 1\n", "channels.x: must be a table"),
        ("delivery = 3\n", "delivery: must be a table"),
    ],
)
def test_the_file_s_shape_is_checked_with_the_settings(tmp_path, monkeypatch, text, message):
    write(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_the_delivery_table(tmp_path, monkeypatch):
    write(tmp_path, monkeypatch, '[delivery]\nlease = "5s"\nretry_base = "100ms"\n')
    with pytest.raises(ConfigError, match=r"delivery\.retry_base: not a duration"):
        delivery_config.delivery_config()
    write(tmp_path, monkeypatch, '[delivery]\nlease = "5s"\nretry_cap = "2m"\npoll = "0.5s"\n')
    timing = delivery_config.delivery_config().timing()
    assert (timing.lease, timing.poll, timing.backoff.cap) == (5.0, 0.5, 120.0)
    write(tmp_path, monkeypatch, "[delivery]\nleese = 1\n")
    with pytest.raises(ConfigError, match=r"delivery\.leese: Extra inputs"):
        delivery_config.delivery_config()


def test_no_file_means_no_channels(tmp_path, monkeypatch):
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "absent.toml"))
    assert channel_tables() == {} and load_channels() == []


def test_the_console_start_does_not_load_the_channels(tmp_path, monkeypatch):
    """Settings keep the names; validating and building channels (pydantic, httpx, the
    kinds' modules) waits for the places that deliver."""
    path = write(
        tmp_path,
        monkeypatch,
        f'[channels.h]\nkind = "webhook"\nurl = "http://x"\nsecret = "{SECRET}"\n',
    )
    code = (
        "import sys\n"
        "from warroom.config import load_settings\n"
        "from warroom.store import EventLog\n"
        "from warroom.tui.app import WarroomApp\n"
        "print(load_settings().channels)\n"
        "heavy = ('warroom.delivery', 'httpx', 'pydantic')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "WARROOM_CONFIG": str(path)}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
        )
        for _ in range(2)
    ]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    assert runs[1].stdout.splitlines() == ["('h',)", "[]"]  # the second start hits the cache
