"""Pool API (thin): pool facts and yields, the IL table and chart, deposits, pool positions, redemptions."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, overload

from django.http import HttpResponse
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.requests import request_user
from accounts.twofactor import otp_require_for_request
from compliance.category_selectors import category_access
from core.api import (
    DECIMAL_STRING_SCHEMA,
    AmountTextField,
    DecimalTextField,
    NewestFirst,
    OldestFirst,
    ScaledAmountField,
)
from core.errors import NotFound, ValidationFailed
from core.money import decimal_text, to_decimal
from core.throttling import ScopedRateThrottle
from earn.api.catalogue import PoolFactsOutput
from earn.selectors.products import catalogue_product, catalogue_products
from pools import selectors
from pools.chart import il_chart_svg
from pools.models import DepositMode, Pool, PoolDeposit, PoolPayout, PoolPosition, PoolWithdrawal
from pools.services import deposits, redemptions

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts.models import User
    from accounts.requests import AuthenticatedRequest

IDEMPOTENCY_HEADER = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                                      description="Unique per money-moving request; a replay returns the first answer.")
USD_SCALE = 2  # USD values are shown in cents
DEFAULT_REWARD_SCALE = 8  # a pool without a reward asset shows its (zero) rewards at 8 places
AMOUNT_USD = OpenApiParameter("amount_usd", str, required=False, description="Personalise for this USD amount "
                              "(default 1000).")


@overload
def _t(value: Decimal, scale: int | None = None) -> str: ...
@overload
def _t(value: None, scale: int | None = None) -> None: ...
def _t(value: Decimal | None, scale: int | None = None) -> str | None:
    return decimal_text(value, scale)


# --- Answer shapes (the views assemble JSON-ready dicts in the selectors; these declare them) -----------

class PoolSummaryOutput(PoolFactsOutput):
    product = serializers.IntegerField()


class PoolListOutput(serializers.Serializer):
    results = PoolSummaryOutput(many=True)


class IlRowOutput(serializers.Serializer):
    ratio = DecimalTextField(help_text="Price of asset a relative to the deposit day.")
    il = DecimalTextField(help_text="Impermanent loss, a fraction (≤ 0).")
    il_percent = DecimalTextField()
    loss_usd = DecimalTextField()
    break_even_days = DecimalTextField(allow_null=True, help_text="null when the pool earns nothing.")


class IlTableOutput(serializers.Serializer):
    pair = serializers.CharField()
    price_of = serializers.CharField()
    in_ = serializers.CharField()
    amount_usd = DecimalTextField()
    fee_apr = DecimalTextField(allow_null=True)
    reward_apr = DecimalTextField(allow_null=True)
    apr = DecimalTextField(allow_null=True)
    formula = serializers.CharField()
    rows = IlRowOutput(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["in"] = fields.pop("in_")  # `in` is a Python keyword
        return fields


class SwapOutput(serializers.Serializer):
    sell = DecimalTextField()
    buy = DecimalTextField()
    fee = DecimalTextField()
    fee_rate = DecimalTextField()
    left_with_you = DecimalTextField()


class PoolDepositPreviewOutput(serializers.Serializer):
    product = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=DepositMode.choices)
    asset = serializers.CharField()
    amount_a = DecimalTextField()
    amount_b = DecimalTextField()
    asset_a = serializers.CharField()
    asset_b = serializers.CharField()
    swap = SwapOutput(allow_null=True, help_text="One-asset deposits: the swap of half; null for pair deposits.")
    shares = DecimalTextField()
    value_usd = DecimalTextField()
    value_date = serializers.DateField()
    maturity_date = serializers.DateField(allow_null=True)
    share_of_pool = DecimalTextField()
    fee_apr = DecimalTextField()
    reward_apr = DecimalTextField()
    apr = DecimalTextField()
    apy_compounded = DecimalTextField()
    est_daily_fees_usd = DecimalTextField()
    est_daily_rewards_usd = DecimalTextField()
    il_table = IlTableOutput()
    blocking = serializers.ListField(child=serializers.CharField(), help_text="Reason codes that would refuse it.")


class PoolPositionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    product = serializers.IntegerField()
    product_name = serializers.CharField()
    pair = serializers.ListField(child=serializers.CharField())
    term_type = serializers.CharField()
    status = serializers.CharField()
    shares = DecimalTextField()
    share_of_pool = DecimalTextField()
    amount_a = DecimalTextField(help_text="What the shares would return now.")
    amount_b = DecimalTextField()
    value_usd = DecimalTextField(allow_null=True, help_text="null while a price is missing (also hold and vs hold).")
    hold_value_usd = DecimalTextField(allow_null=True)
    vs_hold_usd = DecimalTextField(allow_null=True)
    deposited_a = DecimalTextField()
    deposited_b = DecimalTextField()
    deposited_usd = DecimalTextField()
    fees_a = DecimalTextField()
    fees_b = DecimalTextField()
    fees_compounded = serializers.BooleanField()
    rewards = DecimalTextField()
    reward_asset = serializers.CharField(allow_null=True)
    compound_rewards = serializers.BooleanField()
    value_date = serializers.DateField()
    maturity_date = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)


class PoolRedemptionPreviewOutput(serializers.Serializer):
    shares = DecimalTextField()
    amount_a = DecimalTextField(help_text="Paid out (after anything withheld).")
    amount_b = DecimalTextField()
    withheld_a = DecimalTextField()
    withheld_b = DecimalTextField()
    value_usd = DecimalTextField(allow_null=True)
    hold_value_usd = DecimalTextField(allow_null=True)
    vs_hold_usd = DecimalTextField(allow_null=True)
    early = serializers.BooleanField()


def _visible_pool(product_id: int, user: User | None = None) -> Pool:
    """The pool of a product this customer may see and be offered (compliance's category rules), or one they hold."""
    product = catalogue_product(product_id=product_id, user=user, offered_only=True)
    pool = selectors.pool_for_product(product) if product else None
    if pool is None:
        raise NotFound(_("This product has no pool."), field="product")
    return pool


def _amount_usd(request: Request) -> Decimal | None:
    raw = request.query_params.get("amount_usd")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ValidationFailed(_("amount_usd is a decimal number."), field="amount_usd") from exc
    if not value.is_finite() or value <= 0 or value >= Decimal(10) ** 15:
        raise ValidationFailed(_("amount_usd is a positive amount."), field="amount_usd")
    return value


class PoolListApi(APIView):
    """Pools of the live and paused liquidity-mining products the caller may be offered (compliance's category
    rules, as the catalogue), with reserves and current yields."""

    @extend_schema(responses={200: PoolListOutput}, tags=["pools"], operation_id="pool_list")
    def get(self, request: Request) -> Response:
        offered = catalogue_products(statuses=["live", "paused"], access=category_access(request.user))
        ids = Pool.objects.filter(product__in=offered).values_list("product_id", flat=True)
        summaries = selectors.pool_summaries_bulk(list(ids))
        return Response({"results": [{"product": pid, **summaries[pid]} for pid in sorted(summaries)]})


class ProductPoolApi(APIView):
    @extend_schema(responses={200: PoolSummaryOutput}, tags=["pools"], operation_id="product_pool")
    def get(self, request: AuthenticatedRequest, product_id: int) -> Response:
        return Response({"product": product_id, **selectors.pool_summary(_visible_pool(product_id, request.user))})


class ProductPoolIlApi(APIView):
    """The IL table: ratios 0.25 … 5, IL %, the loss on amount_usd and the days of current APR that cover it."""

    @extend_schema(parameters=[AMOUNT_USD], responses={200: IlTableOutput}, tags=["pools"],
                   operation_id="product_pool_il")
    def get(self, request: AuthenticatedRequest, product_id: int) -> Response:
        pool = _visible_pool(product_id, request.user)
        return Response(selectors.il_table_json(selectors.il_table(pool.product, _amount_usd(request))))


class ProductPoolIlChartApi(APIView):
    """The IL chart as an SVG image (for the portal and the PDF)."""

    @extend_schema(parameters=[AMOUNT_USD], responses={(200, "image/svg+xml"): OpenApiResponse(description="SVG")},
                   tags=["pools"], operation_id="product_pool_il_chart")
    def get(self, request: AuthenticatedRequest, product_id: int) -> HttpResponse:
        pool = _visible_pool(product_id, request.user)
        svg = il_chart_svg(selectors.il_table(pool.product, _amount_usd(request)))
        response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
        response["Cache-Control"] = "private, max-age=60"
        return response


# --- Outcome simulator ---------------------------------------------------------------------------

MIN_SIMULATION_AMOUNT, MAX_SIMULATION_AMOUNT = Decimal("0.01"), Decimal(10) ** 12


class SimulationQuery(serializers.Serializer):
    amount = serializers.CharField(required=False, default="1000", max_length=40, trim_whitespace=True,
                                   help_text="USD value deposited (both assets together), 0.01 to below 10^12; "
                                             "default 1000.")
    days = serializers.IntegerField(required=False, default=365, min_value=1,
                                    max_value=selectors.SIMULATION_MAX_DAYS,
                                    help_text="Holding period in days, 1 to 3650; default 365.")

    def validate_amount(self, value: str) -> Decimal:
        try:
            amount = to_decimal(value or "1000")
        except (TypeError, ValueError) as exc:
            raise serializers.ValidationError(_("amount is a decimal number of US dollars."),
                                              code="invalid_amount") from exc
        if not MIN_SIMULATION_AMOUNT <= amount < MAX_SIMULATION_AMOUNT:
            raise serializers.ValidationError(_("amount is a number of US dollars from 0.01 to below 10^12."),
                                              code="invalid_amount")
        return amount


class SimulationBandOutput(serializers.Serializer):
    p5 = DecimalTextField(help_text="5th percentile: 1 path in 20 ends lower.")
    p50 = DecimalTextField(help_text="Median.")
    p95 = DecimalTextField(help_text="95th percentile: 1 path in 20 ends higher.")


class SimulationPercentilesOutput(serializers.Serializer):
    position_value_usd = SimulationBandOutput(help_text="Pool share at the end plus fees and rewards.")
    pool_value_usd = SimulationBandOutput(help_text="What the pool share returns at the end.")
    income_usd = SimulationBandOutput(help_text="Fees plus rewards over the period.")
    hold_value_usd = SimulationBandOutput(help_text="The deposited assets simply held.")
    vs_hold_usd = SimulationBandOutput(help_text="Position value minus hold value, per path.")
    il_usd = SimulationBandOutput(help_text="Impermanent loss in USD: hold value minus pool value (≥ 0).")
    il = SimulationBandOutput(help_text="Impermanent loss as a fraction (≤ 0), as the IL table.")
    il_percent = SimulationBandOutput()
    end_ratio = SimulationBandOutput(help_text="Price of asset a in asset b at the end; today = 1.")


class SimulationOutput(serializers.Serializer):
    pair = serializers.CharField()
    price_of = serializers.CharField()
    in_ = serializers.CharField()
    amount_usd = DecimalTextField()
    days = serializers.IntegerField()
    paths = serializers.IntegerField()
    steps = serializers.IntegerField(help_text="Time steps per path: one a day up to a year, fewer beyond.")
    step_days = serializers.IntegerField(help_text="Longest step, in days.")
    seed = serializers.CharField(help_text="From product, amount, days and the date of the price data.")
    price_data_date = serializers.DateField(help_text="UTC day of the newest price the volatility rests on.")
    history_days = serializers.IntegerField(help_text="Days of prices the volatility is estimated from.")
    volatility = DecimalTextField(help_text="Annualised volatility of ln(price a / price b), a fraction.")
    volatility_percent = DecimalTextField()
    fee_apr = DecimalTextField()
    reward_apr = DecimalTextField()
    apr = DecimalTextField()
    fee_apr_percent = DecimalTextField()
    reward_apr_percent = DecimalTextField()
    percentiles = SimulationPercentilesOutput()
    p_income_beats_il = DecimalTextField(help_text="Share of paths whose fees and rewards exceed the impermanent "
                                                   "loss (0 to 1).")
    p_income_beats_il_percent = DecimalTextField()
    assumptions = serializers.ListField(child=serializers.CharField(), help_text="In plain words, in the request's "
                                                                               "language.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["in"] = fields.pop("in_")  # `in` is a Python keyword
        return fields


class ProductSimulationApi(APIView):
    """Simulated outcomes of a pool deposit against simply holding: seeded GBM price paths (same figures on reload).

    409 NO_PRICE_HISTORY while the pair has fewer than 31 days of prices; 404 for a product without a pool.
    """

    # Each simulation costs 0.1–0.5 s of CPU: limited per user (identical requests are served from the cache).
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "simulation"

    @extend_schema(parameters=[SimulationQuery], tags=["pools"], operation_id="product_simulation", responses={
        200: SimulationOutput,
        400: OpenApiResponse(description="INVALID_AMOUNT (field `amount`: not 0.01 to below 10^12 USD) or MIN_VALUE / "
                                         "MAX_VALUE / INVALID (field `days`: not 1 to 3650)"),
        404: OpenApiResponse(description="NOT_FOUND: no such product offered to the caller, or one without a pool"),
        409: OpenApiResponse(description="NO_PRICE_HISTORY: fewer than 31 days of prices of the pair"),
        429: OpenApiResponse(description="THROTTLED: THROTTLE_SIMULATION per user (Retry-After)")})
    def get(self, request: AuthenticatedRequest, product_id: int) -> Response:
        query = SimulationQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        pool = _visible_pool(product_id, request.user)
        result = selectors.pool_simulation(pool.product, query.validated_data["amount"],
                                           query.validated_data["days"])
        return Response(selectors.pool_simulation_json(result))


# --- Deposits ----------------------------------------------------------------------------------

class DepositInput(serializers.Serializer):
    product = serializers.IntegerField(min_value=1)
    amount = AmountTextField(help_text="In `asset` (default: the product's asset).")
    asset = serializers.CharField(max_length=16, required=False, allow_null=True, default=None)
    mode = serializers.ChoiceField(choices=DepositMode.choices, default=DepositMode.PAIR,
                                   help_text="pair: both assets in the pool ratio; single: one asset, half swapped.")
    compound_rewards = serializers.BooleanField(default=False)


def _plan_output(pool: Pool, plan: deposits.DepositPlan) -> dict[str, Any]:
    a, b = pool.asset_a, pool.asset_b
    scale_in = a.scale if plan.asset_in == a.code else b.scale
    scale_out = b.scale if plan.asset_in == a.code else a.scale
    return {"mode": plan.mode, "asset": plan.asset_in, "amount_a": _t(plan.amount_a, a.scale),
            "amount_b": _t(plan.amount_b, b.scale), "asset_a": a.code, "asset_b": b.code,
            "swap": None if plan.mode == DepositMode.PAIR else {
                "sell": _t(plan.swap_in, scale_in), "buy": _t(plan.swap_out, scale_out),
                "fee": _t(plan.swap_fee, scale_in), "fee_rate": _t(pool.fee_rate),
                "left_with_you": _t(plan.leftover, scale_in)},
            "shares": _t(plan.shares, pool.share_asset.scale), "value_usd": _t(plan.value_usd, 2)}


class PoolDepositPreviewApi(APIView):
    @extend_schema(request=DepositInput, responses={200: PoolDepositPreviewOutput}, tags=["pools"],
                   operation_id="pool_deposit_preview")
    def post(self, request: AuthenticatedRequest) -> Response:
        data = DepositInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        product = catalogue_product(product_id=v["product"], user=request.user)
        if product is None:
            raise NotFound(_("No such product."), field="product")
        quote = deposits.deposit_quote(user=request.user, product=product, amount=v["amount"], asset=v["asset"],
                                       mode=v["mode"])
        pool, y = quote["pool"], quote["yield"]
        return Response({
            "product": product.pk, **_plan_output(pool, quote["plan"]), "value_date": quote["value_date"],
            "maturity_date": quote["maturity_date"], "share_of_pool": _t(quote["share_of_pool"].quantize(
                Decimal("1e-10"))),
            "fee_apr": _t(y.fee_apr), "reward_apr": _t(y.reward_apr), "apr": _t(y.apr),
            "apy_compounded": _t(y.apy_compounded),
            "est_daily_fees_usd": _t(quote["est_daily_fees_usd"], 2),
            "est_daily_rewards_usd": _t(quote["est_daily_rewards_usd"], 2),
            "il_table": selectors.il_table_json(quote["il_table"]), "blocking": quote["blocking"]})


class DepositOutput(serializers.ModelSerializer):
    amount_a = serializers.SerializerMethodField()
    amount_b = serializers.SerializerMethodField()
    shares = serializers.SerializerMethodField()
    product = serializers.IntegerField(source="position.product_id")
    value_date = serializers.DateField(source="position.value_date")
    maturity_date = serializers.DateField(source="position.maturity_date", allow_null=True)
    swap_fee = ScaledAmountField(scale_from="asset_in.scale", help_text="One-asset deposits: the pool's fee on "
                                                                        "the swapped half, in asset_in.")
    value_usd = ScaledAmountField(scale=USD_SCALE)

    class Meta:
        model = PoolDeposit
        fields = ["id", "position", "product", "mode", "asset_in", "amount_a", "amount_b", "swap_fee", "shares",
                  "value_usd", "value_date", "maturity_date", "created_at"]

    @extend_schema_field(DECIMAL_STRING_SCHEMA)
    def get_amount_a(self, obj: PoolDeposit) -> str:
        return _t(obj.amount_a, obj.position.pool.asset_a.scale)

    @extend_schema_field(DECIMAL_STRING_SCHEMA)
    def get_amount_b(self, obj: PoolDeposit) -> str:
        return _t(obj.amount_b, obj.position.pool.asset_b.scale)

    @extend_schema_field(DECIMAL_STRING_SCHEMA)
    def get_shares(self, obj: PoolDeposit) -> str:
        return _t(obj.shares, obj.position.pool.share_asset.scale)


def render_deposit(deposit: PoolDeposit) -> dict:
    deposit = PoolDeposit.objects.select_related("position__pool__asset_a", "position__pool__asset_b",
                                                 "position__pool__share_asset").get(pk=deposit.pk)
    return dict(DepositOutput(deposit).data)


class PoolDepositCreateApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "money"

    @extend_schema(request=DepositInput, responses={201: DepositOutput}, parameters=[IDEMPOTENCY_HEADER],
                   tags=["pools"], operation_id="pool_deposit_create")
    def post(self, request: AuthenticatedRequest) -> Response:
        data = DepositInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        otp_require_for_request(request)  # 2FA on: money moves need a one-time code
        status, body, replayed = deposits.pool_deposit_submit(
            user=request.user, product_id=v["product"], amount=v["amount"], asset=v["asset"], mode=v["mode"],
            compound_rewards=v["compound_rewards"], idempotency_key=request.headers.get("Idempotency-Key"),
            render=render_deposit)
        response = Response(body, status=status)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


# --- Positions ---------------------------------------------------------------------------------

def position_output(position: PoolPosition, prices: dict[str, Decimal], language: str = "en") -> dict[str, Any]:
    pool = position.pool
    a, b = pool.asset_a, pool.asset_b
    value = selectors.position_value(position, prices)
    reward_scale = pool.reward_asset.scale if pool.reward_asset else DEFAULT_REWARD_SCALE
    return {
        "id": position.pk, "product": position.product_id, "product_name": position.product.name_for(language),
        "pair": [a.code, b.code], "term_type": position.term_type, "status": position.status,
        "shares": _t(position.shares, pool.share_asset.scale),
        "share_of_pool": _t((position.shares / pool.total_shares).quantize(Decimal("1e-10"))
                            if pool.total_shares else Decimal(0)),
        "amount_a": _t(value["amount_a"], a.scale), "amount_b": _t(value["amount_b"], b.scale),
        "value_usd": _t(value["value_usd"], 2), "hold_value_usd": _t(value["hold_value_usd"], 2),
        "vs_hold_usd": _t(value["vs_hold_usd"], 2),
        "deposited_a": _t(position.cost_a, a.scale), "deposited_b": _t(position.cost_b, b.scale),
        "deposited_usd": _t(position.cost_usd, 2),
        "fees_a": _t(getattr(position, "fees_a", None) or Decimal(0), a.scale),
        "fees_b": _t(getattr(position, "fees_b", None) or Decimal(0), b.scale),
        "fees_compounded": pool.fee_mode == "compound",
        "rewards": _t(getattr(position, "rewards", None) or Decimal(0), reward_scale),
        "reward_asset": pool.reward_asset_id, "compound_rewards": position.compound_rewards,
        "value_date": position.value_date, "maturity_date": position.maturity_date,
        "created_at": position.created_at, "closed_at": position.closed_at,
    }


class PoolPositionListApi(ListAPIView):
    """The customer's pool positions: shares, what they would return now, USD value against holding, income."""

    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[PoolPosition]:
        return selectors.pool_positions_for(request_user(self.request))

    @extend_schema(responses={200: PoolPositionOutput(many=True)}, tags=["pools"], operation_id="pool_position_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from pricing.selectors import latest_prices

        page = self.paginate_queryset(self.get_queryset())
        assert page is not None  # pagination_class is set
        prices = latest_prices()
        return self.get_paginated_response([position_output(p, prices, _language(request)) for p in page])


def _language(request: Request) -> str:
    return (getattr(request, "LANGUAGE_CODE", None) or getattr(request.user, "language", "") or "en").lower()


def _own_position(request: AuthenticatedRequest, position_id: int) -> PoolPosition:
    position = selectors.pool_positions_for(request.user).filter(pk=position_id).first()
    if position is None:
        raise NotFound(_("No such position."), field="position")
    return position


class PoolPositionDetailApi(APIView):
    class PatchInput(serializers.Serializer):
        compound_rewards = serializers.BooleanField()

    @extend_schema(responses={200: PoolPositionOutput}, tags=["pools"], operation_id="pool_position_retrieve")
    def get(self, request: AuthenticatedRequest, position_id: int) -> Response:
        from pricing.selectors import latest_prices

        return Response(position_output(_own_position(request, position_id), latest_prices(), _language(request)))

    @extend_schema(request=PatchInput, responses={200: PoolPositionOutput}, tags=["pools"],
                   operation_id="pool_position_update")
    def patch(self, request: AuthenticatedRequest, position_id: int) -> Response:
        from pricing.selectors import latest_prices

        data = self.PatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        _own_position(request, position_id)
        redemptions.pool_position_set_compounding(user=request.user, position_id=position_id,
                                                  compound_rewards=data.validated_data["compound_rewards"])
        return Response(position_output(_own_position(request, position_id), latest_prices(), _language(request)))


_SHARE_SCALE = "position.pool.share_asset.scale"


class PayoutOutput(serializers.ModelSerializer):
    """One day of a pool position, every amount at its asset's scale (USD at 2 places)."""

    shares = ScaledAmountField(scale_from=_SHARE_SCALE)
    fee_a = ScaledAmountField(scale_from="position.pool.asset_a.scale")
    fee_b = ScaledAmountField(scale_from="position.pool.asset_b.scale")
    reward = serializers.SerializerMethodField(help_text="In the pool's reward asset.")
    reward_shares = ScaledAmountField(scale_from=_SHARE_SCALE, help_text="Shares minted by reinvesting the reward.")
    income_usd = ScaledAmountField(scale=USD_SCALE)

    class Meta:
        model = PoolPayout
        fields = ["date", "shares", "fee_a", "fee_b", "fee_compounded", "reward", "reward_shares", "income_usd"]

    @extend_schema_field(DECIMAL_STRING_SCHEMA)
    def get_reward(self, obj: PoolPayout) -> str:
        reward_asset = obj.position.pool.reward_asset
        return _t(obj.reward, reward_asset.scale if reward_asset else DEFAULT_REWARD_SCALE) or "0"


class PoolPositionHistoryApi(ListAPIView):
    """Per day: earning shares, fees (paid or compounded) and rewards (paid, or reinvested as shares)."""

    serializer_class = PayoutOutput
    pagination_class = OldestFirst

    def get_queryset(self) -> QuerySet[PoolPayout]:
        position = PoolPosition.objects.filter(pk=self.kwargs["position_id"], user=request_user(self.request)).first()
        if position is None:
            raise NotFound(_("No such position."), field="position")
        return selectors.position_history(position).select_related(
            "position__pool__asset_a", "position__pool__asset_b", "position__pool__share_asset",
            "position__pool__reward_asset")


class RedeemInput(serializers.Serializer):
    shares = AmountTextField(required=False, allow_null=True, allow_blank=True,
                             help_text="Empty: all the position's shares.")


class WithdrawalOutput(serializers.ModelSerializer):
    shares = ScaledAmountField(scale_from=_SHARE_SCALE)
    amount_a = ScaledAmountField(scale_from="position.pool.asset_a.scale", help_text="Paid out in asset a.")
    amount_b = ScaledAmountField(scale_from="position.pool.asset_b.scale", help_text="Paid out in asset b.")
    withheld_a = ScaledAmountField(scale_from="position.pool.asset_a.scale")
    withheld_b = ScaledAmountField(scale_from="position.pool.asset_b.scale")
    value_usd = ScaledAmountField(scale=USD_SCALE)
    hold_value_usd = ScaledAmountField(scale=USD_SCALE)
    vs_hold_usd = serializers.SerializerMethodField()

    class Meta:
        model = PoolWithdrawal
        fields = ["id", "position", "shares", "amount_a", "amount_b", "withheld_a", "withheld_b", "value_usd",
                  "hold_value_usd", "vs_hold_usd", "early", "maturity", "created_at"]

    @extend_schema_field(DECIMAL_STRING_SCHEMA)
    def get_vs_hold_usd(self, obj: PoolWithdrawal) -> str:
        return _t(obj.value_usd - obj.hold_value_usd, 2)


class PoolRedemptionCreateApi(APIView):
    """Burn shares, get both assets back at the current reserves; the answer shows the result against holding."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "money"

    @extend_schema(request=RedeemInput, responses={201: WithdrawalOutput}, parameters=[IDEMPOTENCY_HEADER],
                   tags=["pools"], operation_id="pool_redemption_create")
    def post(self, request: AuthenticatedRequest, position_id: int) -> Response:
        data = RedeemInput(data=request.data)
        data.is_valid(raise_exception=True)
        _own_position(request, position_id)
        otp_require_for_request(request)  # 2FA on: money moves need a one-time code
        status, body, replayed = redemptions.pool_redeem_submit(
            user=request.user, position_id=position_id, shares=data.validated_data.get("shares") or None,
            idempotency_key=request.headers.get("Idempotency-Key"),
            render=lambda w: dict(WithdrawalOutput(w).data))
        response = Response(body, status=status)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class PoolRedemptionPreviewApi(APIView):
    @extend_schema(request=RedeemInput, responses={200: PoolRedemptionPreviewOutput}, tags=["pools"],
                   operation_id="pool_redemption_preview")
    def post(self, request: AuthenticatedRequest, position_id: int) -> Response:
        data = RedeemInput(data=request.data)
        data.is_valid(raise_exception=True)
        position = _own_position(request, position_id)
        pool = position.pool
        plan = redemptions.withdrawal_plan(position, pool, shares=data.validated_data.get("shares") or None,
                                           today=selectors.business_day())
        a, b = pool.asset_a, pool.asset_b
        vs = None if plan.value_usd is None or plan.hold_value_usd is None else plan.value_usd - plan.hold_value_usd
        return Response({"shares": _t(plan.shares, pool.share_asset.scale), "amount_a": _t(plan.payout_a, a.scale),
                         "amount_b": _t(plan.payout_b, b.scale), "withheld_a": _t(plan.withheld_a, a.scale),
                         "withheld_b": _t(plan.withheld_b, b.scale), "value_usd": _t(plan.value_usd, 2),
                         "hold_value_usd": _t(plan.hold_value_usd, 2), "vs_hold_usd": _t(vs, 2),
                         "early": plan.early})


urlpatterns = [
    path("pools", PoolListApi.as_view(), name="pool-list"),
    path("products/<int:product_id>/pool", ProductPoolApi.as_view(), name="product-pool"),
    path("products/<int:product_id>/pool/il", ProductPoolIlApi.as_view(), name="product-pool-il"),
    path("products/<int:product_id>/pool/il.svg", ProductPoolIlChartApi.as_view(), name="product-pool-il-chart"),
    path("products/<int:product_id>/simulation", ProductSimulationApi.as_view(), name="product-simulation"),
    path("pool-deposits/preview", PoolDepositPreviewApi.as_view(), name="pool-deposit-preview"),
    path("pool-deposits", PoolDepositCreateApi.as_view(), name="pool-deposit-create"),
    path("pool-positions", PoolPositionListApi.as_view(), name="pool-position-list"),
    path("pool-positions/<int:position_id>", PoolPositionDetailApi.as_view(), name="pool-position-detail"),
    path("pool-positions/<int:position_id>/history", PoolPositionHistoryApi.as_view(), name="pool-position-history"),
    path("pool-positions/<int:position_id>/redemptions", PoolRedemptionCreateApi.as_view(),
         name="pool-redemption-create"),
    path("pool-positions/<int:position_id>/redemptions/preview", PoolRedemptionPreviewApi.as_view(),
         name="pool-redemption-preview"),
]


def disclosure_il_table(product: Any, query_params: Any) -> dict[str, Any]:
    """A pool product's disclosure carries its IL table, personalised with `amount_usd` (compliance's hook)."""
    amount_usd = query_params.get("amount_usd")
    try:
        amount = Decimal(amount_usd) if amount_usd else None
    except InvalidOperation as exc:
        raise ValidationFailed(_("amount_usd is a decimal number."), field="amount_usd") from exc
    if amount is not None and (not amount.is_finite() or amount <= 0 or amount >= Decimal(10) ** 15):
        raise ValidationFailed(_("amount_usd is a positive amount."), field="amount_usd")
    return {"il_table": selectors.il_table_json(selectors.il_table(product, amount)) or None}

