"""Ledger API: assets, a customer's balances and postings, staff deposits."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.http import HttpResponseBase
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import renderers, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import role_required
from accounts.roles import OPERATIONS
from accounts.selectors import user_get, user_get_by_email
from accounts.staff import request_otp
from core.api import (
    CSVRenderer,
    DateBoundField,
    KeysetCursorPagination,
    MoneyInputField,
    ScaledAmountField,
    csv_response,
)
from core.money import floor_to_scale, is_multiple_of_scale
from core.throttling import ScopedRateThrottle
from ledger import selectors
from ledger.deposits import pending_deposit_list, staff_deposit_approve, staff_deposit_create, staff_deposit_reject
from ledger.models import EntryKind, PendingDepositStatus

if TYPE_CHECKING:
    from accounts.requests import AuthenticatedRequest

CSV_CHUNK_SIZE = 2000


def _iso(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a Z, as the JSON answers write it."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class AssetListApi(APIView):
    """The assets the service knows, with their scale (decimal places of the smallest unit)."""

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        scale = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer(many=True), tags=["ledger"], operation_id="asset_list")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(selectors.asset_list(), many=True).data)


class BalanceListApi(APIView):
    """The caller's balances per asset: available, earn (principal), accrued interest, pending redemption,
    and amounts committed to launches whose allocation has not run yet."""

    class OutputSerializer(serializers.Serializer):
        asset = serializers.CharField(source="asset_code")
        available = ScaledAmountField()
        earn = ScaledAmountField()
        accrued = ScaledAmountField()
        pending = ScaledAmountField()
        committed = ScaledAmountField(help_text="committed to launches, until the allocation moves it")

    @extend_schema(responses=OutputSerializer(many=True), tags=["ledger"], operation_id="balance_list")
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(self.OutputSerializer(selectors.balance_list(user_id=request.user.pk), many=True).data)


class PostingPagination(KeysetCursorPagination):
    ordering = ("created_at", "id")


class LedgerEntryListApi(APIView):
    """The caller's postings, oldest first, with their entry; `?format=csv` streams every matching row."""

    renderer_classes = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, CSVRenderer]
    pagination_class = PostingPagination

    class FilterSerializer(serializers.Serializer):
        from_ = DateBoundField(required=False, help_text="First day (ISO date, UTC) or instant, inclusive.")
        to = DateBoundField(end=True, required=False, help_text="Last day (ISO date, UTC) or instant, inclusive.")
        asset = serializers.CharField(required=False, max_length=16)
        kind = serializers.ChoiceField(choices=EntryKind.choices, required=False)

        def get_fields(self) -> dict[str, serializers.Field]:
            fields = super().get_fields()
            fields["from"] = fields.pop("from_")  # `from` is a Python keyword
            return fields

        def validate_asset(self, value: str) -> str:
            code = value.strip().upper()
            if selectors.asset_get(code=code) is None:
                raise serializers.ValidationError(_("Unknown asset."), code="unknown_asset")
            return code

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            start, end = attrs.get("from"), attrs.get("to")
            if start is not None and end is not None and end <= start:
                raise serializers.ValidationError({"to": _("The range ends before it starts.")}, code="invalid_range")
            return attrs

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(help_text="Posting id")
        entry = serializers.IntegerField(source="entry_id", help_text="Journal entry id")
        created_at = serializers.DateTimeField()
        kind = serializers.ChoiceField(choices=EntryKind.choices)
        key = serializers.CharField(help_text="The entry's idempotency key")
        reference = serializers.CharField()
        asset = serializers.CharField(source="asset_code")
        account = serializers.CharField(source="account_kind", help_text="available, earn, accrued, pending …")
        side = serializers.CharField(help_text="C (credit: the balance went up) or D (debit: it went down)")
        amount = ScaledAmountField()

    CSV_HEADER = ("id", "entry", "created_at", "kind", "key", "reference", "asset", "account", "side", "amount")

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="First day (YYYY-MM-DD, UTC) or ISO instant, inclusive."),
            OpenApiParameter("to", str, description="Last day (YYYY-MM-DD, UTC) or ISO instant, inclusive."),
            OpenApiParameter("asset", str, description="Asset code, e.g. USDT."),
            OpenApiParameter("kind", str, enum=EntryKind.values, description="Entry kind."),
            OpenApiParameter("format", str, enum=["json", "csv"], description="csv streams every matching row."),
        ],
        responses={(200, "application/json"): OutputSerializer(many=True),
                   (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="`?format=csv`: every matching "
                                                      "posting, after a header line of the JSON field names")},
        tags=["ledger"],
        operation_id="ledger_entry_list",
    )
    def get(self, request: AuthenticatedRequest) -> HttpResponseBase:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        postings = selectors.posting_list(user_id=request.user.pk, start=data.get("from"), end=data.get("to"),
                                          asset=data.get("asset"), kind=data.get("kind"))
        if request.accepted_renderer.format == "csv":
            rows = (
                (p["id"], p["entry_id"], _iso(p["created_at"]), p["kind"], p["key"], p["reference"],
                 p["asset_code"], p["account_kind"], p["side"], format(floor_to_scale(p["amount"], p["scale"]), "f"))
                for p in postings.iterator(chunk_size=CSV_CHUNK_SIZE)
            )
            return csv_response(filename="ledger-entries.csv", header=self.CSV_HEADER, rows=rows)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(postings, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)

    def handle_exception(self, exc: Exception) -> Response:
        # Errors are JSON even when CSV was asked for.
        renderer = getattr(self.request, "accepted_renderer", None)
        if renderer is not None and renderer.format == "csv":
            self.request.accepted_renderer = renderers.JSONRenderer()
            self.request.accepted_media_type = "application/json"
        return super().handle_exception(exc)


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "format": "email"}],
                     "description": "The customer's user id, or their email address"})
