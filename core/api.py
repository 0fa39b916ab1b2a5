"""The DRF exception handler and API helpers shared by every app."""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, StreamingHttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, renderers, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from core.dates import after, day_end, day_start
from core.errors import ApplicationError, ValidationFailed
from core.money import DECIMAL_PLACES, MAX_AMOUNT, decimal_text, to_decimal, too_large


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


class AutoSchema(SpectacularAutoSchema):
    """Names nested serializers after their view: `AssetListApi.OutputSerializer` → `AssetListOutput`.

    Every view declares its own `InputSerializer`/`OutputSerializer`; without the prefix they
    would all be the one OpenAPI component "Output".
    """

    def get_serializer_name(self, serializer: serializers.Serializer,
                            direction: Literal["request", "response"]) -> str:
        name = super().get_serializer_name(serializer, direction)
        outer, _sep, _inner = type(serializer).__qualname__.rpartition(".")
        if not outer:
            return name
        return outer.split(".")[-1].removesuffix("Api") + name

    def _map_basic_serializer(self, serializer: serializers.Serializer, direction: str) -> dict[str, Any]:
        """An answer carries every field of its serializer (null where there is no value), so every
        property of a response component is required; request components keep the serializer's flags."""
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response" and schema.get("properties"):
            schema["required"] = list(schema["properties"])
        return schema


# --- Plain renderers for the money paths' answers -------------------------------------------------

# DRF's own date and datetime fields, made once: the money paths render their answer with these instead
# of instantiating a ModelSerializer per request (which rebuilds its fields from the model every time).
# Each plain renderer has a test that it answers exactly what its documented serializer answers.
_DATE_FIELD = serializers.DateField()
_DATETIME_FIELD = serializers.DateTimeField()


def date_text(value: dt.date | None) -> str | None:
    return None if value is None else _DATE_FIELD.to_representation(value)


def datetime_text(value: dt.datetime | None) -> str | None:
    return None if value is None else _DATETIME_FIELD.to_representation(value)


# --- Fields shared by the apps' Input/Output serializers -------------------------------------------

# Every amount and rate is a plain decimal string: no exponent, no thousands separator, "." as the point.
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
DECIMAL_STRING_SCHEMA = {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN, "example": "1000.00000000"}


NOT_A_STRING = _("Send the amount as a decimal string, e.g. \"100.5\"; JSON numbers are refused.")
AMOUNT_TOO_LARGE = _("The amount is too large (at most %(max)s).")


def _refuse_non_string(data: Any) -> None:
    """Amounts are decimal strings: a JSON number is refused, an integer as well as a float (a float is
    not exact, and the contract is one type for every amount)."""
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        raise serializers.ValidationError(NOT_A_STRING, code="invalid_amount")


def _refuse_too_large(value: Decimal) -> None:
    if too_large(value):
        raise serializers.ValidationError(AMOUNT_TOO_LARGE % {"max": f"{MAX_AMOUNT:,f}"}, code="invalid_amount")


@extend_schema_field(DECIMAL_STRING_SCHEMA)
class MoneyInputField(serializers.Field):
    """An amount given as a decimal string ("0.5"); JSON numbers are refused (a float is not exact,
    and amounts are strings everywhere), and so is any amount beyond MAX_AMOUNT (400 INVALID_AMOUNT)."""

    default_error_messages = {
        "invalid": _("Enter the amount as a decimal string, e.g. \"100.5\"."),
        "not_positive": _("The amount must be greater than zero."),
        "too_precise": _("The amount has more than %(places)s decimal places."),
    }

    def __init__(self, *, positive: bool = True, **kwargs: Any) -> None:
        self.positive = positive
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        _refuse_non_string(data)
        if isinstance(data, str):
            data = data.strip()
        try:
            value = to_decimal(data)
        except (TypeError, ValueError):
            self.fail("invalid")
        if self.positive and value <= 0:
            self.fail("not_positive")
        _refuse_too_large(value)
        if not value.is_zero() and value.normalize().as_tuple().exponent < -DECIMAL_PLACES:  # type: ignore[operator]
            self.fail("too_precise", places=DECIMAL_PLACES)
        return value

    def to_representation(self, value: Decimal) -> str:
        return format(value, "f")


