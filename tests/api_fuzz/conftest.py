"""Schemathesis against the live OpenAPI schema, in process, on the test database (PostgreSQL)."""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator

from config.wsgi import application
from tests.api_fuzz.world import World, world_build

# (identity, "METHOD /path", status) -> responses; written to FUZZ_REPORT (a path) at the end if set.
TALLY: Counter = Counter()
CURRENT = {"identity": ""}

# `make test` runs a bounded number of examples per operation and identity; bench/fuzz_api.py raises it.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "8"))


def schemathesis_config(max_examples: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": int(os.environ.get("FUZZ_SEED", "20261125")),
        "generation": {"max-examples": max_examples, "mode": "all", "deterministic": False},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": False},
                   "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
        "suppress-health-check": ["all"],
        # What the issue asks: no 5xx, and every answer (status, content type, headers, body) as the schema
        # says. Not checked: how strict validation is (positive_data_acceptance / negative_data_rejection:
        # a schema-valid request may still be refused by a business rule, DRF ignores an unparsable
        # page_size, and so on).
        "checks": {"positive_data_acceptance": {"enabled": False}, "negative_data_rejection": {"enabled": False}},
    })


def in_test_transaction(app):  # type: ignore[no-untyped-def]
    """The WSGI app without Django's per-request connection closing (as django.test.Client does):
    the request must run inside the test's transaction on the same connection."""

    def wsgi(environ, start_response):  # type: ignore[no-untyped-def]
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = app(environ, start_response)
            body = b"".join(response)
            if hasattr(response, "close"):
                response.close()
            return [body]
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)

    return wsgi


def api_schema(max_examples: int = MAX_EXAMPLES) -> schemathesis.BaseSchema:
    """The schema as served at /api/schema/, generated at collection: every endpoint registered at run time."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(document, config=schemathesis_config(max_examples))
    schema.app = in_test_transaction(application)
    return schema


@pytest.fixture
def world(db) -> World:
    return world_build()


@schemathesis.check
def tally(ctx, response, case) -> None:  # type: ignore[no-untyped-def]
    """Not a check: counts every answer by operation and status for bench/fuzz_api.py's report."""
    TALLY[(CURRENT["identity"], case.operation.label, response.status_code)] += 1


def pytest_sessionfinish(session, exitstatus) -> None:  # type: ignore[no-untyped-def]
    path = os.environ.get("FUZZ_REPORT")
    if path and TALLY:
        rows = [{"identity": i, "operation": op, "status": st, "count": n} for (i, op, st), n in TALLY.items()]
        with open(path, "w") as report:
            json.dump(rows, report)
