"""Customer API for launch mode: a launch's facts and state, committing, and one's commitments."""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.requests import AuthenticatedRequest
from accounts.twofactor import otp_require_for_request
from core.api import AmountTextField, NewestFirst, ScaledAmountField, datetime_text
from core.errors import NotFound
from core.money import decimal_text
from core.throttling import ScopedRateThrottle
from earn.api.positions import IDEMPOTENCY_HEADER, OTP_FIELD_HELP
from earn.models import LaunchCommitment
from earn.selectors import launch as selectors
from earn.selectors.products import catalogue_product
from earn.services import launch as services

ALLOCATION_HELP = ("Null until the allocation run has computed it; then allocated + refunded = amount. "
                   "The allocation opens (or grows) a position; the refund returns to the available balance.")


class CommitmentOutput(serializers.ModelSerializer):
    amount = ScaledAmountField(scale_from="product.asset.scale")
    allocated = ScaledAmountField(scale_from="product.asset.scale", allow_null=True, help_text=ALLOCATION_HELP)
    refunded = ScaledAmountField(scale_from="product.asset.scale", allow_null=True, help_text=ALLOCATION_HELP)
    asset = serializers.CharField(source="product.asset_id")

    class Meta:
        model = LaunchCommitment
        fields = ["id", "product", "asset", "amount", "status", "allocated", "refunded", "position", "created_at",
                  "settled_at"]


def render_commitment(commitment: LaunchCommitment) -> dict:
    """CommitmentOutput's answer, built directly (tests/earn/test_plain_answers.py)."""
    scale = commitment.product.asset.scale
    return {"id": commitment.pk, "product": commitment.product_id, "asset": commitment.product.asset_id,
            "amount": decimal_text(commitment.amount, scale), "status": commitment.status,
            "allocated": decimal_text(commitment.allocated, scale),
            "refunded": decimal_text(commitment.refunded, scale),
            "position": commitment.position_id, "created_at": datetime_text(commitment.created_at),
            "settled_at": datetime_text(commitment.settled_at)}


class LaunchOutput(serializers.Serializer):
    product = serializers.IntegerField()
    asset = serializers.CharField()
    method = serializers.ChoiceField(choices=["pro_rata", "fcfs"])
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    quota = ScaledAmountField()
    min_lot = ScaledAmountField(help_text="Smallest commitment, and smallest allocation.")
    user_cap = ScaledAmountField(allow_null=True, help_text="Most one customer is allocated; null: no cap.")
    state = serializers.ChoiceField(choices=["upcoming", "open", "closed", "allocating", "allocated"])
    committed_total = ScaledAmountField(help_text="Everything committed so far, all customers.")
    customers = serializers.IntegerField()
    allocated_total = ScaledAmountField(allow_null=True)
    allocated_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    your_committed = ScaledAmountField()
    your_allocated = ScaledAmountField(allow_null=True)
    your_refunded = ScaledAmountField(allow_null=True)
    your_commitments = serializers.IntegerField()


class LaunchDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="launch_retrieve", responses={200: LaunchOutput, 404: OpenApiResponse(
        description="NOT_FOUND: no such product offered to the caller, or not a launch")})
    def get(self, request: Request, product_id: int) -> Response:
        # As the catalogue: a launch whose category the customer may not be offered is 404 (compliance's category
        # rules), unless they committed to it before the rule changed: their own commitments stay in view.
        product = catalogue_product(product_id=product_id, user=request.user, offered_only=True)
        if product is None:
            product = catalogue_product(product_id=product_id, user=request.user)
            if product is not None and not selectors.commitments_of(request.user, product_id=product.pk).exists():
                product = None
        if product is None or not product.is_launch:
            raise NotFound(_("No such launch."), field="product")
        return Response(LaunchOutput(selectors.launch_summary(product, user=request.user)).data)


class CommitmentListCreateApi(ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = CommitmentOutput
    pagination_class = NewestFirst
    throttle_scope = "money"

    class InputSerializer(serializers.Serializer):
        product = serializers.IntegerField(min_value=1)
        amount = AmountTextField()
        otp = serializers.CharField(required=False, allow_blank=True, max_length=16, help_text=OTP_FIELD_HELP)

    def get_throttles(self) -> list[Any]:
        return [ScopedRateThrottle()] if self.request.method == "POST" else super().get_throttles()

    class FilterSerializer(serializers.Serializer):
        # A filter that is not a product id is refused (400), never read as "all" nor left to int() (a 500 on
        # "²" or on 5 000 digits).
        product = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

    def get_queryset(self) -> Any:
        filters = self.FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.commitments_of(self.request.user, product_id=filters.validated_data.get("product"))

    @extend_schema(parameters=[OpenApiParameter("product", int, description="Only this product's commitments (400 "
                                                                             "on `product` unless a product id).")],
                   operation_id="commitment_list", responses={200: CommitmentOutput(many=True), 400: OpenApiResponse(
                       description="INVALID / MIN_VALUE (field `product`): not a product id")})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=InputSerializer, parameters=[IDEMPOTENCY_HEADER], operation_id="commitment_create",
                   responses={
                       201: CommitmentOutput,
                       400: OpenApiResponse(description="INVALID_AMOUNT, BELOW_MIN (below the minimum lot), or a "
                                                        "malformed field"),
                       403: OpenApiResponse(description="A gate refusal (`codes` lists them all): NO_ACK, "
                                                        "KYC_REQUIRED, JURISDICTION_RESTRICTED, PRODUCT_NOT_PERMITTED, "
                                                        "ASSESSMENT_REQUIRED, COOLING_OFF, EXPOSURE_LIMIT …; "
                                                        "OTP_REQUIRED / OTP_INVALID"),
                       404: OpenApiResponse(description="NOT_FOUND: no such product offered to the caller"),
                       409: OpenApiResponse(description="OUTSIDE_WINDOW, INSUFFICIENT_BALANCE, PRODUCT_NOT_LIVE, "
                                                        "NOT_A_LAUNCH, ACK_OUTDATED, IDEMPOTENCY_KEY_REUSED"),
                       429: OpenApiResponse(description="THROTTLED: the `money` scope")})
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        otp_require_for_request(request)  # 2FA on: money moves need a one-time code
        status, body, replayed = services.commitment_submit(
            user=request.user, product_id=v["product"], amount=v["amount"],
            idempotency_key=request.headers.get("Idempotency-Key"),
            render=render_commitment)
        response = Response(body, status=status)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


urlpatterns = [
    path("products/<int:product_id>/launch", LaunchDetailApi.as_view(), name="launch-detail"),
    path("commitments", CommitmentListCreateApi.as_view(), name="commitment-list"),
]