class AmountTextField(serializers.CharField):
    """An amount as the client wrote it, for a service that parses it at the asset's scale.

    Only a string is accepted: a JSON number (integer or float) is refused with INVALID_AMOUNT, and so
    is a decimal beyond MAX_AMOUNT; anything else passes on as text for the service to judge.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        _refuse_non_string(data)
        text = super().to_internal_value(data)
        try:
            value = to_decimal(text)
        except (TypeError, ValueError):
            return text  # the service answers with its own message
        _refuse_too_large(value)
        return text


@extend_schema_field(DECIMAL_STRING_SCHEMA)
class ScaledAmountField(serializers.Field):
    """The one output field for an amount of an asset: a decimal string at the asset's scale
    ("1000.00000000", never rounded up); null stays null (no cap, nothing yet).

    The scale is read from the same row: `scale_from` names the key or attribute holding it, dotted
    for a related object ("asset.scale", "position.product.asset.scale").
    """

    def __init__(self, *, scale_from: str = "scale", scale: int | None = None, **kwargs: Any) -> None:
        self.scale_from = scale_from
        self.scale = scale  # a fixed scale instead (USD values: 2)
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> tuple[Decimal | None, int]:
        value = super().get_attribute(instance)
        if self.scale is not None:
            return value, self.scale
        scale = instance
        for part in self.scale_from.split("."):
            scale = scale[part] if isinstance(scale, dict) else getattr(scale, part)
        return value, scale

    def to_representation(self, value: tuple[Decimal | None, int]) -> str | None:
        amount, scale = value
        return decimal_text(amount, scale)


@extend_schema_field({**DECIMAL_STRING_SCHEMA, "example": "0.06"})
class RateField(serializers.Field):
    """A rate (a fraction, "0.06" = 6 %) or another decimal that is not an amount of an asset, exactly as
    stored, without trailing zeros; null stays null."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal | None) -> str | None:
        return decimal_text(value)


@extend_schema_field(DECIMAL_STRING_SCHEMA)
class DecimalTextField(serializers.CharField):
    """A decimal that a selector already wrote as API text (`core.money.decimal_text`: amounts at their
    asset's scale, rates without trailing zeros), for answers assembled as JSON-ready dicts."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)


@extend_schema_field({**DECIMAL_STRING_SCHEMA, "example": "0.000123456789012345",
                      "description": "At the stored precision (18 decimals): a sub-unit quantity carried "
                                     "between days, not an amount that is paid."})
class ExactAmountField(serializers.Field):
    """A sub-unit quantity kept at the full stored precision (accrual exact/carry values)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal | None) -> str | None:
        return None if value is None else format(value, "f")


@extend_schema_field({"type": "string", "format": "date", "example": "2026-01-31"})
class DateBoundField(serializers.Field):
    """One end of a date range: an ISO date (a whole UTC day) or an ISO date-time.

    Returns an aware datetime to compare with `__gte` (start) or `__lt` (end): an end date D
    becomes D+1 00:00 UTC, so `from=2026-01-01&to=2026-01-31` covers all of January.
    """

    default_error_messages = {"invalid": _("Enter an ISO 8601 date (YYYY-MM-DD) or date-time.")}

    def __init__(self, *, end: bool = False, **kwargs: Any) -> None:
        self.end = end
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dt.datetime:
        text = str(data).strip()
        try:
            if len(text) == 10:
                day = dt.date.fromisoformat(text)
                return day_end(day) if self.end else day_start(day)
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            moment = moment.astimezone(dt.UTC)  # an offset at the ends of the calendar would overflow later
            # An end date-time is inclusive; one microsecond later makes it an exclusive bound too.
            return after(moment, dt.timedelta(microseconds=1)) if self.end else moment
        except OverflowError:
            # 0001-01-01T00:00-01:00 or 9999-12-31T23:59+…: outside what datetime holds in UTC.
            self.fail("invalid")
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value: dt.datetime) -> str:
        return value.isoformat()


# --- Pagination --------------------------------------------------------------------------------------


class NewestFirst(CursorPagination):
    """Cursor pages by id, newest first: a customer's positions, scrolled back through."""

    ordering = "-id"
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"


class OldestFirst(CursorPagination):
    """Cursor pages by date, oldest first: day-by-day history of a position."""

    ordering = "date"
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"


