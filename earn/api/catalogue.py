"""Product catalogue API for customers: list and detail of live products (thin: selectors do the work)."""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.category_selectors import category_access
from compliance.selectors import warnings_for
from compliance.services.customers import earn_first_view_record
from core.api import DecimalTextField, KeysetCursorPagination, RateField, ScaledAmountField
from core.errors import NotFound
from earn.models import (
    Category,
    EarlyRedemption,
    PayoutMode,
    Product,
    ProductStatus,
    RedemptionMode,
    Strategy,
    TermType,
)
from earn.selectors import products as selectors


class PoolFactsOutput(serializers.Serializer):
    """A pool's facts and current yields (`pools.selectors.pool_summary`); also the catalogue's `pool`."""

    id = serializers.IntegerField()
    pair = serializers.ListField(child=serializers.CharField(), help_text="[asset a, asset b]")
    venue = serializers.CharField()
    chain = serializers.CharField()
    contract_address = serializers.CharField()
    fee_rate = DecimalTextField(help_text="The pool's swap fee, a fraction.")
    fee_mode = serializers.CharField()
    reserve_a = DecimalTextField()
    reserve_b = DecimalTextField()
    total_shares = DecimalTextField()
    share_asset = serializers.CharField()
    pool_price = DecimalTextField(allow_null=True, help_text="Asset b per asset a; null for an empty pool.")
    prices_usd = serializers.DictField(child=DecimalTextField(), help_text="USD price per asset code.")
    reward_asset = serializers.CharField(allow_null=True)
    daily_emission = DecimalTextField()
    daily_volume_usd = DecimalTextField()
    tvl_usd = DecimalTextField(allow_null=True, help_text="null while a price is missing (also the yields).")
    fee_apr = DecimalTextField(allow_null=True)
    reward_apr = DecimalTextField(allow_null=True)
    apr = DecimalTextField(allow_null=True)
    apy_compounded = DecimalTextField(allow_null=True)


class TierOutput(serializers.Serializer):
    min = ScaledAmountField()
    max = ScaledAmountField(allow_null=True)
    apr = RateField()


class DisclosureRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    sha256 = serializers.CharField()


class WindowOutput(serializers.Serializer):
    start = serializers.DateTimeField(allow_null=True)
    end = serializers.DateTimeField(allow_null=True)


class EarlyRedemptionOutput(serializers.Serializer):
    rule = serializers.ChoiceField(choices=EarlyRedemption.choices)
    penalty_apr = RateField(allow_null=True)


# --- Customer catalogue ------------------------------------------------------------------------------


class ProductOutput(serializers.Serializer):
    """A product as customers see it. Rates are fractions; `apr_label`/`apy_label` are for display."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=ProductStatus.choices)
    subscribable = serializers.BooleanField(help_text="False for paused products (read-only).")
    type = serializers.ChoiceField(choices=TermType.choices)
    strategy = serializers.ChoiceField(choices=Strategy.choices)
    category = serializers.ChoiceField(choices=Category.choices,
                                       help_text="What the product does with the customer's assets; who may be "
                                                 "offered it depends on it (docs/COMPLIANCE.md).")
    asset = serializers.CharField()
    terms_version = serializers.IntegerField(allow_null=True)
    effective_from = serializers.DateField(allow_null=True)
    term_days = serializers.IntegerField(allow_null=True)
    day_count_basis = serializers.IntegerField(allow_null=True)
    apr_tiers = serializers.SerializerMethodField()
    apr = RateField(allow_null=True, help_text="Headline APR: the first tier's.")
    apy = RateField(allow_null=True, help_text="APY: (1 + APR/365)^365 − 1 for demand products; equal to the APR "
                                               "for fixed ones.")
    apr_label = serializers.CharField()
    apy_label = serializers.CharField()
    apy_compounding = serializers.ChoiceField(choices=["daily", "none"])
    min_amount = ScaledAmountField(allow_null=True)
    max_amount = ScaledAmountField(allow_null=True)
    per_user_cap = ScaledAmountField(allow_null=True)
    total_cap = ScaledAmountField(allow_null=True)
    left_quota = ScaledAmountField(allow_null=True)
    user_left_quota = ScaledAmountField(allow_null=True)
    window = WindowOutput(allow_null=True)
    payout = serializers.ChoiceField(choices=PayoutMode.choices, allow_null=True)
    early_redemption = EarlyRedemptionOutput(allow_null=True)
    redemption_modes = serializers.ListField(child=serializers.ChoiceField(choices=RedemptionMode.choices))
    auto_renew_allowed = serializers.BooleanField(allow_null=True)
    risk_rating = serializers.IntegerField()
    disclosure = DisclosureRefOutput(allow_null=True)
    pool = PoolFactsOutput(allow_null=True, help_text="Liquidity-mining products: the pool; else null.")
    risk_warning = serializers.CharField(allow_null=True, required=False,
                                         help_text="The prescribed risk warning where the customer's country needs "
                                                   "one (GB), else null.")

    @extend_schema_field(TierOutput(many=True))
    def get_apr_tiers(self, entry: dict) -> list[dict]:
        scale = entry["scale"]
        # many=True makes a ListSerializer, whose data is a list; the stubs type every serializer's data a dict
        return TierOutput([{**t, "scale": scale} for t in entry.get("apr_tiers", [])], many=True).data  # type: ignore[return-value]


def _for_output(entry: dict[str, Any], product: Product, language: str) -> dict[str, Any]:
    """Fill display-only keys: the name in the caller's language, labelled rates, the asset's scale."""
    out = {"apr_tiers": [], "apr": None, "apy": None, "window": None, "early_redemption": None,
           "redemption_modes": [], "term_days": None, "day_count_basis": None, "payout": None,
           "min_amount": None, "max_amount": None, "per_user_cap": None, "user_left_quota": None,
           "auto_renew_allowed": None, "effective_from": None, "apy_compounding": "none", **entry}
    out["name"] = product.name_for(language)
    out["scale"] = product.asset.scale
    out["apr_label"] = (_("%(rate)s%% APR") % {"rate": entry["apr_percent"]}) if out["apr"] is not None else ""
    if out["apy"] is None:
        out["apy_label"] = ""
    elif out["apy_compounding"] == "daily":
        out["apy_label"] = _("%(rate)s%% APY (compounded daily)") % {"rate": entry["apy_percent"]}
    else:
        out["apy_label"] = _("%(rate)s%% APY (simple, equal to APR)") % {"rate": entry["apy_percent"]}
    return out


def _language(request: Request) -> str:
    """?lang= first, then an explicit Accept-Language, then the user's own language."""
    explicit = request.query_params.get("lang") or (
        getattr(request, "LANGUAGE_CODE", None) if "HTTP_ACCEPT_LANGUAGE" in request.META else None)
    return (explicit or getattr(request.user, "language", "") or "en").lower()


