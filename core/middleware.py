"""Request guards: refuse an oversized body before anything reads it, and NUL characters anywhere; API
error answers that Django would render as a page (404, 500) become the API's JSON error body."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

API_PREFIX = "/api/"
# Headers of a page answer that do not carry over to the JSON body that replaces it.
_BODY_HEADERS = {"content-type", "content-length", "content-disposition", "content-encoding"}


def api_error_body(status: int) -> dict[str, str | None]:
    """The API's error body for a 404 or 500 that no API view answered (never any internals)."""
    if status == 404:
        return {"code": "NOT_FOUND", "detail": _("Not found."), "field": None}
    return {"code": "SERVER_ERROR", "field": None,
            "detail": _("Something went wrong on our side. Try again later.")}


class ApiErrorBodyMiddleware:
    """An API path (`/api/…`) answers 404 and 500 in the API's JSON error body, DEBUG on or off.

    handler404/handler500 (core.views) already answer JSON for API paths, but with DEBUG on Django
    renders its technical 404 (an unmatched path, a non-numeric id) and 500 pages instead and never
    calls them. Sitting outside the other middleware, this replaces such a page (any 404 or 500 that
    is not JSON) with the JSON body; Django has already logged the exception (logger django.request).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (response.status_code in (404, 500) and request.path.startswith(API_PREFIX)
                and "json" not in response.get("Content-Type", "")):
            replaced = JsonResponse(api_error_body(response.status_code), status=response.status_code)
            for key, value in response.items():
                if key.lower() not in _BODY_HEADERS:
                    replaced[key] = value
            replaced.cookies = response.cookies
            return replaced
        return response


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


def _has_nul(text: str) -> bool:
    return "\x00" in text or "%00" in text


class NulCharacterMiddleware:
    """400 for a NUL character in the query string, a header or a form body, on every path.

    PostgreSQL refuses NUL in text and jsonb, so a NUL that reached a query (a filter, a stored
    User-Agent, an Idempotency-Key) answered 500. JSON bodies are checked by `core.parsers.JSONParser`;
    form fields are checked here so portal views that read `request.POST` directly are covered too (the API
    takes no form body: it answers 415).
    """

    FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found, field = self._nul_in(request)
        if found:
            detail = _("The request contains a NUL character.")
            if request.path.startswith(API_PREFIX):
                return JsonResponse({"code": "NUL_CHARACTER", "field": field, "detail": detail}, status=400)
            return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    def _nul_in(self, request: HttpRequest) -> tuple[bool, str | None]:
        """(found, the query parameter or header that holds it, if one does)."""
        if "\x00" in request.path:
            return True, None
        if _has_nul(request.META.get("QUERY_STRING", "")):
            for key, values in request.GET.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return True, key.replace("\x00", "")
            return True, None
        for key, value in request.META.items():
            if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
                return True, key[5:].replace("_", "-").title()
        content_type = request.META.get("CONTENT_TYPE", "")
        # The API parses JSON only: a form body there is left unread, for DRF to answer 415 (had it been read
        # here, DRF would see an empty body and answer 400 "required" instead).
        if (request.method == "POST" and content_type.startswith(self.FORM_TYPES)
                and not request.path.startswith(API_PREFIX)):
            try:
                fields = list(request.POST.lists())
            except Exception:  # a body too large or malformed is for the view (or Django) to refuse
                return False, None
            for key, values in fields:
                if "\x00" in key or any("\x00" in value for value in values):
                    return True, key.replace("\x00", "")
        return False, None
