"""Schemathesis against the served OpenAPI spec, with a valid token: never a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
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


def shorten_long_polls(case) -> None:
    """A generated `wait` of up to 60 s is valid, but the suite has no minute to spare."""
    try:
        if float(case.query["wait"]) > 0.05:
            case.query["wait"] = 0.05
    except (KeyError, TypeError, ValueError):
        pass


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_fails_with_a_server_error(case, shared_server, fuzz_token):
    shorten_long_polls(case)
    case.call_and_validate(base_url=shared_server.url, headers=auth(fuzz_token))
