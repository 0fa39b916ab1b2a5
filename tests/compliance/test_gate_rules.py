"""The compliance gate as a rule table: country × profile × product risk (× amount) → reason codes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from compliance.gate import blocking_codes
from compliance.models import CustomerProfile, JurisdictionRule
from compliance.services.assessments import assessment_submit
from compliance.services.customers import earn_first_view_record, risk_profile_record
from tests.compliance.conftest import PRICED_FROM, answers
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
NW = "10000"  # declared net worth, USD: limits 1 000 / 3 000 / 5 000 for conservative / moderate / high

# (country, profile, assessment, first view, product risk, amount USDT) -> codes
TABLE = [
    ("US", "pi", None, None, 1, "100", ["JURISDICTION_RESTRICTED"]),
    ("SG", None, None, None, 5, "100", []),  # no rule row: only acknowledgement and the restricted list
    ("HK", "pi", None, None, 5, "1000000", []),  # professional investor: exempt in HK
    ("HK", "high", None, None, 3, "100", ["ASSESSMENT_REQUIRED"]),
    ("HK", "high", "pass", None, 5, "100", []),
    ("HK", "high", "fail", None, 3, "100", ["ASSESSMENT_FAILED"]),
    ("HK", "high", None, None, 2, "100", []),  # below HK's assessment level (3)
    ("HK", None, None, None, 2, "100", ["EXPOSURE_LIMIT"]),  # no profile: fail closed
    ("HK", "conservative", None, None, 2, "1000", []),
    ("HK", "conservative", None, None, 2, "1000.00000001", ["EXPOSURE_LIMIT"]),
    ("HK", "moderate", None, None, 2, "3000", []),
    ("HK", "moderate", None, None, 2, "3001", ["EXPOSURE_LIMIT"]),
    ("HK", "high", None, None, 2, "5000", []),
    ("HK", "high", None, None, 4, "5001", ["ASSESSMENT_REQUIRED", "EXPOSURE_LIMIT"]),
    ("GB", None, None, None, 1, "100", ["ASSESSMENT_REQUIRED", "COOLING_OFF"]),
    ("GB", None, "pass", None, 1, "100", ["COOLING_OFF"]),
    ("GB", None, "pass", "25h", 1, "100", []),
    ("GB", None, "fail", "25h", 5, "100", ["ASSESSMENT_FAILED"]),
    ("GB", "pi", None, "25h", 1, "100", ["ASSESSMENT_REQUIRED"]),  # GB exempts nobody
    ("GB", None, None, "25h", 1, "100000000", ["ASSESSMENT_REQUIRED"]),  # no exposure limit in GB
]


@pytest.mark.parametrize(("country", "profile", "assessment", "viewed", "risk", "amount", "codes"), TABLE)
def test_rule_table(prices, country, profile, assessment, viewed, risk, amount, codes):
    product = live_product("USDT", "demand", risk_rating=risk)
    user = UserFactory(country=country, professional_investor=False)
    if profile is not None:
        risk_profile_record(actor=None, user=user, risk_profile="high" if profile == "pi" else profile,
                            net_worth_usd=NW, professional_investor=profile == "pi")
    with time_machine.travel(T0 - dt.timedelta(hours=25), tick=False):
        if viewed:
            earn_first_view_record(user)
        if assessment:
            assessment_submit(user=user, product_kind="demand",
                              answers=answers(country, "demand", wrong=0 if assessment == "pass" else 3))
    acknowledge(user, product)
    with time_machine.travel(T0, tick=False):
        assert blocking_codes(user, product, amount=Decimal(amount)) == codes


def test_exposure_counts_existing_earn_holdings_at_latest_prices(prices, fund):
    """1 000 USD limit: 0.01 BTC (900 USD) already in Earn leaves room for 100 USDT, not 100.00000001."""
    from pricing.services import price_record

    user = UserFactory(country="HK", professional_investor=False)
    risk_profile_record(actor=None, user=user, risk_profile="conservative", net_worth_usd=NW)
    btc = live_product("BTC", "demand")
    usdt = live_product("USDT", "demand")
    for product in (btc, usdt):
        acknowledge(user, product)
    fund(user, "BTC", "1")
    from earn.services.subscriptions import subscription_create

    subscription_create(user=user, product_id=btc.pk, amount="0.01")
    assert blocking_codes(user, usdt, amount=Decimal("100")) == []
    assert blocking_codes(user, usdt, amount=Decimal("100.00000001")) == ["EXPOSURE_LIMIT"]
    price_record(asset_code="BTC", price_usd="80000", source="test", as_of=PRICED_FROM + dt.timedelta(days=1))
    assert blocking_codes(user, usdt, amount=Decimal("200")) == []


def test_exposure_without_a_price_fails_closed(assets):
    user = UserFactory(country="HK", professional_investor=False)
    risk_profile_record(actor=None, user=user, risk_profile="high", net_worth_usd="1000000")
    product = live_product("USDT", "demand")
    acknowledge(user, product)
    assert blocking_codes(user, product, amount=Decimal("1")) == ["EXPOSURE_LIMIT"]


def test_rules_are_data_an_officer_can_change(prices):
    """Raising HK's assessment level to 4 frees a risk-3 product; switching it off frees everything."""
    user = UserFactory(country="HK", professional_investor=False)
    risk_profile_record(actor=None, user=user, risk_profile="high", net_worth_usd=NW)
    product = live_product("USDT", "demand", risk_rating=3)
    acknowledge(user, product)
    assert blocking_codes(user, product) == ["ASSESSMENT_REQUIRED"]
    JurisdictionRule.objects.filter(country="HK").update(assessment_min_risk=4)
    assert blocking_codes(user, product) == []
    JurisdictionRule.objects.filter(country="HK").update(assessment_min_risk=None)
    assert blocking_codes(user, product) == []


