"""Shared fixtures: real SQLite files in tmp dirs, the real `warroom` command in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from warroom.store import EventLog


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Never read the developer's own config, database or identity."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("WARROOM_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))  # the validated-config cache
    for var in ("WARROOM_DB", "WARROOM_USER", "WARROOM_SERVER", "WARROOM_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "warroom.db"


@pytest.fixture
def log(db_path: Path):
    with EventLog(db_path) as event_log:
        yield event_log


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(db_path: Path) -> Callable[..., Result]:
    """Run `warroom` in this process through its real entry point (`warroom.cli.main`, with
    its error handling), output captured by click's CliRunner, against this test's database."""
    from click.testing import CliRunner

    from warroom.cli import main

    def run(*args: str, user: str = "tester", input: str | None = None) -> Result:
        runner = CliRunner()
        env = {"WARROOM_DB": str(db_path), "WARROOM_USER": user}
        with runner.isolation(input=input, env=env) as (out, err, _):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 0
            sys.stdout.flush()
            sys.stderr.flush()
            return Result(code, out.getvalue().decode(), err.getvalue().decode())

    return run


@pytest.fixture
def run_cli(db_path: Path) -> Callable[..., Result]:
    """Run the installed `warroom` command as a user would, against this test's database."""

    def run(*args: str, user: str = "tester", input: str | None = None) -> Result:
        env = {**os.environ, "WARROOM_DB": str(db_path), "WARROOM_USER": user}
        proc = subprocess.run(
            [sys.executable, "-m", "warroom", *args],
            capture_output=True,
            text=True,
            env=env,
            input=input,
            timeout=60,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run
