"""Customer API: subscription preview and subscribe, positions, accruals, redemptions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import renderers, serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.requests import request_user
from accounts.twofactor import otp_require_for_request
from compliance import selectors as compliance_selectors
from core.api import (
    DECIMAL_STRING_SCHEMA,
    AmountTextField,
    ExactAmountField,
    NewestFirst,
    OldestFirst,
    RateField,
    ScaledAmountField,
    date_text,
    datetime_text,
)
from core.errors import NotFound
from core.money import decimal_text
from core.throttling import ScopedRateThrottle
from earn.api import transparency
from earn.models import Accrual, Position, Product, Redemption, Subscription
from earn.selectors.positions import positions_with_interest, redemption_read
from earn.selectors.products import catalogue_product
from earn.services import position_switches
from earn.services import redemptions as redemption_services
from earn.services import subscriptions as subscription_services

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts.models import User
    from accounts.requests import AuthenticatedRequest

IDEMPOTENCY_HEADER = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                                      description="Unique per money-moving request; a replay returns the first answer.")
OTP_FIELD_HELP = "One-time code when two-factor authentication is on (else OTP_REQUIRED); or the X-OTP header."


class SubscriptionPreviewApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        product = serializers.IntegerField(min_value=1)
        amount = AmountTextField()

    class OutputSerializer(serializers.Serializer):
        product = serializers.IntegerField()
        amount = ScaledAmountField()
        value_date = serializers.DateField()
        maturity_date = serializers.DateField(allow_null=True)
        apr = RateField()
        apy = RateField()
        est_daily_interest = ScaledAmountField()
        est_total_interest = ScaledAmountField(allow_null=True)
        blocking = serializers.ListField(child=serializers.CharField())
        risk_warning = serializers.CharField(allow_null=True, help_text="Prescribed risk warning (GB), else null.")
        personalised_warning = serializers.CharField(
            allow_null=True, help_text="Shown before subscribing (GB): the customer's name and the risk; else null.")

    @extend_schema(request=InputSerializer, responses=OutputSerializer, operation_id="subscription_preview")
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = _product_or_404(data.validated_data["product"], request.user)
        quote = subscription_services.subscription_quote(user=request.user, product=product,
                                                         amount=data.validated_data["amount"])
        scale = product.asset.scale
        return Response(self.OutputSerializer({
            "product": product.pk, "scale": scale, "amount": quote.amount, "value_date": quote.value_date,
            "maturity_date": quote.maturity_date, "apr": quote.apr, "apy": quote.apy,
            "est_daily_interest": quote.est_daily_interest, "est_total_interest": quote.est_total_interest,
            "blocking": quote.blocking,
            **_warnings(request.user, product),
        }).data)


def _warnings(user: User, product: Product) -> dict:
    warnings = compliance_selectors.warnings_for(user, product)
    return {"risk_warning": warnings["risk_warning"], "personalised_warning": warnings["personalised_warning"]}


def _product_or_404(product_id: int, user: User) -> Product:
    """Only products this customer may see: a draft's or an approved-but-not-live product's rates are 404."""
    product = catalogue_product(product_id=product_id, user=user)
    if product is None:
        raise NotFound(_("No such product."), field="product")
    return product


class SubscriptionCreateApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "money"

    class InputSerializer(serializers.Serializer):
        product = serializers.IntegerField(min_value=1)
        amount = AmountTextField()
        auto_renew = serializers.BooleanField(default=False)
        otp = serializers.CharField(required=False, allow_blank=True, max_length=16, help_text=OTP_FIELD_HELP)

    class OutputSerializer(serializers.ModelSerializer):
        amount = ScaledAmountField(scale_from="product.asset.scale")

        class Meta:
            model = Subscription
            fields = ["id", "position", "product", "amount", "value_date", "maturity_date", "created_at"]

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, parameters=[IDEMPOTENCY_HEADER],
                   operation_id="subscription_create")
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        otp_require_for_request(request)  # 2FA on: money moves need a one-time code
        status, body, replayed = subscription_services.subscription_submit(
            user=request.user, product_id=v["product"], amount=v["amount"], auto_renew=v["auto_renew"],
            idempotency_key=request.headers.get("Idempotency-Key"),
            render=render_subscription,
        )
        response = Response(body, status=status)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


def render_subscription(sub: Subscription) -> dict:
    """SubscriptionCreateApi.OutputSerializer's answer, built directly (tests/earn/test_plain_answers.py)."""
    return {"id": sub.pk, "position": sub.position_id, "product": sub.product_id,
            "amount": decimal_text(sub.amount, sub.product.asset.scale), "value_date": date_text(sub.value_date),
            "maturity_date": date_text(sub.maturity_date), "created_at": datetime_text(sub.created_at)}