def test_assessment_is_per_product_kind(prices):
    """Passing the flexible-savings assessment does not cover liquidity mining or lock-ups."""
    user = UserFactory(country="HK", professional_investor=False)
    risk_profile_record(actor=None, user=user, risk_profile="high", net_worth_usd=NW)
    flexible = live_product("USDT", "demand", risk_rating=3)
    fixed = live_product("USDT", "fixed", risk_rating=3)
    for product in (flexible, fixed):
        acknowledge(user, product)
    assessment_submit(user=user, product_kind="demand", answers=answers("HK", "demand"))
    assert blocking_codes(user, flexible) == []
    assert blocking_codes(user, fixed) == ["ASSESSMENT_REQUIRED"]


def test_first_view_is_recorded_once(gb_customer):
    with time_machine.travel(T0, tick=False):
        first = earn_first_view_record(gb_customer).earn_first_viewed_at
    with time_machine.travel(T0 + dt.timedelta(hours=5), tick=False):
        earn_first_view_record(gb_customer)
    assert CustomerProfile.objects.get(user=gb_customer).earn_first_viewed_at == first == T0


def test_a_customer_declaration_keeps_the_professional_flag_staff_set(db):
    user = UserFactory(country="HK", professional_investor=False)
    risk_profile_record(actor=None, user=user, risk_profile="high", net_worth_usd="1", professional_investor=True)
    risk_profile_record(actor=user, user=user, risk_profile="moderate", net_worth_usd="500000")
    profile = CustomerProfile.objects.get(user=user)
    assert (profile.risk_profile, profile.net_worth_usd, profile.professional_investor) == ("moderate", 500000, True)


def test_status_of_many_products_costs_a_fixed_number_of_queries(prices):
    """One product or four of four assets: the same queries (holdings and prices are read once)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from compliance.gate import blocking_codes_many

    user = UserFactory(country="HK", professional_investor=False)
    risk_profile_record(actor=None, user=user, risk_profile="high", net_worth_usd=NW)
    products = [live_product(asset, "demand") for asset in ("USDT", "BTC", "ETH", "USDC")]
    counts = []
    for some in (products[:1], products):
        with CaptureQueriesContext(connection) as queries:
            codes = blocking_codes_many(user, some)
        assert codes == {p.pk: ["NO_ACK"] for p in some}
        counts.append(len(queries))
    # A single product (the subscription path) reads its disclosure and acknowledgement with the customer's
    # facts, so it may cost less; more products never cost more than four.
    assert counts[0] <= counts[1] <= 9