class CustomerRefField(serializers.Field):
    """A customer named by user id (an integer, or digits) or by email address; answers the user's id."""

    default_error_messages = {
        "invalid": _("Give the customer's user id or email address."),
        "unknown_user": _("Unknown or inactive user."),
    }

    def to_internal_value(self, data: Any) -> int:
        user = None
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int) or (isinstance(data, str) and data.strip().isdigit() and len(data.strip()) < 19):
            user_id = int(data)
            if user_id < 1 or user_id > 2**63 - 1:
                self.fail("unknown_user")
            user = user_get(user_id=user_id)
        elif isinstance(data, str) and "@" in data and len(data) <= 254:
            user = user_get_by_email(email=data)
        else:
            self.fail("invalid")
        if user is None or not user.is_active:
            self.fail("unknown_user")
        return user.pk

    def to_representation(self, value: Any) -> Any:
        return value


class StaffDepositCreateApi(APIView):
    """Operations staff: credit a customer's available balance from the exchange wallet.

    Needs a fresh one-time code (`otp` or X-OTP). Never credits a staff account (403
    STAFF_ACCOUNT_NOT_ALLOWED). Above STAFF_DEPOSIT_FOUR_EYES_USD the deposit is not posted: it is
    created pending (202) and posted when a second operator approves it.
    Idempotent on `reference`: the same request again answers 200 with what the first did; the same
    reference with another user, asset or amount is refused with 409 IDEMPOTENCY_KEY_REUSED.
    """

    permission_classes = [IsAuthenticated, role_required(OPERATIONS)]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "money"

    class InputSerializer(serializers.Serializer):
        user = CustomerRefField(help_text="The customer's user id, or their email address")
        asset = serializers.CharField(max_length=16)
        amount = MoneyInputField(help_text="Decimal string, at most the asset's scale in decimals")
        reference = serializers.CharField(max_length=190, help_text="External transfer id; the idempotency key")
        otp = serializers.CharField(required=False, allow_blank=True, max_length=16,
                                    help_text="The operator's current one-time code (or the X-OTP header); required")

        def validate_asset(self, value: str) -> Any:
            asset = selectors.asset_get(code=value.strip().upper())
            if asset is None:
                raise serializers.ValidationError(_("Unknown asset."), code="unknown_asset")
            return asset

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            asset = attrs["asset"]
            if not is_multiple_of_scale(attrs["amount"], asset.scale):
                raise serializers.ValidationError(
                    {"amount": _("%(asset)s allows at most %(scale)s decimal places.")
                     % {"asset": asset.code, "scale": asset.scale}},
                    code="invalid_amount",
                )
            return attrs

    class OutputSerializer(serializers.Serializer):
        entry = serializers.IntegerField(allow_null=True, help_text="The journal entry; null while pending")
        user = serializers.IntegerField()
        asset = serializers.CharField()
        amount = ScaledAmountField()
        reference = serializers.CharField()
        created_at = serializers.DateTimeField()
        status = serializers.ChoiceField(choices=["posted", *PendingDepositStatus.values],
                                         help_text="posted, or the four-eyes request's status")
        pending = serializers.IntegerField(allow_null=True, help_text="The four-eyes request's id, if there is one")

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 200: OpenApiResponse(OutputSerializer, description="Replay: already done"),
                   202: OpenApiResponse(OutputSerializer, description="Above the four-eyes threshold: pending "
                                                                      "until a second operator approves"),
                   403: OpenApiResponse(description="OTP_REQUIRED / OTP_INVALID: a fresh one-time code is needed; "
                                                    "STAFF_ACCOUNT_NOT_ALLOWED / SELF_CREDIT_NOT_ALLOWED; "
                                                    "STAFF_2FA_REQUIRED"),
                   409: OpenApiResponse(description="IDEMPOTENCY_KEY_REUSED: the reference was used for another "
                                                    "deposit")},
        tags=["staff"],
        operation_id="staff_deposit_create",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        asset = data["asset"]
        outcome = staff_deposit_create(actor=request.user, user_id=data["user"], asset=asset.code,
                                       amount=data["amount"], reference=data["reference"],
                                       otp=request_otp(request))
        pending, entry = outcome.pending, outcome.entry
        if pending is not None:
            created_at = pending.requested_at
        else:
            assert entry is not None  # not waiting for approval: posted
            created_at = entry.created_at
        body = {"entry": entry.pk if entry else None, "user": data["user"], "asset": asset.code,
                "amount": pending.amount if pending else data["amount"], "scale": asset.scale,
                "reference": data["reference"],
                "created_at": created_at,
                "status": pending.status if pending else "posted", "pending": pending.pk if pending else None}
        answer: int
        if not outcome.created:
            answer = status.HTTP_200_OK
        else:
            answer = status.HTTP_202_ACCEPTED if pending else status.HTTP_201_CREATED
        return Response(self.OutputSerializer(body).data, status=answer)


class PendingDepositOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.IntegerField(source="user_id")
    email = serializers.EmailField(source="user.email")
    asset = serializers.CharField(source="asset_id")
    amount = ScaledAmountField(scale_from="scale")
    usd_value = serializers.DecimalField(max_digits=38, decimal_places=2, allow_null=True,
                                         help_text="At the latest price when requested; null without a price")
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=PendingDepositStatus.choices)
    requested_by = serializers.IntegerField(source="requested_by_id")
    requested_at = serializers.DateTimeField()
    decided_by = serializers.IntegerField(source="decided_by_id", allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    entry = serializers.IntegerField(source="entry_id", allow_null=True)


class PendingDepositPagination(KeysetCursorPagination):
    ordering = ("requested_at", "id")


def _with_scale(pending: Any) -> Any:
    pending.scale = pending.asset.scale
    return pending


class StaffDepositListCreateApi(StaffDepositCreateApi):
    """GET: the four-eyes deposit requests, oldest first (`?status=pending` for the queue); POST: create."""

    pagination_class = PendingDepositPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=PendingDepositStatus.choices, required=False)

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=PendingDepositStatus.values,
                                     description="Only requests in this status.")],
        responses={200: PendingDepositOutputSerializer(many=True)},
        tags=["staff"],
        operation_id="staff_deposit_list",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(pending_deposit_list(status=filters.validated_data.get("status")),
                                           request, view=self)
        rows = [_with_scale(p) for p in page]
        return paginator.get_paginated_response(PendingDepositOutputSerializer(rows, many=True).data)


class _PendingDepositDecisionApi(APIView):
    permission_classes = [IsAuthenticated, role_required(OPERATIONS)]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "money"

    class InputSerializer(serializers.Serializer):
        otp = serializers.CharField(required=False, allow_blank=True, max_length=16,
                                    help_text="The operator's current one-time code (or the X-OTP header); required")
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500)

    def _input(self, request: Request) -> dict[str, Any]:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class StaffDepositApproveApi(_PendingDepositDecisionApi):
    """A second operator (never the requester) approves: the deposit is posted, once, in that transaction."""

    @extend_schema(
        request=_PendingDepositDecisionApi.InputSerializer,
        responses={200: PendingDepositOutputSerializer,
                   403: OpenApiResponse(description="MAKER_CHECKER: the requester cannot approve; OTP_REQUIRED / "
                                                    "OTP_INVALID; STAFF_ACCOUNT_NOT_ALLOWED"),
                   409: OpenApiResponse(description="PENDING_DEPOSIT_DECIDED: already rejected")},
        tags=["staff"],
        operation_id="staff_deposit_approve",
    )
    def post(self, request: AuthenticatedRequest, pending_id: int) -> Response:
        self._input(request)
        pending, _posted = staff_deposit_approve(actor=request.user, pending_id=pending_id, otp=request_otp(request))
        return Response(PendingDepositOutputSerializer(_with_scale(pending)).data)


class StaffDepositRejectApi(_PendingDepositDecisionApi):
    """A second operator (never the requester) rejects: nothing is credited; the reference stays used."""

    @extend_schema(
        request=_PendingDepositDecisionApi.InputSerializer,
        responses={200: PendingDepositOutputSerializer,
                   403: OpenApiResponse(description="MAKER_CHECKER: the requester cannot reject; OTP_REQUIRED / "
                                                    "OTP_INVALID"),
                   409: OpenApiResponse(description="PENDING_DEPOSIT_DECIDED: already approved")},
        tags=["staff"],
        operation_id="staff_deposit_reject",
    )
    def post(self, request: AuthenticatedRequest, pending_id: int) -> Response:
        data = self._input(request)
        pending = staff_deposit_reject(actor=request.user, pending_id=pending_id, otp=request_otp(request),
                                       reason=data.get("reason", ""))
        return Response(PendingDepositOutputSerializer(_with_scale(pending)).data)