class PositionOutputSerializer(serializers.ModelSerializer):
    principal = serializers.SerializerMethodField()
    accrued = serializers.SerializerMethodField()
    paid_interest = serializers.SerializerMethodField()
    product_name = serializers.SerializerMethodField()
    asset = serializers.CharField(source="asset_id")

    class Meta:
        model = Position
        fields = ["id", "product", "product_name", "asset", "term_type", "principal", "accrued", "paid_interest",
                  "status", "value_date", "maturity_date", "auto_renew", "auto_compound", "created_at"]

    @extend_schema_field(DECIMAL_STRING_SCHEMA)
    def get_principal(self, obj: Position) -> str:
        return decimal_text(obj.principal, obj.asset.scale)

    @extend_schema_field(DECIMAL_STRING_SCHEMA)
    def get_accrued(self, obj: Position) -> str:
        return decimal_text(getattr(obj, "accrued_interest", Decimal(0)), obj.asset.scale)

    @extend_schema_field(DECIMAL_STRING_SCHEMA)
    def get_paid_interest(self, obj: Position) -> str:
        return decimal_text(getattr(obj, "paid_interest", Decimal(0)), obj.asset.scale)

    def get_product_name(self, obj: Position) -> str:
        language = getattr(self.context.get("request"), "LANGUAGE_CODE", "en") if self.context else "en"
        return obj.product.name_for(language or "en")


class PositionListApi(ListAPIView):
    serializer_class = PositionOutputSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[Position]:
        queryset = positions_with_interest(request_user(self.request))
        status = self.request.query_params.get("status")
        return queryset.filter(status=status) if status else queryset


class PositionDetailApi(APIView):
    class PatchSerializer(serializers.Serializer):
        auto_renew = serializers.BooleanField(required=False)
        auto_compound = serializers.BooleanField(required=False)

        def validate(self, attrs: dict) -> dict:
            if not attrs:
                raise serializers.ValidationError(_("Send auto_renew or auto_compound."))
            return attrs

    def _get(self, request: AuthenticatedRequest, position_id: int) -> Position:
        position = positions_with_interest(request.user).filter(pk=position_id).first()
        if position is None:
            raise NotFound(_("No such position."), field="position")
        return position

    @extend_schema(responses=PositionOutputSerializer, operation_id="position_retrieve")
    def get(self, request: AuthenticatedRequest, position_id: int) -> Response:
        return Response(PositionOutputSerializer(self._get(request, position_id), context={"request": request}).data)

    @extend_schema(request=PatchSerializer, responses=PositionOutputSerializer, operation_id="position_update")
    def patch(self, request: AuthenticatedRequest, position_id: int) -> Response:
        data = self.PatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "auto_renew" in data.validated_data:
            position_switches.position_set_auto_renew(user=request.user, position_id=position_id,
                                                        auto_renew=data.validated_data["auto_renew"])
        if "auto_compound" in data.validated_data:
            position_switches.position_set_auto_compound(user=request.user, position_id=position_id,
                                                           auto_compound=data.validated_data["auto_compound"])
        return Response(PositionOutputSerializer(self._get(request, position_id), context={"request": request}).data)


class AccrualOutputSerializer(serializers.ModelSerializer):
    """One day's interest: `base` and `posted` at the asset's scale; `exact` and `carry` at the stored
    precision, since they are sub-unit by design (posted = floor(exact + previous carry))."""

    base = ScaledAmountField(scale_from="position.asset.scale")
    apr = RateField(help_text="Effective APR on the base, a fraction (marginal tiers blended).")
    exact = ExactAmountField(help_text="The day's interest before rounding, at 18 decimals.")
    posted = ScaledAmountField(scale_from="position.asset.scale", help_text="What was credited, at the asset's scale.")
    carry = ExactAmountField(help_text="The sub-unit remainder carried to the next day, at 18 decimals.")

    class Meta:
        model = Accrual
        fields = ["date", "base", "apr", "exact", "posted", "carry", "payout", "paid_out"]


class PositionAccrualsApi(ListAPIView):
    """A position's accruals, oldest first; `?format=proof` answers every day's inputs instead
    (earn.api.transparency), for `bin/earn_verify.py` to recompute offline."""

    serializer_class = AccrualOutputSerializer
    pagination_class = OldestFirst
    renderer_classes = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, transparency.AccrualProofRenderer]

    def get_queryset(self) -> QuerySet[Accrual]:
        position_id = self.kwargs["position_id"]
        if not Position.objects.filter(pk=position_id, user=request_user(self.request)).exists():
            raise NotFound(_("No such position."), field="position")
        return Accrual.objects.filter(position_id=position_id).select_related("position__asset")

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "proof"],
                                     description="proof: every day's inputs (base, tiers and basis of the terms in "
                                                 "force with their version, carry in) and results, unpaginated.")],
        responses={(200, "application/json"): AccrualOutputSerializer(many=True),
                   (200, transparency.PROOF_MEDIA_TYPE): transparency.AccrualProofSerializer})
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        if request.accepted_renderer.format == "proof":
            return transparency.accrual_proof_response(request, self.kwargs["position_id"])
        return super().get(request, *args, **kwargs)

    def handle_exception(self, exc: Exception) -> Response:
        # Errors are plain JSON whichever answer was asked for.
        renderer = getattr(self.request, "accepted_renderer", None)
        if renderer is not None and renderer.format == "proof":
            self.request.accepted_renderer = renderers.JSONRenderer()
            self.request.accepted_media_type = "application/json"
        return super().handle_exception(exc)


