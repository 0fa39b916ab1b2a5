"""The DRF exception handler and API helpers shared by every app."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ApplicationError


def _first_error(detail: Any, field: str | None = None) -> tuple[str | None, str, str]:
    """Walk DRF's nested error detail down to its first message: (field, code, message)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            sub = None if key == "non_field_errors" else (f"{field}.{key}" if field else str(key))
            return _first_error(value, sub)
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], field)
    code = getattr(detail, "code", None) or "invalid"
    return field, str(code), str(detail)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Render every error as {"code", "detail", "field"}; never leak a 500 for bad input."""
    if isinstance(exc, ApplicationError):
        body = {"code": exc.code, "detail": exc.message, "field": exc.field, **exc.extra}
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        field, code, message = _first_error(exc.detail)
        response.data = {"code": code.upper(), "detail": message, "field": field}
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        code = getattr(exc, "default_code", "error")
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = {"code": str(code).upper(), "detail": str(detail), "field": None}
    return response
