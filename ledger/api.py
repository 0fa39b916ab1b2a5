"""Ledger API: assets, a customer's balances and postings, staff deposits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpResponseBase
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import role_required
from accounts.roles import OPERATIONS
from accounts.selectors import user_get
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
from ledger.deposits import staff_deposit_credit
from ledger.models import EntryKind

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
    """The caller's balances per asset: available, earn (principal), accrued interest, pending redemption."""

    class OutputSerializer(serializers.Serializer):
        asset = serializers.CharField(source="asset_code")
        available = ScaledAmountField()
        earn = ScaledAmountField()
        accrued = ScaledAmountField()
        pending = ScaledAmountField()

    @extend_schema(responses=OutputSerializer(many=True), tags=["ledger"], operation_id="balance_list")
    def get(self, request: Request) -> Response:
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
        responses={200: OutputSerializer(many=True)},
        tags=["ledger"],
        operation_id="ledger_entry_list",
    )
    def get(self, request: Request) -> HttpResponseBase:
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


class StaffDepositCreateApi(APIView):
    """Operations staff: credit a customer's available balance from the exchange wallet.

    Idempotent on `reference`: the same request again answers 200 with the first entry; the same
    reference with another user, asset or amount is refused with 409 IDEMPOTENCY_KEY_REUSED.
    """

    permission_classes = [IsAuthenticated, role_required(OPERATIONS)]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "money"

    class InputSerializer(serializers.Serializer):
        user = serializers.IntegerField(min_value=1, help_text="The customer's user id")
        asset = serializers.CharField(max_length=16)
        amount = MoneyInputField(help_text="Decimal string, at most the asset's scale in decimals")
        reference = serializers.CharField(max_length=190, help_text="External transfer id; the idempotency key")

        def validate_user(self, value: int) -> int:
            user = user_get(user_id=value)
            if user is None or not user.is_active:
                raise serializers.ValidationError(_("Unknown or inactive user."), code="unknown_user")
            return value

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
        entry = serializers.IntegerField()
        user = serializers.IntegerField()
        asset = serializers.CharField()
        amount = ScaledAmountField()
        reference = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 200: OpenApiResponse(OutputSerializer, description="Replay: already posted"),
                   409: OpenApiResponse(description="IDEMPOTENCY_KEY_REUSED: the reference was used for another "
                                                    "deposit")},
        tags=["staff"],
        operation_id="staff_deposit_create",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        asset = data["asset"]
        entry, created = staff_deposit_credit(actor_id=request.user.pk, user_id=data["user"], asset=asset.code,
                                              amount=data["amount"], reference=data["reference"])
        body = {"entry": entry.pk, "user": data["user"], "asset": asset.code, "amount": data["amount"],
                "scale": asset.scale, "reference": entry.reference, "created_at": entry.created_at}
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(self.OutputSerializer(body).data, status=answer)