class RedemptionInputSerializer(serializers.Serializer):
    amount = AmountTextField(required=False, allow_null=True, allow_blank=True)
    mode = serializers.ChoiceField(choices=["fast", "standard"], default="fast")
    otp = serializers.CharField(required=False, allow_blank=True, max_length=16, help_text=OTP_FIELD_HELP)


class RedemptionOutputSerializer(serializers.ModelSerializer):
    amount = ScaledAmountField(scale_from="position.asset.scale", help_text="Principal redeemed.")
    payout = ScaledAmountField(scale_from="position.asset.scale", help_text="What the customer receives.")
    forfeited = ScaledAmountField(scale_from="position.asset.scale",
                                  help_text="Interest clawed back under the early-redemption rule.")

    class Meta:
        model = Redemption
        fields = ["id", "position", "amount", "payout", "forfeited", "mode", "early", "status", "settles_at",
                  "created_at"]


def render_redemption(redemption: Redemption) -> dict:
    """RedemptionOutputSerializer's answer, built directly (tests/earn/test_plain_answers.py)."""
    scale = redemption.position.asset.scale
    return {"id": redemption.pk, "position": redemption.position_id, "amount": decimal_text(redemption.amount, scale),
            "payout": decimal_text(redemption.payout, scale), "forfeited": decimal_text(redemption.forfeited, scale),
            "mode": redemption.mode, "early": redemption.early, "status": redemption.status,
            "settles_at": datetime_text(redemption.settles_at), "created_at": datetime_text(redemption.created_at)}


class RedemptionCreateApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "money"

    @extend_schema(request=RedemptionInputSerializer, responses={201: RedemptionOutputSerializer},
                   parameters=[IDEMPOTENCY_HEADER], operation_id="redemption_create")
    def post(self, request: AuthenticatedRequest, position_id: int) -> Response:
        data = RedemptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key")
        read = redemption_read(position_id=position_id, user=request.user, idempotency_key=key,
                               today=timezone.localdate(timezone.now(), dt.UTC))
        if read is None:  # before anything else, the 2FA code included
            raise NotFound(_("No such position."), field="position")
        otp_require_for_request(request)  # 2FA on: money moves need a one-time code
        status, body, replayed = redemption_services.redemption_submit(
            user=request.user, position_id=position_id, amount=data.validated_data.get("amount") or None,
            mode=data.validated_data["mode"], idempotency_key=key, render=render_redemption, read=read,
        )
        response = Response(body, status=status)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class RedemptionPreviewApi(APIView):
    class OutputSerializer(serializers.Serializer):
        amount = ScaledAmountField()
        payout = ScaledAmountField()
        forfeited = ScaledAmountField()
        early = serializers.BooleanField()
        mode = serializers.CharField()
        settles_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(request=RedemptionInputSerializer, responses=OutputSerializer, operation_id="redemption_preview")
    def post(self, request: AuthenticatedRequest, position_id: int) -> Response:
        data = RedemptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        position = (Position.objects.select_related("product__asset", "terms")
                    .filter(pk=position_id, user=request.user).first())
        if position is None:
            raise NotFound(_("No such position."), field="position")
        plan = redemption_services.redemption_plan(position=position, amount=data.validated_data.get("amount") or None,
                                                   mode=data.validated_data["mode"])
        scale = position.product.asset.scale
        return Response(self.OutputSerializer({"amount": plan.amount, "payout": plan.payout,
                                               "forfeited": plan.forfeited, "scale": scale,
                                               "early": plan.early, "mode": plan.mode,
                                               "settles_at": plan.settles_at}).data)


urlpatterns = [
    path("subscriptions/preview", SubscriptionPreviewApi.as_view(), name="subscription-preview"),
    path("subscriptions", SubscriptionCreateApi.as_view(), name="subscription-create"),
    path("positions", PositionListApi.as_view(), name="position-list"),
    path("positions/<int:position_id>", PositionDetailApi.as_view(), name="position-detail"),
    path("positions/<int:position_id>/accruals", PositionAccrualsApi.as_view(), name="position-accruals"),
    path("positions/<int:position_id>/redemptions", RedemptionCreateApi.as_view(), name="redemption-create"),
    path("positions/<int:position_id>/redemptions/preview", RedemptionPreviewApi.as_view(),
         name="redemption-preview"),
]
