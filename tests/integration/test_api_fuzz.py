"""Schemathesis against the driver's own OpenAPI schema (issue 9.5, 9.9): a real `jira-driver run` on
loopback, against the simulator, answering generated requests (valid and invalid) for every route.

Every answer must be no server error and conform to the schema it publishes: a status it
declares, its content type, its headers and its body schema. The number of examples per route is
bounded so the whole run stays well under a minute on two cores.

Requests are generated valid and invalid alike (every answer is checked as above), but two
checks about *whether* a request is accepted are left out:
- positive_data_acceptance (a schema-valid body must be accepted) cannot hold for bodies whose
  validity the schema cannot express: an Advanced command's grammar, a Create Query's JSON text,
  a field type name. Those answer 400 with an ErrorBody, which is checked.
- negative_data_rejection counts as "invalid" a request that only adds unknown query parameters
  (which the API ignores, as HTTP APIs do) or drops the Authorization header (which this test
  always sends). Refusals of invalid values are asserted one by one in test_api_bounds.py.

The driver takes webhooks (`[sync] mode = webhook`), so POST /api/jira/webhook reads and checks each
generated body; none is signed with the secret, so each is answered 401 (a declared ErrorBody).
What a signed delivery does is asserted in test_sync.py against the simulator's real webhook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.fixtures.driver import DriverProcess

TOKEN = "fuzz-token"
MAX_WAIT = 0.2
"""Execute's wait_seconds is cut to this: a generated 120 s wait would only make the run slow."""


@pytest.fixture
def driver_schema(driver_factory: Callable[..., DriverProcess], sim: Any) -> Any:
    driver = driver_factory(
        sim.url, api_token=TOKEN, ini={"sync": {"mode": "webhook", "webhook_secret": "fuzz-secret"}}
    )
    return schemathesis.openapi.from_url(f"{driver.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("driver_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
    derandomize=True,
)
def test_the_api_conforms_to_its_schema(case: schemathesis.Case[Any]) -> None:
    if isinstance(case.query, dict) and "wait_seconds" in case.query:
        wait = case.query["wait_seconds"]
        if isinstance(wait, int | float) and not isinstance(wait, bool) and wait > MAX_WAIT:
            case.query["wait_seconds"] = MAX_WAIT
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"},
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
        timeout=10,
    )
