"""Pool test helpers: a live liquidity-mining product with its pool, prices, funded customers."""

from __future__ import annotations

import datetime as dt

from ledger.models import Asset
from pools.models import Pool
from pools.services.pools import pool_create
from pricing.services import price_record
from tests.earn.factories import live_product, staff_user
from tests.earn.helpers import acknowledge

# Prices from before any test clock, so they hold wherever a test travels.
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

LM_STATEMENTS = [
    {"key": "impermanent_loss", "en": "Impermanent loss.", "zh-hant": "無常損失。"},
    {"key": "smart_contract", "en": "Smart-contract risk.", "zh-hant": "智能合約風險。"},
]


def pool_product(a: str = "BTC", b: str = "USDT", *, fee_rate: str = "0.003", fee_mode: str = "payout",
                 reward: str | None = "HSK", emission: str = "100", volume_usd: str = "1000000",
                 prices: dict[str, str] | None = None, term_type: str = "demand", **terms: object) -> Pool:
    """A live liquidity_mining product on (a, b) with an empty pool, and USD prices for its assets."""
    for code in (a, b, reward):
        if code:
            Asset.objects.get_or_create(code=code, defaults={"name": code, "scale": 8})
    product = live_product(a, term_type, strategy="liquidity_mining", statements=LM_STATEMENTS,
                           venue="Uniswap v2", chain="Ethereum", contract_address="0xpool", risk_rating=2, **terms)
    for code, price in (prices or {"BTC": "60000", "USDT": "1", "ETH": "3000", "HSK": "0.5"}).items():
        Asset.objects.get_or_create(code=code, defaults={"name": code, "scale": 8})
        price_record(asset_code=code, price_usd=price, source="test", as_of=LONG_AGO)
    return pool_create(actor=staff_user("curator"), product=product, asset_a=a, asset_b=b, fee_rate=fee_rate,
                       fee_mode=fee_mode, reward_asset=reward, daily_emission=emission if reward else "0",
                       daily_volume_usd=volume_usd)


def ready_customer(user_factory, fund, pool: Pool, **balances: str):
    """An HK customer who acknowledged the product's disclosure and holds the given balances."""
    user = user_factory(country="HK")
    acknowledge(user, pool.product)
    for code, amount in balances.items():
        fund(user, code, amount)
    return user
