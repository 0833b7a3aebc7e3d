"""Contract test: schemathesis generates requests from the app's own OpenAPI schema and checks every response.

Bounded and deterministic: a few examples per operation (valid and invalid ones), Hypothesis derandomized
(the same requests every run), sent in-process to the app over one in-memory database for the whole run.
Checks: no 5xx, every status code is documented for its operation, every body matches its documented schema.
No operation is excluded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from app.clock import FixedClock
from app.db import make_engine
from app.main import app, prepare_database
from tests.conftest import app_client

EXAMPLES_PER_OPERATION = 4
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_dict(app.openapi())


@pytest.fixture(scope="module")
def api_client() -> Iterator[TestClient]:
    """Like conftest's `client`, but one database for every operation (migrating one per operation would take
    most of the run): later operations see what earlier ones created, as a real client's would."""
    engine = make_engine("sqlite://")
    prepare_database(engine)
    clock = FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))

    with app_client(engine, clock) as client:
        yield client
    engine.dispose()


def _httpx_kwargs(kwargs: dict) -> dict:
    """schemathesis serialises a case for `requests`; the TestClient is httpx, which takes raw bodies as `content`."""
    assert not kwargs.pop("cookies", None)  # the API takes no cookies (httpx wants them on the client anyway)
    if isinstance(kwargs.get("data"), bytes | str):
        kwargs["content"] = kwargs.pop("data")
    return kwargs


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,  # model runs queue for a slot on a shared machine; speed is measured in benchmarks/
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)
def test_api_matches_its_openapi_schema(case, api_client):
    response = api_client.request(**_httpx_kwargs(case.as_transport_kwargs(base_url=str(api_client.base_url))))
    case.validate_response(response, checks=CHECKS)


def test_the_schema_states_every_bound_of_the_json_bodies():
    bodies = app.openapi()["components"]["schemas"]
    review = bodies["ReviewIn"]
    assert review["required"] == ["question_id", "rating", "review_token"]
    assert (review["properties"]["rating"]["minimum"], review["properties"]["rating"]["maximum"]) == (1, 4)
    assert review["additionalProperties"] is False
    retention = bodies["SettingsUpdate"]["properties"]["desired_retention"]["anyOf"][0]
    assert (retention["minimum"], retention["maximum"]) == (0.7, 0.97)
    per_day = bodies["SettingsUpdate"]["properties"]["new_per_day"]["anyOf"][0]
    assert (per_day["minimum"], per_day["maximum"]) == (0, 100)
    assert bodies["ValidationFailed"]["properties"]["detail"]["anyOf"][1] == {"type": "string"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/api/drill/reviews", "422"),
        ("post", "/api/drill/undo", "409"),
        ("put", "/api/settings", "413"),
        ("post", "/api/import", "415"),
        ("post", "/api/mock-sessions/{mock_id}/finish", "404"),
        ("post", "/api/mock-sessions/{mock_id}/answers/{question_id}/confirm", "409"),
        ("get", "/api/questions/{question_id}", "404"),
        ("post", "/api/attention", "503"),
        ("get", "/healthz", "400"),
    ],
)
def test_error_answers_are_documented(method, path, status):
    assert status in app.openapi()["paths"][path][method]["responses"]