class KeysetCursorPagination(CursorPagination):
    """Cursor pagination on a unique ordering such as ("created_at", "id"), all ascending.

    DRF's CursorPagination positions on the first field only and skips ties with an offset
    (capped at 1000); this one compares the whole ordering tuple, so pages are exact however
    many rows share a timestamp, and each page is one indexed query. The cursor is opaque.
    """

    ordering: tuple[str, ...] = ("created_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list:
        self.request = request
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request) or self.page_size  # never None: page_size has a default
        position, reverse = self._decode(request, queryset)
        if position is not None:
            queryset = queryset.filter(self._beyond(position, before=reverse))
        order = [f"-{name}" for name in self.ordering] if reverse else list(self.ordering)
        rows = list(queryset.order_by(*order)[: self.page_size + 1])
        more = len(rows) > self.page_size
        page = rows[: self.page_size]
        if reverse:
            page.reverse()
        self.page = page
        self.has_next = more if not reverse else position is not None
        self.has_previous = more if reverse else position is not None
        return page

    def get_next_link(self) -> str | None:
        if not self.has_next or not self.page:
            return None
        return self._link(self._position(self.page[-1]), reverse=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous or not self.page:
            return None
        return self._link(self._position(self.page[0]), reverse=True)

    def _position(self, row: Any) -> list[str]:
        values = [row[name] if isinstance(row, dict) else getattr(row, name) for name in self.ordering]
        return [value.isoformat() if isinstance(value, dt.datetime) else str(value) for value in values]

    def _beyond(self, position: list[Any], *, before: bool) -> Q:
        """Rows strictly after (or before) `position` in the ordering tuple."""
        op = "lt" if before else "gt"
        condition = Q()
        for index, name in enumerate(self.ordering):
            step = Q(**{f"{name}__{op}": position[index]})
            for prior in range(index):
                step &= Q(**{self.ordering[prior]: position[prior]})
            condition |= step
        return condition

    def _link(self, position: list[str], *, reverse: bool) -> str:
        raw = json.dumps({"p": position, "r": int(reverse)}, separators=(",", ":"))
        token = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        assert self.base_url is not None  # set by paginate_queryset before any link is drawn
        return replace_query_param(self.base_url, self.cursor_query_param, token)

    def _decode(self, request: Request, queryset: QuerySet) -> tuple[list[Any] | None, bool]:
        token = request.query_params.get(self.cursor_query_param)
        if not token:
            return None, False
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            cursor = json.loads(raw)
            position, reverse = cursor["p"], bool(cursor["r"])
            if not isinstance(position, list) or len(position) != len(self.ordering):
                raise ValueError("cursor length")
            model = queryset.model
            values = [model._meta.get_field(name).to_python(value) for name, value in zip(self.ordering, position,
                                                                                          strict=True)]
        except (ValueError, TypeError, KeyError, DjangoValidationError, binascii.Error):
            raise ValidationFailed(_("Invalid cursor."), code="INVALID_CURSOR", field=self.cursor_query_param) from None
        return values, reverse


# --- CSV ---------------------------------------------------------------------------------------------


class CSVRenderer(renderers.BaseRenderer):
    """Lets `?format=csv` (or Accept: text/csv) reach views that stream CSV themselves."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        # Views stream CSV with `csv_response`; what reaches a renderer is an error body.
        return json.dumps(data).encode()


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer into a generator."""

    def write(self, value: str) -> str:
        return value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Neutralise text that a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_safe_sql(expression: str) -> str:
    """`csv_safe` in SQL, for text that PostgreSQL writes itself (COPY … TO STDOUT WITH (FORMAT csv)).

    The same leading characters get the same apostrophe; an empty text becomes NULL, which COPY writes as an
    empty cell, as csv.writer writes "" (COPY would write an empty text as `""`). `expression` is SQL text.
    """
    starts = ", ".join(f"chr({ord(c)})" if not c.isprintable() else f"'{c}'" for c in _FORMULA_START)
    return (f"NULLIF(CASE WHEN left({expression}, 1) IN ({starts}) THEN '''' || {expression} "
            f"ELSE {expression} END, '')")


def csv_response(*, filename: str, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> StreamingHttpResponse:
    """Stream rows as CSV in constant memory (pass a `.iterator(chunk_size=...)` as `rows`)."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(list(header))
        for row in rows:
            yield writer.writerow([csv_safe(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
