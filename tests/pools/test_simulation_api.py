"""The outcome simulator over the database: the pair's daily closes, the IL table reproduced at zero volatility,
GET /api/v1/products/{id}/simulation (same figures on reload, hostile input → JSON 4xx, 404 without a pool, 409
without enough price history)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
from decimal import Decimal

import pytest
import time_machine
from rest_framework.test import APIClient

from pools import amm, simulation
from pools.selectors import il_table, pair_daily_prices, pool_simulation, simulated_decimal
from pricing.services import price_record
from tests.earn.factories import live_product
from tests.factories import UserFactory
from tests.pools.factories import pool_product

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)
# Daily log returns of BTC in USD, repeated: a known series (USDT stays at 1).
RETURNS = [0.02, -0.015, 0.01, -0.03, 0.025, 0.0, -0.01, 0.015]


def btc_history(days: int, returns: list[float] | None = None, *, start: str = "60000",
                end: dt.datetime = NOW) -> list[Decimal]:
    """`days` daily BTC closes up to `end` (each at 18:00 UTC, plus an earlier one that day that must not count)."""
    returns = RETURNS if returns is None else returns
    price = Decimal(start)
    closes = []
    for n in range(days, 0, -1):
        day = (end - dt.timedelta(days=n)).replace(hour=18, minute=0, second=0, microsecond=0)
        price_record(asset_code="BTC", price_usd=price * 2, source="test", as_of=day - dt.timedelta(hours=6))
        price_record(asset_code="BTC", price_usd=price, source="test", as_of=day)
        closes.append(price)
        price = (price * Decimal(repr(math.exp(returns[n % len(returns)])))).quantize(Decimal("0.01"))
    return closes


def client_for(user=None) -> APIClient:
    client = APIClient()
    client.force_authenticate(user or UserFactory(country="HK"))
    return client


@pytest.fixture
def pool(db):
    return pool_product()


@pytest.fixture
def history(pool):
    return btc_history(90)


def url(pool, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/products/{pool.product_id}/simulation" + (f"?{query}" if query else "")


def test_pair_history_takes_each_days_newest_price_and_carries_usdt_forward(pool, history):
    with time_machine.travel(NOW, tick=False):
        got = pair_daily_prices(pool)
    assert got.last_date == dt.date(2026, 6, 29) and got.observed_days == 90
    assert got.prices == history  # USDT's one price (2020) carried forward: BTC/USDT = BTC in USD
    expected = math.sqrt(365) * statistics.stdev(math.log(b / a) for a, b in itertools.pairwise(history))
    assert simulation.annualised_volatility(got.prices) == pytest.approx(expected, rel=1e-12)
    assert simulation.annualised_volatility(got.prices) == pytest.approx(
        math.sqrt(365) * statistics.stdev(RETURNS), rel=0.1)  # about the returns the series was built from


def test_the_api_answers_percentiles_assumptions_and_the_same_figures_on_reload(pool, history):
    client = client_for()
    with time_machine.travel(NOW, tick=False):
        first = client.get(url(pool, amount="2000", days="180"))
        again = client.get(url(pool, amount="2000.00", days="180"))
        other = client.get(url(pool, amount="2000", days="181"))
    body = first.json()
    assert first.status_code == 200, body
    assert again.json() == body and other.json()["seed"] != body["seed"]
    assert (body["pair"], body["price_of"], body["in"], body["amount_usd"], body["days"]) == (
        "BTC/USDT", "BTC", "USDT", "2000", 180)
    assert body["paths"] == 10_000 and body["steps"] == 180 and body["price_data_date"] == "2026-06-29"
    assert Decimal(body["volatility"]) > Decimal("0.2")
    for name, band in body["percentiles"].items():
        assert Decimal(band["p5"]) <= Decimal(band["p50"]) <= Decimal(band["p95"]), name
    assert Decimal(body["percentiles"]["il"]["p95"]) <= 0
    assert 0 <= Decimal(body["p_income_beats_il"]) <= 1
    assert len(body["assumptions"]) >= 5 and "No trend is assumed" in " ".join(body["assumptions"])
    zh = client.get(url(pool, amount="2000", days="180"), HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert zh.status_code == 200 and "波動" in " ".join(zh.json()["assumptions"])


def test_a_repeated_request_is_answered_from_the_cache(pool, history, monkeypatch):
    """Identical inputs give identical paths, so the second request runs no simulation (it costs 0.1–0.5 s)."""
    from pools import simulation

    calls = []
    real = simulation.simulate
    monkeypatch.setattr(simulation, "simulate", lambda **kw: calls.append(kw) or real(**kw))
    client = client_for()
    with time_machine.travel(NOW, tick=False):
        first = client.get(url(pool, amount="1234.5", days="77"))
        again = client.get(url(pool, amount="1234.50", days="77"))
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert len(calls) <= 1  # none when an earlier run of this test left it in the shared cache


def test_the_history_with_one_day_more_changes_the_seed(pool, history):
    client = client_for()
    with time_machine.travel(NOW, tick=False):
        before = client.get(url(pool)).json()
        price_record(asset_code="BTC", price_usd="61000", source="test", as_of=NOW - dt.timedelta(hours=1))
        after = client.get(url(pool)).json()
    assert before["price_data_date"] == "2026-06-29" and after["price_data_date"] == "2026-06-30"
    assert before["seed"] != after["seed"]


def test_zero_volatility_reproduces_todays_il_table_exactly(pool):
    """The table's rows (IL as a fraction and in percent) are the simulation's at σ = 0 with every path ending at
    the row's ratio; at today's price (a flat history, no drift) it loses nothing and earns the APR."""
    for amount in (Decimal(1000), Decimal("12345.67")):
        table = il_table(pool.product, amount)
        for row in table["rows"]:
            r = row["ratio"]
            out = simulation.simulate(amount=float(amount), days=365, volatility=0.0, seed=1,
                                      fee_apr=float(table["fee_apr"]), reward_apr=float(table["reward_apr"]),
                                      drift=math.log(float(r)))
            for value in (out.il.p5, out.il.p50, out.il.p95):
                il = simulated_decimal(value, 10)
                assert il == row["il"] and (il * 100).quantize(Decimal("0.0001")) == row["il_percent"], r
            hold = amount * (1 + r) / 2
            assert simulated_decimal(out.il_value.p50, 2) == (-amm.impermanent_loss(r) * hold).quantize(
                Decimal("0.01")), r
    btc_history(40, [0.0])  # a flat price: σ = 0
    with time_machine.travel(NOW, tick=False):
        result = pool_simulation(pool.product, Decimal(1000), 365)
    p = result["percentiles"]
    assert result["volatility"] == 0
    assert p["il"] == {"p5": 0, "p50": 0, "p95": 0} and p["il_usd"]["p50"] == 0
    assert p["end_ratio"]["p50"] == 1
    expected = (Decimal(1000) * result["apr"]).quantize(Decimal("0.01"))  # a year of the APR, paid out
    assert abs(p["income_usd"]["p50"] - expected) <= Decimal("0.01")
    assert result["p_income_beats_il"] == 1


@pytest.mark.parametrize(("params", "field"), [
    ({"amount": "-5"}, "amount"), ({"amount": "0"}, "amount"), ({"amount": "abc"}, "amount"),
    ({"amount": "1e40"}, "amount"), ({"amount": "NaN"}, "amount"), ({"amount": "Infinity"}, "amount"),
    ({"amount": "1%00"}, "amount"), ({"amount": "9" * 50}, "amount"), ({"amount": "1000000000000"}, "amount"),
    ({"amount": "0.009"}, "amount"), ({"amount": "1e-400"}, "amount"), ({"amount": "1e999999999"}, "amount"),
    ({"days": "0"}, "days"), ({"days": "3651"}, "days"), ({"days": "-1"}, "days"), ({"days": "abc"}, "days"),
    ({"days": "1.5"}, "days"), ({"days": "%00"}, "days"), ({"days": "9" * 40}, "days"),
])
def test_bad_input_is_a_json_400(pool, history, params, field):
    with time_machine.travel(NOW, tick=False):
        response = client_for().get(url(pool, **params))
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["field"] == field and body["detail"]
    assert body["code"] in ({"INVALID_AMOUNT", "MAX_LENGTH", "NUL_CHARACTER"} if field == "amount" else
                            {"MIN_VALUE", "MAX_VALUE", "INVALID", "MAX_STRING_LENGTH", "NUL_CHARACTER"})


def test_the_edges_of_the_period_are_accepted(pool, history):
    client = client_for()
    with time_machine.travel(NOW, tick=False):
        assert client.get(url(pool, days="1", amount="0.01")).status_code == 200
        long = client.get(url(pool, days="3650", amount="999999999999"))
    assert long.status_code == 200 and long.json()["steps"] == 365 and long.json()["step_days"] == 10


def test_products_without_a_pool_and_unknown_products_are_404(pool, history, assets):
    plain = live_product("USDT", "demand")
    client = client_for()
    for product_id in (plain.pk, 999_999):
        response = client.get(f"/api/v1/products/{product_id}/simulation")
        assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


def test_signed_out_is_refused(pool, history):
    assert APIClient().get(url(pool)).status_code in (401, 403)


def test_too_little_price_history_is_a_clear_409(pool):
    btc_history(20)
    with time_machine.travel(NOW, tick=False):
        response = client_for().get(url(pool))
    body = response.json()
    assert response.status_code == 409 and body["code"] == "NO_PRICE_HISTORY"
    assert "20 days of prices, 31 needed" in body["detail"]


def test_a_pool_with_only_old_prices_is_a_clear_409(db):
    pool = pool_product("ETH", "USDC")  # one price each, from 2020: nothing to estimate a volatility from
    response = client_for().get(url(pool))
    assert response.status_code == 409 and response.json()["code"] == "NO_PRICE_HISTORY"


def test_query_count_is_bounded(pool, history, django_assert_max_num_queries):
    client = client_for()
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(9):
        assert client.get(url(pool)).status_code == 200


def test_the_schema_documents_the_endpoint(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/products/{product_id}/simulation"]["get"]
    assert operation["operationId"] == "product_simulation"
    assert {p["name"] for p in operation["parameters"]} >= {"amount", "days", "product_id"}
    assert "SimulationOutput" in str(operation["responses"]["200"])


def test_the_demo_seeds_a_price_history_the_simulator_can_use_once(settings):
    import io

    from django.core.management import call_command

    from earn.models import Product
    from pricing.models import PriceSnapshot

    call_command("seed_demo", stdout=io.StringIO())
    product = Product.objects.get(name_en="BTC/USDT Liquidity Mining")
    count = PriceSnapshot.objects.count()
    result = pool_simulation(product, Decimal(1000), 365)
    assert result["history_days"] == 181 and Decimal("0.3") < result["volatility"] < Decimal("0.6")
    assert result["price_data_date"] == dt.datetime.now(dt.UTC).date()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "price history: present" in out.getvalue() and PriceSnapshot.objects.count() == count
    assert latest_price_of("BTC") == Decimal("90000")  # the history lies before today's price


def latest_price_of(code: str) -> Decimal | None:
    from pricing.selectors import latest_price

    return latest_price(code)
