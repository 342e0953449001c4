"""Which kubeconfig files the console and the gateway read: one rule, kubectl's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from warroom.cli.console import kube_target
from warroom.kube.gateway import Gateway, GatewayError, Target, kubeconfig_files, kubeconfig_paths


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return tmp_path


def test_kubeconfig_merges_the_existing_files_in_order(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = home / "a", home / "b"
    first.write_text("{}")
    second.write_text("{}")
    (home / "dir").mkdir()
    listed = [str(first), str(home / "missing"), str(home / "dir"), "", str(second)]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(listed))
    assert kubeconfig_files() == [first, second]
    assert Gateway()._config_file() == os.pathsep.join([str(first), str(second)])
    assert kube_target(None, "ctx", "ns", "", False) == Target(None, "ctx", "ns", "", False)


def test_flag_wins_and_expands_the_home_directory(home: Path) -> None:
    (home / "mine").write_text("{}")
    assert kubeconfig_paths("~/mine") == [home / "mine"]
    assert kube_target("~/mine", None, None, "", False) is not None


def test_without_any_file_the_console_shows_no_cluster_and_the_gateway_says_where_it_looked(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", os.pathsep)  # set, but naming nothing: ~/.kube/config
    assert kubeconfig_paths() == [home / ".kube" / "config"]
    assert kube_target(None, None, None, "", False) is None
    with pytest.raises(GatewayError, match=f"no kubeconfig at {home / '.kube' / 'config'}"):
        Gateway().contexts()
    (home / ".kube").mkdir()
    (home / ".kube" / "config").write_text("{}")
    assert kube_target(None, None, None, "", False) is not None
