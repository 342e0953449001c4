"""Real sync servers on 127.0.0.1 over both backends, and a throwaway PostgreSQL cluster."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sync.pgcluster import Cluster, cluster, find_bin
from tests.sync.servers import ServerProcess, Store

BACKENDS = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg() -> Iterator[Cluster]:
    """A PostgreSQL cluster for the session. Missing binaries fail CI, and skip elsewhere."""
    bindir = find_bin()
    if bindir is None:
        message = "PostgreSQL not found (no initdb): run .ci/postgres.sh to install it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with cluster(bindir) as running:
        yield running


def _store(kind: str, request: pytest.FixtureRequest, directory: Path) -> Store:
    if kind == "sqlite":
        return Store("sqlite", str(directory / "server.db"))
    return Store("postgres", request.getfixturevalue("pg").new_database())


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A fresh, empty store of each kind."""
    return _store(request.param, request, tmp_path)


@pytest.fixture
def server(store: Store, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of its own for a test that kills or restarts it."""
    proc = ServerProcess(store, tmp_path).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def shared_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server per backend for a module's tests, which use fresh ids and tokens each."""
    directory = tmp_path_factory.mktemp("server")
    proc = ServerProcess(_store(request.param, request, directory), directory).start()
    yield proc
    proc.stop()
