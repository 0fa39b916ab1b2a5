"""Schemathesis against the live server (gunicorn, autocommit, no wrapping transaction), as a customer and as
staff: no 5xx, and every answer's status, content type and body as the schema says (issue 16, CI).

The in-process run (tests/api_fuzz) covers the same operations inside a test transaction; this one meets
what only a real server shows: per-request connections and transactions, DEBUG's own error pages (the
server runs with DEBUG on, as the demo does), rate limits read from the environment, and the staff's
fresh one-time codes (each staff request carries an unused recovery code as X-OTP, so staff money moves
get past the code check).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_client.conftest import FIGURES, LiveWorld
from tests.api_fuzz.conftest import schemathesis_config
from tests.api_fuzz.test_schemathesis import steer_to_real_ids

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Examples per operation and identity: a few, to keep `make test` short (bench/fuzz_api.py runs many more
# in process); LIVE_FUZZ_MAX_EXAMPLES raises it.
MAX_EXAMPLES = int(os.environ.get("LIVE_FUZZ_MAX_EXAMPLES", "4"))

pytestmark = pytest.mark.django_db  # see conftest: the test database, not a transaction around the API

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True),
                                        config=schemathesis_config(MAX_EXAMPLES))


def call_live(case, live: LiveWorld, identity: str) -> None:  # type: ignore[no-untyped-def]
    steer_to_real_ids(case, live.world)
    if case.path_parameters and case.path_parameters.get("token_id") in live.protected_tokens:
        case.path_parameters["token_id"] = live.decoy_tokens[identity]
    headers = {"Authorization": f"Token {live.world.tokens[identity]}"}
    if identity == "staff":
        headers["X-OTP"] = live.next_staff_code()
    try:
        response = case.call(base_url=live.url, headers=headers, timeout=60)
    except BaseException:
        FIGURES["fuzz"]["failures"] += 1
        raise
    FIGURES["fuzz"][response.status_code] += 1
    FIGURES["fuzz_operations"][(identity, case.operation.label, response.status_code)] += 1
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseException:  # schemathesis raises a group of failures
        FIGURES["fuzz"]["failures"] += 1
        raise


@schema.parametrize()
def test_live_api_fuzz_as_customer(case, live):
    call_live(case, live, "customer")


@schema.parametrize()
def test_live_api_fuzz_as_staff(case, live):
    call_live(case, live, "staff")

