"""Request-size guard for the API: refuse an oversized body before anything reads it."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

API_PREFIX = "/api/"


class RequestSizeLimitMiddleware:
    """413 {"code": "REQUEST_TOO_LARGE"} for API requests whose Content-Length exceeds
    DATA_UPLOAD_MAX_MEMORY_SIZE.

    DRF parsers read the request stream directly, so Django's own DATA_UPLOAD_MAX_MEMORY_SIZE
    check (done in HttpRequest.body) never runs for JSON bodies; without this a client could make
    a worker parse a body of any size.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and request.path.startswith(API_PREFIX):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return JsonResponse({"code": "INVALID_CONTENT_LENGTH", "field": None,
                                     "detail": _("The Content-Length header is not a number.")}, status=400)
            if length > limit:
                return JsonResponse({"code": "REQUEST_TOO_LARGE", "field": None,
                                     "detail": _("The request body is too large (at most %(limit)s bytes).")
                                     % {"limit": limit}}, status=413)
        return self.get_response(request)
