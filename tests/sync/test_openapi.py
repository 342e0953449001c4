"""Schemathesis against the served OpenAPI spec, with a valid token: never a 5xx.

Derandomized (the same examples on every run, no example database), so that CI cannot fail
on a draw a developer never saw; the spec states every bound the server keeps (64-bit
cursors, ASCII patterns, what a payload may hold), so that the examples span them.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, settings
from schemathesis.config import SchemathesisConfig

from tests.sync.factory import auth
from tests.sync.servers import ServerProcess

# A batch over the 500-event limit is refused with 413 (too large), besides the usual 4xx.
CONFIG = {"checks": {"negative_data_rejection": {"expected-statuses": ["4xx"]}}}

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_schema(shared_server: ServerProcess):
    config = SchemathesisConfig.from_dict(CONFIG)
    return schemathesis.openapi.from_url(f"{shared_server.url}/v1/openapi.json", config=config)


@pytest.fixture(scope="module")
def fuzz_token(shared_server: ServerProcess) -> str:
    return shared_server.store.token("schemathesis")


@pytest.fixture(scope="module")
def alert_token(shared_server: ServerProcess) -> str:
    """The alert routes take only alert tokens: with a client's, every case would be a 403."""
    return shared_server.store.alert_token("schemathesis-alerts")


def shorten_long_polls(case) -> None:
    """A generated `wait` of up to 60 s is valid, but the suite has no minute to spare."""
    try:
        if float(case.query["wait"]) > 0.05:
            case.query["wait"] = 0.05
    except (KeyError, TypeError, ValueError):
        pass


def sent_as_generated(case) -> bool:
    """Whether the HTTP client sends the query as generated: it leaves out a parameter whose
    value is null, [] or {}, so an "unknown parameter" case may arrive as a valid request."""
    return not any(value in (None, [], {}) for value in (case.query or {}).values())


@schema.parametrize()
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_never_fails_with_a_server_error(case, shared_server, fuzz_token, alert_token):
    assume(sent_as_generated(case))
    shorten_long_polls(case)
    token = alert_token if case.path.startswith("/v1/alerts/") else fuzz_token
    case.call_and_validate(base_url=shared_server.url, headers=auth(token))
