"""Structured logs: every line is one JSON object carrying the request id and the actor.

A request gets an id (the caller's `X-Request-ID` when it is a sane token, else a new one), echoed in
the response. Celery tasks queued while serving it carry the id in their message headers, so a
worker's lines join the request's. Secrets never reach a line: the redaction filter masks API tokens,
passwords, one-time codes and signatures however a message or its arguments spell them.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
actor_var: contextvars.ContextVar[str] = contextvars.ContextVar("actor", default="-")
_request_var: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("log_request", default=None)

# key=value / "key": "value" pairs whose value is a secret, and bare token shapes.
_SECRET_PAIR = re.compile(
    r"(?i)((?:password|passwd|secret|token|authorization|api[_-]?key|otp|totp|signature|x-kyc-signature)"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',;&}]+)")
_BEARER = re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9._~+/=-]{8,}")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """Mask secret values in a log message (idempotent)."""
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _SECRET_PAIR.sub(lambda m: m.group(1) + REDACTED, text)


def new_request_id(given: str | None = None) -> str:
    return given if given and _SANE_ID.match(given) else uuid.uuid4().hex


def _request_actor() -> str | None:
    """The request's user if authentication already ran: never triggers a session or token lookup."""
    request = _request_var.get()
    if request is None:
        return None
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        wrapped = user._wrapped  # type: ignore[attr-defined]
        user = None if wrapped is empty else wrapped
    if getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"  # type: ignore[union-attr]
    return None


class ContextFilter(logging.Filter):
    """Adds `request_id` and `actor` (a user id, never an e-mail) to every record and masks secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.actor = _request_actor() or actor_var.get()
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


class ConflictsNotWarnings(logging.Filter):
    """Drops django.request's WARNING for a 409 answer.

    A 409 is a business refusal (CAP_REACHED, POSITION_CLOSED, INSUFFICIENT_BALANCE, a reused key): the
    refusals that the rules require are stored with their reason code, and metrics count every answer by
    status. When a popular product sells out, thousands of customers a second are told so; a warning line
    for each would bury the warnings that matter (and cost each refusal a JSON line). Other 4xx still log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != 409


class RequestIdMiddleware:
    """Sets the request id (and, once authenticated, the actor) for the log lines of this request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        token_id = request_id_var.set(request_id)
        token_request = _request_var.set(request)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token_id)
            _request_var.reset(token_request)
        response[REQUEST_ID_HEADER] = request_id
        return response


# --- Celery: the request id travels in the task message's headers -----------------------------------------


def celery_headers_add(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """before_task_publish: stamp the current request id (and actor) on the outgoing task message."""
    if headers is not None:
        headers.setdefault("request_id", request_id_var.get())
        headers.setdefault("actor", _request_actor() or actor_var.get())


def celery_context_enter(task: Any = None, **kwargs: Any) -> None:
    """task_prerun: adopt the id the message carries (a beat-started task gets a new one)."""
    request = getattr(task, "request", None)
    given = getattr(request, "request_id", None) if request is not None else None
    request_id_var.set(new_request_id(given if isinstance(given, str) and given != "-" else None))
    actor = getattr(request, "actor", None) if request is not None else None
    actor_var.set(actor if isinstance(actor, str) else "system")


def celery_context_leave(**kwargs: Any) -> None:
    request_id_var.set("-")
    actor_var.set("-")


class RoutineTasksFilter(logging.Filter):
    """Drops the INFO lines of routine background tasks (the audit chainer and the notification outbox drain
    run every few seconds) from a terminal: `make run` stays readable. Production keeps every line (this
    filter is local only)."""

    ROUTINE = ("core.tasks.audit_chain_task", "notifications.tasks.notifications_outbox_task")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        message = record.getMessage()
        return not any(task in message for task in self.ROUTINE)