class ProductPageOutput(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ProductOutput(many=True)


class ProductPagination(KeysetCursorPagination):
    ordering = ("id",)
    page_size = 50


class ProductListApi(APIView):
    """The catalogue: live products by default; paused ones (read-only) on request with status=paused.
    Products whose category the customer may not be offered (compliance's category rules) are not listed."""

    permission_classes = [IsAuthenticated]

    class FilterSerializer(serializers.Serializer):
        type = serializers.ChoiceField(choices=TermType.choices, required=False)
        asset = serializers.CharField(required=False, max_length=16)
        status = serializers.CharField(required=False, default=ProductStatus.LIVE,
                                       help_text="live (default), paused, or both: live,paused")
        lang = serializers.ChoiceField(choices=["en", "zh-hant"], required=False,
                                       help_text="Language of names; defaults to Accept-Language, then the user's.")

        def validate_status(self, value: str) -> list[str]:
            wanted = [s.strip() for s in value.split(",") if s.strip()]
            if not wanted or not set(wanted) <= set(selectors.CUSTOMER_VISIBLE_STATUSES):
                raise serializers.ValidationError(_("Status is live, paused or live,paused."))
            return wanted

    @extend_schema(parameters=[FilterSerializer], responses=ProductPageOutput, tags=["products"],
                   operation_id="product_list")
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        qs = selectors.catalogue_products(term_type=f.get("type"), asset=f.get("asset"), statuses=f["status"],
                                          access=category_access(request.user)).select_related("asset")
        paginator = ProductPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        entries = selectors.catalogue_entries(page, user=request.user)
        language = _language(request)
        earn_first_view_record(request.user)  # starts the GB cooling-off
        warning = warnings_for(request.user, language=language)["risk_warning"]
        data = ProductOutput([{**_for_output(e, p, language), "risk_warning": warning}
                              for e, p in zip(entries, page, strict=True)], many=True).data
        return paginator.get_paginated_response(data)


class ProductDetailApi(APIView):
    """One product's terms as customers see them (live or paused products only); 404 for a product whose
    category the customer may not be offered, unless they hold it."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ProductOutput, tags=["products"], operation_id="product_detail")
    def get(self, request: Request, product_id: int) -> Response:
        product = selectors.catalogue_product(product_id=product_id, user=request.user, offered_only=True)
        if product is None:
            raise NotFound(_("No such product."))
        (entry,) = selectors.catalogue_entries([product], user=request.user)
        language = _language(request)
        earn_first_view_record(request.user)
        warning = warnings_for(request.user, product, language=language)["risk_warning"]
        return Response(ProductOutput({**_for_output(entry, product, language), "risk_warning": warning}).data)


urlpatterns = [
    path("products", ProductListApi.as_view(), name="product-list"),
    path("products/<int:product_id>", ProductDetailApi.as_view(), name="product-detail"),
]
