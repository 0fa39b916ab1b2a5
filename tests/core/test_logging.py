"""Structured logs (core.logging): JSON lines with the request id and actor, the id carried into Celery
tasks, and secrets masked whatever the message says."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client

from core import logging as log_context
from core.logging import REDACTED, celery_context_enter, celery_headers_add, redact, request_id_var
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines():
    """The production formatter and filter, writing to a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(log_context.ContextFilter())
    formatter_config = settings.LOGGING["formatters"]["json"]
    factory = formatter_config["()"]
    module, _, name = factory.rpartition(".")
    formatter_class = getattr(__import__(module, fromlist=[name]), name)
    handler.setFormatter(formatter_class(formatter_config["fmt"], rename_fields=formatter_config["rename_fields"]))
    logger = logging.getLogger("tests.json_lines")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_a_line_is_json_with_the_request_id_and_actor(json_lines, rf):
    logger, lines = json_lines
    user = UserFactory()

    def view(request):
        request.user = user  # as authentication leaves it
        logger.info("health checked for %s", "the balancer")
        return HttpResponse("ok")

    request = rf.get("/healthz", HTTP_X_REQUEST_ID="lb-req-000123")
    response = log_context.RequestIdMiddleware(view)(request)
    assert response["X-Request-ID"] == "lb-req-000123"
    [line] = lines()
    assert line["message"] == "health checked for the balancer"
    assert line["request_id"] == "lb-req-000123" and line["actor"] == f"user:{user.pk}"
    assert {"time", "level", "logger"} <= set(line)
    assert user.email not in json.dumps(line)  # the actor is an id, never an address


def test_every_response_carries_an_id_and_an_insane_one_is_replaced():
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces and <html>")
    assert response["X-Request-ID"] != "bad id with spaces and <html>"
    assert len(response["X-Request-ID"]) == 32
    assert Client().get("/healthz")["X-Request-ID"] != response["X-Request-ID"]


@pytest.mark.parametrize(("message", "secret"), [
    ("login failed password=hunter2-hunter2 for bob", "hunter2-hunter2"),
    ('body {"password": "s3cret-passphrase", "email": "a@b.c"}', "s3cret-passphrase"),
    ("Authorization: Bearer abcdEFGH1234ijklMNOP5678", "abcdEFGH1234ijklMNOP5678"),
    ("calling with token=Zm9vYmFyYmF6cXV4cXV1eA&x=1", "Zm9vYmFyYmF6cXV4cXV1eA"),
    ("X-KYC-Signature: sha256=0f0e0d0c0b0a09080706050403020100", "0f0e0d0c0b0a09080706050403020100"),
    ("otp=123456 accepted", "123456"),
])
def test_secrets_are_masked(message, secret, json_lines):
    assert secret not in redact(message) and REDACTED in redact(message)
    logger, lines = json_lines
    logger.warning(message)
    assert secret not in json.dumps(lines())


def test_reason_codes_and_ordinary_words_are_left_alone():
    text = "subscription refused code=NO_ACK for product 7 (tokens: 2 active)"
    assert redact(text) == text


def test_a_task_inherits_the_request_id_of_the_request_that_queued_it():
    token = request_id_var.set("req-abcdef123456")
    try:
        headers: dict = {}
        celery_headers_add(headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers["request_id"] == "req-abcdef123456"
    task = SimpleNamespace(request=SimpleNamespace(request_id=headers["request_id"], actor=headers["actor"]))
    celery_context_enter(task=task)
    assert request_id_var.get() == "req-abcdef123456"
    beat_task = SimpleNamespace(request=SimpleNamespace())  # started by beat: no request behind it
    celery_context_enter(task=beat_task)
    assert request_id_var.get() not in ("-", "req-abcdef123456")
    assert log_context.actor_var.get() == "system"


def test_make_run_hides_the_chainers_routine_lines_and_nothing_else():
    routine = log_context.RoutineTasksFilter()

    def record(level, message):
        return logging.LogRecord("celery.app.trace", level, __file__, 1, message, None, None)

    assert not routine.filter(record(logging.INFO, "Task core.tasks.audit_chain_task[1] succeeded in 0.01s: 0"))
    assert routine.filter(record(logging.INFO, "Task earn.tasks.accrual_chunk_task[2] succeeded in 0.5s"))
    assert routine.filter(record(logging.ERROR, "Task core.tasks.audit_chain_task[3] raised: boom"))
    from importlib import import_module

    local = import_module("config.settings.local")
    assert "routine_tasks" in local.LOGGING["handlers"]["console"]["filters"]


@pytest.mark.parametrize(("status", "logged"), [(409, False), (400, True), (403, True), (429, True), (500, True)])
def test_business_conflicts_are_not_request_warnings(caplog, status, logged):
    """A 409 (a stored refusal such as CAP_REACHED) is no warning of django.request; other answers still are.
    Logged as Django's handler logs an answer (`log_response`), through the configured logger."""
    from django.utils.log import log_response

    response = HttpResponse(status=status)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        log_response("%s: %s", response.reason_phrase, "/api/v1/subscriptions", response=response,
                     request=SimpleNamespace(path="/api/v1/subscriptions", META={}))
    assert any(r.name == "django.request" for r in caplog.records) is logged
