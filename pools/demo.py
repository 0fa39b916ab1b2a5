"""Demo pool for `seed_demo`: a live BTC/USDT liquidity-mining product paying HSK rewards, with its pool and an
approved bilingual disclosure that carries the impermanent-loss table. The pool starts empty: the first
customer's deposit sets its ratio at the market price (assessments and acknowledgements are the customer's journey).

Everything goes through the services (curator drafts, approver approves, operations launches). Idempotent:
an existing product of the same English name is left alone.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from compliance.services.disclosures import disclosure_approve, disclosure_draft
from earn.models import Product
from earn.services import product_lifecycle as products_services
from pools import amm, simulation
from pools.selectors import il_rows_text, il_table
from pools.services.pools import pool_create
from pricing.selectors import daily_closes, latest_price
from pricing.services import price_record

NAME_EN = "BTC/USDT Liquidity Mining"
NAME_ZH = "BTC/USDT 流動性挖礦"
REWARD = ("HSK", "HashKey Platform Token", 8)
VETTING = {
    "venue": "Uniswap v2 (vetted pool)", "chain": "Ethereum",
    "contract_address": "0x0d4a11d5eeaac28ec3f61d100daf4d40471f1852",
    "audit_reports": [{"url": "https://audits.earn.example/uniswap-v2-core.pdf", "date": "2026-06-30",
                       "auditor": "Independent smart-contract audit"}],
    "tvl_usd": Decimal("180000000"),
    "il_alert_threshold": Decimal("0.05"),
    "yield_source": "Traders pay a 0.3 % fee on every swap in the pool; the fees are shared by liquidity "
                    "providers in proportion to their pool shares. The protocol also emits HSK governance tokens "
                    "to the pool's liquidity providers every day.",
    "risk_rationale": "Impermanent loss when BTC moves against USDT, smart-contract risk of the pool, and "
                      "reward-token price risk. Rated 4 of 5.",
    "yield_source_zh_hant": "交易者每次在池中兌換均支付 0.3% 手續費，手續費按流動性提供者的池份額比例分配。"
                            "協議亦每日向池中的流動性提供者發放 HSK 治理代幣。",
    "risk_rationale_zh_hant": "比特幣相對 USDT 價格變動時的無常損失、流動性池的智能合約風險，"
                              "以及獎勵代幣的價格風險。評級為 5 級中的第 4 級。",
}

BODY_EN = (
    "BTC/USDT Liquidity Mining puts your BTC and USDT into a vetted constant-product pool on {venue}. You deposit "
    "both assets in the pool's current ratio (or one of them, half of which is swapped at the pool price for a "
    "{fee} % fee) and receive pool shares. Trading fees of {fee} % on every swap are paid out to you daily in "
    "BTC and USDT by your share of the pool, and HSK reward tokens are paid daily too; you can choose to reinvest "
    "the rewards into the pool. You may redeem at any time: your shares are burnt and you receive BTC and USDT at "
    "the pool's reserves at that moment — not the amounts you deposited.\n\n"
    "Impermanent loss. When the price of BTC against USDT moves away from the price at your deposit, arbitrage "
    "re-balances the pool and your share is worth less than simply holding the two assets. The loss, "
    "IL(r) = 2√r / (1 + r) − 1 for a price ratio r, on a deposit worth 1 000 USD, and the days of the current fee "
    "and reward yield that would earn it back:\n{table}\n"
    "The loss is the same whichever way the price moves (r and 1/r) and becomes permanent when you redeem. Fees and "
    "rewards vary with trading volume and the HSK price and are not guaranteed."
)
BODY_ZH = (
    "BTC/USDT 流動性挖礦會將您的 BTC 及 USDT 存入 {venue} 上一個經審核的"
    "恆定乘積流動性池。您須按池內當前比例存入兩種資產（或只存入其中一種，其中一半會按池價兌換，手續費"
    "為 {fee}%），並獲得池份額。每筆交易 {fee}% 的手續費會按您的池份額每日以 BTC "
    "及 USDT 派發予您，HSK 獎勵代幣亦每日派發；您可選擇把獎勵再投資於流動性池。您可隨時贖回"
    "：您的份額會被銷毀，並按當時池內儲備取回 BTC 及 USDT，而非您存入的數量。\n\n無常損失。"
    "當 BTC 兌 USDT 的價格偏離您存入時的價格，套利交易會重新平衡流動性池，您的份額價值會低"
    "於單純持有兩種資產。價格比率為 r 時的損失為 IL(r) = 2√r / (1 + r) − "
    "1；以價值 1 000 美元的存款計算，以及按現時手續費及獎勵收益需多少日才能彌補：\n{tabl"
    "e}\n價格無論向哪一方向變動（r 與 1/r），損失相同，並會在贖回時成為永久損失。手續費及獎勵"
    "隨交易量及 HSK 價格變動，並無保證。"
)
STATEMENTS = [
    {"key": "reward_token_price", "en": "Rewards are paid in HSK, whose price can fall sharply; the reward APR shown "
                                        "is valued at today's HSK price.",
     "zh-hant": "獎勵以 HSK 派發，其價格可能大幅下跌；所示的獎勵年化收益率按今日 HSK 價格計算。"},
]

# The liquidity-mining sections (compliance.disclosure_templates) in both languages.
SECTIONS = {
    "venue": {"en": "Uniswap v2 on Ethereum, pool contract 0x0d4a11d5eeaac28ec3f61d100daf4d40471f1852, vetted "
                    "by the exchange; the exchange deposits and withdraws on your behalf.",
              "zh-hant": "以太坊上的 Uniswap v2，池合約地址 0x0d4a11d5eeaac28ec3f61d100daf4d40471f1852，"
                         "經交易所審核；交易所代您存入及提取。"},
    "pair": {"en": "BTC and USDT, held in the pool in equal value; a deposit of one asset is half swapped at the "
                   "pool price.",
             "zh-hant": "BTC 及 USDT，以等值存放於池中；只存入一種資產時，其中一半會按池價兌換。"},
    "fee_tier": {"en": "0.3 % of every swap, shared by liquidity providers by pool share and paid to you daily in "
                       "BTC and USDT.",
                 "zh-hant": "每筆兌換的 0.3%，按池份額分配予流動性提供者，並每日以 BTC 及 USDT 派發予您。"},
    "reward_token": {"en": "HSK (HashKey Platform Token), emitted daily to the pool; its price can fall sharply, "
                           "and the reward APR shown is valued at today's price.",
                     "zh-hant": "HSK（HashKey 平台代幣），每日向池發放；其價格可能大幅下跌，所示獎勵年化收益率按"
                                "今日價格計算。"},
    "impermanent_loss": {"en": "If BTC doubles or halves against USDT, your share is worth about 5.7 % less than "
                               "holding both assets; the table above shows other moves. The loss is realised when "
                               "you redeem.",
                         "zh-hant": "若 BTC 兌 USDT 上升一倍或下跌一半，您的份額價值較單純持有兩種資產低約 5.7%；"
                                    "上表列出其他變動。損失於贖回時實現。"},
    "smart_contract_audit": {"en": "The pool's core contracts were audited by an independent firm (report of 30 "
                                   "June 2026, no open critical findings). An audit does not remove the risk of an "
                                   "exploit, which could lose the pooled assets.",
                             "zh-hant": "池的核心合約已由獨立機構審計（2026 年 6 月 30 日報告，沒有未解決的嚴重問題）。"
                                        "審計不能消除合約被攻擊的風險，池中資產可能因此損失。"},
}


PRICE_HISTORY_DAYS = 180
PRICE_HISTORY_MAX_BPS = 400  # daily steps uniform in ±4 %: about 44 % volatility a year, BTC-like


def seed_price_history(out: Callable[[str], None]) -> None:
    """Six months of daily BTC closes before today — a seeded walk in whole basis points (Decimals, no float)
    ending at today's price — and USDT's peg from the start, so the outcome simulator has a history on day one.
    Skipped when BTC already has enough daily prices."""
    now = timezone.now()
    today = now.astimezone(dt.UTC).date()
    start = dt.datetime.combine(today - dt.timedelta(days=PRICE_HISTORY_DAYS + 1), dt.time.min, tzinfo=dt.UTC)
    if len(daily_closes(["BTC"], since=start, at=now)) > simulation.MIN_RETURNS:
        out("price history: present")
        return
    price = latest_price("BTC")
    if price is None:
        out("price history: skipped, no BTC price")
        return
    rng = random.Random("demo-price-history")
    with transaction.atomic():
        price_record(asset_code="USDT", price_usd="1", source="demo-history", as_of=start)
        for back in range(1, PRICE_HISTORY_DAYS + 1):
            step = Decimal(rng.randint(-PRICE_HISTORY_MAX_BPS, PRICE_HISTORY_MAX_BPS)) / 10000
            price = (price / (1 + step)).quantize(Decimal("0.01"))  # walking back from today's price
            moment = dt.datetime.combine(today - dt.timedelta(days=back), dt.time(12), tzinfo=dt.UTC)
            price_record(asset_code="BTC", price_usd=price, source="demo-history", as_of=moment)
    out(f"price history: {PRICE_HISTORY_DAYS} daily BTC prices recorded")


def seed_pools(out: Callable[[str], None]) -> None:
    """Create the demo pool product if it is missing (needs the demo staff users, assets and prices), and the
    price history its outcome simulator reads."""
    from ledger.models import Asset

    seed_price_history(out)
    Asset.objects.get_or_create(code=REWARD[0], defaults={"name": REWARD[1], "scale": REWARD[2]})
    if Product.objects.filter(name_en=NAME_EN).exists():
        out(f"pool {NAME_EN}: exists")
        return
    users = {u.email: u for u in User.objects.filter(email__in=["curator@earn.example", "approver@earn.example",
                                                               "ops@earn.example"])}
    if len(users) < 3:
        out("pools: skipped, missing staff users")
        return
    curator, approver, ops = (users["curator@earn.example"], users["approver@earn.example"],
                              users["ops@earn.example"])
    product = products_services.product_create(
        actor=curator, name_en=NAME_EN, name_zh_hant=NAME_ZH, asset="BTC", term_type="demand",
        strategy="liquidity_mining", risk_rating=4, **VETTING,
        terms={"effective_from": timezone.now().date(), "min_amount": "0.001", "max_amount": "50",
               "redemption_modes": ["fast"]},
        tiers=[("0", None, "0")])
    pool_create(actor=curator, product=product, asset_a="BTC", asset_b="USDT", fee_rate="0.003",
                fee_mode="payout", reward_asset=REWARD[0], daily_emission="100000", daily_volume_usd="20000000")
    table = il_rows_text(il_table(product, Decimal(1000)))
    fee = "0.3"
    disclosure = disclosure_draft(actor=curator, product=product,
                                  body_en=BODY_EN.format(venue="Uniswap v2", fee=fee, table=table),
                                  body_zh_hant=BODY_ZH.format(venue="Uniswap v2", fee=fee, table=table),
                                  risk_statements=STATEMENTS, sections=SECTIONS)
    disclosure_approve(actor=approver, disclosure=disclosure)
    products_services.product_submit(actor=curator, product=product)
    products_services.product_approve(actor=approver, product=product,
                                      notes="Pool, contract and audits checked; IL table in the disclosure.")
    products_services.product_go_live(actor=ops, product=product)
    out(f"pool {NAME_EN}: created (live), IL at ×2 {amm.impermanent_loss(Decimal(2)) * 100:.4f} %")

