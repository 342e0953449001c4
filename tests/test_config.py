import json
import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest

from warroom import config_schema
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


# -- accepted nonsense: wrong types and keymaps are errors that name the key --------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user = 5\n", "user: Input should be a valid string"),
        ("server = 5\n", "server: Input should be a valid string"),
        ("token = 5\n", "token: Input should be a valid string"),
        ("timezone = 5\n", "timezone: Input should be a valid string"),
        ("db = 5\n", "db: Input is not a valid path"),
        ("checklist = 'Issue fixed'\n", "checklist: Input should be a valid tuple"),
        ("keys = 'n'\n", "keys: Input should be a valid dictionary"),
        ("[keys]\nnote = 5\n", "keys.note: Input should be a valid string"),
        ("[[roles]]\nkey = 5\nname = 'x'\n", "roles.0.key: Input should be a valid string"),
        ("amber_before = true\n", "amber_before: Value error, not a duration: True"),
        ("[severity.SEV2]\nupdate_every = -5\n", "update_every: Value error, a duration cannot"),
        ("[severity.SEV2]\nescalates = 'yes'\n", "escalates: Input should be a valid boolean"),
        ("_env_file = '/etc/passwd'\n", "_env_file: Extra inputs are not permitted"),
    ],
)
def test_wrong_types_name_the_key(tmp_path, monkeypatch, text, message):
    write(tmp_path, monkeypatch, text)
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load_settings()
    assert "\n" not in str(caught.value) and str(tmp_path) in str(caught.value)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ('nope = "x"', "keys: Value error, unknown action 'nope'; the actions are note, update,"),
        ('note = "q"', "note is on q, which is quit's key in the console, and then no key quits"),
        ('note = "x"\npin = "x"', "note and pin are both on x in the console"),
        ('quit = ""', "quit = '': give a key"),
        ('quit = "k"', "quit is on k, which the timeline's Up takes first in the console"),
        ('note = "shift+n"', "note = 'shift+n': 'shift+n' never arrives: write N"),
        ('note = "ctrl+foo"', "note = 'ctrl+foo': unknown key 'foo'"),
    ],
)
def test_nonsense_keymaps_are_errors(tmp_path, monkeypatch, keys, message):
    write(tmp_path, monkeypatch, f"[keys]\n{keys}\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings()


def test_a_keymap_is_kept_with_textuals_key_names(tmp_path, monkeypatch):
    write(tmp_path, monkeypatch, '[keys]\nnote = "N"\nhelp = "?,f1"\nquit = "Q"\nexport = "q"\n')
    keys = load_settings().keys
    assert keys == {"note": "N", "help": "question_mark,f1", "quit": "Q", "export": "q"}


def test_a_wrong_file_is_an_error_even_under_a_flag(tmp_path, monkeypatch):
    """`--as bob` does not hide `user = 5`: the file is checked as a whole."""
    write(tmp_path, monkeypatch, "user = 5\n")
    with pytest.raises(ConfigError, match="user"):
        load_settings(user="bob")


def test_flags_beat_environment_and_file(tmp_path, monkeypatch):
    write(tmp_path, monkeypatch, 'user = "alice"\ndb = "/from/file.db"\n')
    monkeypatch.setenv("WARROOM_USER", "bob")
    s = load_settings(user="carol", db=str(tmp_path / "flag.db"))
    assert (s.user, s.db) == ("carol", tmp_path / "flag.db")


# -- the cache of validated settings ----------------------------------------------------------

CONFIGURED = """
user = "alice"
server = "https://warroom.example.internal:8787"
token = "wr_s3cr3t-t0ken-value"
timezone = "Europe/Berlin"
amber_before = "2m"
checklist = ["Rollback verified"]

[severity.SEV2]
update_every = "20m"
examples = ["Checkout down"]

[[roles]]
key = "security_lead"
name = "Security Lead"
aliases = ["sec"]

[[escalation]]
after = "0m"
who = ["Primary on-call"]

[[escalation]]
after = "10m"
who = ["Team Lead"]
extra_for = { SEV1 = ["CTO"] }

[keys]
note = "N"
"""


def cache_files(tmp_path):
    return list((tmp_path / "cache").rglob("config-*.json"))


@pytest.fixture
def cached(tmp_path, monkeypatch):
    """A private cache dir, and a way to make validation impossible (so a load that works
    must have come from the cache)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def no_validation():
        def refuse(*args):
            raise AssertionError("validated again instead of using the cache")

        monkeypatch.setattr(config_schema, "validate", refuse)

    return no_validation


def test_the_second_start_uses_the_cache_and_gets_the_same_settings(tmp_path, monkeypatch, cached):
    write(tmp_path, monkeypatch, CONFIGURED)
    monkeypatch.setenv("WARROOM_DB", str(tmp_path / "x.db"))
    first = load_settings()
    assert first.policy.role("sec").name == "Security Lead"
    assert first.policy.escalation[1].extra_for == {"SEV1": ("CTO",)}
    cached()
    assert load_settings() == first


def test_the_token_is_never_cached_but_still_read(tmp_path, monkeypatch, cached):
    write(tmp_path, monkeypatch, CONFIGURED)
    load_settings()
    [cache] = cache_files(tmp_path)
    assert b"s3cr3t" not in cache.read_bytes()
    assert cache.stat().st_mode & 0o777 == 0o600
    assert cache.parent.stat().st_mode & 0o777 == 0o700
    cached()
    assert load_settings().token == "wr_s3cr3t-t0ken-value"
    monkeypatch.setenv("WARROOM_TOKEN", "from-env")
    assert load_settings().token == "from-env"


@pytest.mark.parametrize(
    ("written", "token"),
    [
        ('token = "plain-token"', "plain-token"),
        ("token = 'literal\\token'", "literal\\token"),
        ('token = "esc\\u0041ped\\"q\\""', 'escAped"q"'),
        ('token = ""', ""),
        ("[keys]\nnote = 'N'", None),
    ],
)
def test_the_token_comes_back_from_the_file_as_written(
    tmp_path, monkeypatch, cached, written, token
):
    write(tmp_path, monkeypatch, written + "\n")
    assert load_settings().token == token
    cached()
    assert load_settings().token == token


def test_a_changed_file_is_validated_again(tmp_path, monkeypatch, cached):
    """Same size, same mtime, one byte changed: the cache is keyed by content."""
    write(tmp_path, monkeypatch, 'user = "alice"\n')
    path = tmp_path / "config.toml"
    assert load_settings().user == "alice"
    stat = path.stat()
    path.write_text('user = "alicf"\n')
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert load_settings().user == "alicf"
    path.write_text("user = 5\n")
    with pytest.raises(ConfigError, match="user"):
        load_settings()
    assert len(cache_files(tmp_path)) == 1  # one file per config file, replaced


def test_a_changed_variable_is_validated_again(tmp_path, monkeypatch, cached):
    write(tmp_path, monkeypatch, 'user = "alice"\n')
    assert load_settings().timezone == "UTC"
    monkeypatch.setenv("WARROOM_TIMEZONE", "Mars/Base")
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Base'"):
        load_settings()
    monkeypatch.setenv("WARROOM_TIMEZONE", "Asia/Tokyo")
    assert load_settings().timezone == "Asia/Tokyo"
    monkeypatch.setenv("WARROOM_USER", "bob")
    assert load_settings().user == "bob"


def test_a_cache_others_could_write_is_ignored(tmp_path, monkeypatch, cached):
    write(tmp_path, monkeypatch, 'user = "alice"\nserver = "https://ours.example"\n')
    load_settings()
    [cache] = cache_files(tmp_path)
    forged = json.loads(cache.read_text())
    forged["settings"]["server"] = "https://attacker.example"
    cache.write_text(json.dumps(forged))
    cache.chmod(0o666)
    assert load_settings().server == "https://ours.example"
    cache.write_text(json.dumps(forged))
    cache.chmod(0o600)  # ours: trusted, which shows the check above is what refused it
    assert load_settings().server == "https://attacker.example"


@pytest.mark.parametrize("garbage", [b"", b"{", b"[]", b'{"key": 1}', b"\xff\xfe"])
def test_a_broken_cache_means_validating_again(tmp_path, monkeypatch, cached, garbage):
    write(tmp_path, monkeypatch, 'user = "alice"\n')
    load_settings()
    [cache] = cache_files(tmp_path)
    cache.write_bytes(garbage)
    assert load_settings().user == "alice"


def test_no_writable_cache_dir_still_loads(tmp_path, monkeypatch):
    (tmp_path / "not-a-dir").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-dir"))
    write(tmp_path, monkeypatch, 'user = "alice"\n')
    assert load_settings().user == "alice"
    assert load_settings().user == "alice"


def test_plain_variables_without_a_file_need_no_validation(tmp_path, monkeypatch, cached):
    cached()
    monkeypatch.setenv("WARROOM_DB", str(tmp_path / "w.db"))
    monkeypatch.setenv("WARROOM_USER", "bob")
    monkeypatch.setenv("WARROOM_SERVER", "http://127.0.0.1:9")
    monkeypatch.setenv("WARROOM_TOKEN", "t")
    s = load_settings()
    assert (s.db, s.user, s.server, s.token) == (
        tmp_path / "w.db",
        "bob",
        "http://127.0.0.1:9",
        "t",
    )
    assert cache_files(tmp_path) == []


def test_a_configured_start_loads_no_pydantic_once_validated(tmp_path):
    """The configured console's start-up: a file with a keymap, WARROOM_DB; the first start
    validates (pydantic-settings), the next ones load neither it nor pydantic."""
    (tmp_path / "config.toml").write_text(CONFIGURED)
    code = (
        "import sys\n"
        "from warroom.config import load_settings\n"
        "s = load_settings()\n"
        "assert s.keys == {'note': 'N'} and s.token.startswith('wr_'), s\n"
        "heavy = {'pydantic', 'pydantic_settings', 'tomllib'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "WARROOM_CONFIG": str(tmp_path / "config.toml"),
        "WARROOM_DB": str(tmp_path / "w.db"),
    }
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
        )
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    assert runs[0].stdout.strip() == "['pydantic', 'pydantic_settings', 'tomllib']"
    assert runs[1].stdout.strip() == "[]"


def test_logs_dir_from_the_file_and_the_environment(tmp_path, monkeypatch):
    """Where the logs pane saves: `logs_dir` (~ expanded); WARROOM_LOGS_DIR beats the file,
    also on the fast path that skips the file when only plain variables are set."""
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path, monkeypatch, 'logs_dir = "~/incident-logs"\n')
    assert load_settings().logs_dir == tmp_path / "incident-logs"
    assert load_settings().logs_dir == tmp_path / "incident-logs"  # from the cache too
    monkeypatch.setenv("WARROOM_LOGS_DIR", str(tmp_path / "elsewhere"))
    assert load_settings().logs_dir == tmp_path / "elsewhere"
    monkeypatch.delenv("WARROOM_CONFIG")
    assert load_settings().logs_dir == tmp_path / "elsewhere"
    monkeypatch.delenv("WARROOM_LOGS_DIR")
    assert load_settings().logs_dir is None  # the logs pane then offers the documents folder
