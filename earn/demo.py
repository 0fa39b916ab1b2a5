"""Demo products for `seed_demo`: live, in-review and paused products with approved bilingual disclosures.

Everything goes through the curation services, so the demo's audit trail shows the real workflow:
drafted by curator@earn.example, approved by approver@earn.example, launched by ops@earn.example.
Idempotent: a product whose English name exists is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import User
from compliance.services.disclosures import disclosure_approve, disclosure_draft
from earn.models import Product, ProductStatus
from earn.services import product_lifecycle as services

CURATOR = "curator@earn.example"
APPROVER = "approver@earn.example"
OPERATIONS = "ops@earn.example"

DESK_VETTING = {
    "venue": "Exchange institutional lending desk",
    "chain": "",
    "contract_address": "",
    "yield_source": "Customer assets are lent to vetted institutional borrowers against over-collateralised "
                    "margin (at least 120 %, liquidated automatically at 105 %). Interest paid by borrowers funds "
                    "the yield; the exchange keeps a spread.",
    "risk_rationale": "Short-dated, over-collateralised loans with daily margin calls and per-borrower limits. "
                      "Residual risk: borrower default in a fast market, and the exchange's own solvency.",
    "yield_source_zh_hant": "客戶資產借予經審核的機構借款人，借款人須提供超額抵押（最少 120%，跌至 105% 時自動平倉）。"
                            "借款人支付的利息構成收益，交易所保留息差。",
    "risk_rationale_zh_hant": "短期、超額抵押的貸款，每日追收保證金並設有每名借款人上限。剩餘風險：市況急變時借款人"
                              "違約，以及交易所本身的償付能力。",
    "audit_reports": [{"url": "https://proof-of-reserves.earn.example/2026-q3.pdf", "date": "2026-10-15",
                       "auditor": "Independent proof-of-reserves attestation"}],
}


@dataclass(frozen=True)
class DemoProduct:
    name_en: str
    name_zh_hant: str
    asset: str
    term_type: str
    tiers: list[tuple[str, str | None, str]]
    terms: dict[str, Any]
    risk_rating: int
    body_en: str
    body_zh_hant: str
    status: str = ProductStatus.LIVE
    statements: list[dict[str, str]] = field(default_factory=list)


FLEXIBLE_EN = ("{asset} Flexible Savings lends your {asset} to vetted institutional borrowers. Interest accrues "
               "every day from the day after you subscribe and is paid into your Earn balance daily. You may redeem "
               "at any time: fast redemptions return your {asset} immediately, standard ones settle the next day. "
               "The rate is tiered: each band of your balance earns its own APR, and rates can change daily.")
FLEXIBLE_ZH = ("{asset} 活期理財會將您的 {asset} 借予經審核的機構借款人。利息由認購翌日起每日累計，並每日派發至您的"
               "賺幣帳戶。您可隨時贖回：快速贖回即時退回您的 {asset}，標準贖回則於翌日結算。利率按級距計算：您的"
               "結餘中每一級距各自按其年化利率計息，而利率可每日調整。")
FIXED_EN = ("{asset} Fixed {days}-Day locks your {asset} for {days} days from the day after you subscribe. Interest "
            "at the APR fixed when you subscribe is {payout}. At maturity your principal returns to your available "
            "balance{renew}. {early}")
FIXED_ZH = ("{asset} 定期 {days} 日會由認購翌日起鎖定您的 {asset} {days} 日。利息按認購時鎖定的年化利率計算，"
            "{payout_zh}。到期時本金將退回您的可用餘額{renew_zh}。{early_zh}")
EARLY = {
    "not_allowed": ("Early redemption is not available.", "本產品不設提前贖回。"),
    "forfeit_interest": ("If you redeem early, interest already paid is deducted from the principal returned.",
                         "如提前贖回，已派發的利息將從退回的本金中扣除。"),
    "penalty_rate": ("If you redeem early, the days elapsed are re-priced at the penalty APR of {penalty} and the "
                     "difference is deducted from the principal returned.",
                     "如提前贖回，已過的日數將按 {penalty} 的罰息年化利率重新計算，差額將從退回的本金中扣除。"),
}
PAYOUT = {"daily": ("paid daily", "每日派發"), "at_maturity": ("paid with the principal at maturity",
                                                               "於到期時連同本金一併派發")}


def _fixed(asset: str, days: int, payout: str, early: str, penalty: str = "", renew: bool = True) -> tuple[str, str]:
    pct = f"{(Decimal(penalty) * 100).normalize():f} %" if penalty else ""
    en = FIXED_EN.format(asset=asset, days=days, payout=PAYOUT[payout][0], early=EARLY[early][0].format(penalty=pct),
                         renew=", or renews at the rate then on offer if you turned auto-renew on" if renew else "")
    zh = FIXED_ZH.format(asset=asset, days=days, payout_zh=PAYOUT[payout][1],
                         early_zh=EARLY[early][1].format(penalty=pct),
                         renew_zh="；如您已開啟自動續期，則按當時提供的利率續期" if renew else "")
    return en, zh


COUNTERPARTY = {"key": "borrower_default",
                "en": "Borrowers can default. Collateral may not cover the loan in a sudden market crash, and any "
                      "shortfall can reduce what you get back.",
                "zh-hant": "借款人可能違約。在市場急跌時，抵押品未必足以覆蓋貸款，任何差額均可能減少您取回的金額。"}


# The lending sections every demo product carries (compliance.disclosure_templates: who borrows, collateral).
LENDING_SECTIONS = {
    "borrowers": {
        "en": "Your {asset} is lent by the exchange's treasury desk to institutional margin and market-making "
              "borrowers that passed its credit review. No borrower may take more than 20 % of the product's "
              "assets, and the desk can recall loans at one day's notice.",
        "zh-hant": "您的 {asset} 由交易所的財資部門借予已通過信貸審查的機構保證金及做市借款人。任何單一借款人"
                   "借入的資產不得超過本產品資產的 20%，財資部門可於一日通知後收回貸款。",
    },
    "collateral": {
        "en": "Every loan is over-collateralised: borrowers post BTC, ETH or stablecoins worth at least 120 % of "
              "the loan, valued every minute at exchange prices. Below 110 % the collateral is sold to repay the "
              "loan; in a sudden crash it may not cover it in full.",
        "zh-hant": "每筆貸款均為超額抵押：借款人須存入價值不少於貸款 120% 的 BTC、ETH 或穩定幣，並每分鐘按交易所"
                   "價格估值。抵押率低於 110% 時，抵押品會被出售以償還貸款；在市場急跌時，抵押品未必足以全數"
                   "覆蓋貸款。",
    },
}


def lending_sections(asset: str) -> dict[str, dict[str, str]]:
    return {key: {lang: text.format(asset=asset) for lang, text in texts.items()}
            for key, texts in LENDING_SECTIONS.items()}


def _products() -> list[DemoProduct]:
    usdt30 = _fixed("USDT", 30, "daily", "forfeit_interest")
    usdt90 = _fixed("USDT", 90, "daily", "penalty_rate", "0.01")
    eth60 = _fixed("ETH", 60, "at_maturity", "not_allowed")
    usdc14 = _fixed("USDC", 14, "daily", "forfeit_interest", renew=False)
    demand = {"redemption_modes": ["fast", "standard"]}
    return [
        DemoProduct("USDT Flexible Savings", "USDT 活期理財", "USDT", "demand",
                    [("0", "10000", "0.06"), ("10000", "100000", "0.03")],
                    {**demand, "min_amount": "1", "max_amount": "100000", "per_user_cap": "100000",
                     "total_cap": "50000000"}, 2,
                    FLEXIBLE_EN.format(asset="USDT"), FLEXIBLE_ZH.format(asset="USDT"), statements=[COUNTERPARTY]),
        DemoProduct("BTC Flexible Savings", "BTC 活期理財", "BTC", "demand",
                    [("0", "1", "0.015"), ("1", None, "0.005")],
                    {**demand, "min_amount": "0.001", "per_user_cap": "50", "total_cap": "2000"}, 2,
                    FLEXIBLE_EN.format(asset="BTC"), FLEXIBLE_ZH.format(asset="BTC"), statements=[COUNTERPARTY]),
        DemoProduct("USDT Fixed 30-Day", "USDT 定期 30 日", "USDT", "fixed", [("0", None, "0.08")],
                    {"term_days": 30, "min_amount": "100", "max_amount": "200000", "per_user_cap": "500000",
                     "total_cap": "20000000", "early_redemption": "forfeit_interest", "auto_renew_allowed": True,
                     "redemption_modes": ["standard"]}, 2, *usdt30, statements=[COUNTERPARTY]),
        DemoProduct("USDT Fixed 90-Day", "USDT 定期 90 日", "USDT", "fixed", [("0", None, "0.10")],
                    {"term_days": 90, "min_amount": "100", "max_amount": "500000", "per_user_cap": "1000000",
                     "total_cap": "30000000", "early_redemption": "penalty_rate", "penalty_apr": "0.01",
                     "auto_renew_allowed": True, "redemption_modes": ["standard"]}, 3, *usdt90,
                    statements=[COUNTERPARTY]),
        DemoProduct("ETH Fixed 60-Day", "ETH 定期 60 日", "ETH", "fixed", [("0", None, "0.045")],
                    {"term_days": 60, "payout": "at_maturity", "min_amount": "0.01", "max_amount": "500",
                     "per_user_cap": "1000", "total_cap": "50000", "early_redemption": "not_allowed",
                     "auto_renew_allowed": True, "redemption_modes": ["standard"]}, 3, *eth60,
                    statements=[COUNTERPARTY]),
        DemoProduct("USDC Flexible Savings", "USDC 活期理財", "USDC", "demand", [("0", None, "0.055")],
                    {**demand, "min_amount": "1", "per_user_cap": "200000", "total_cap": "10000000"}, 2,
                    FLEXIBLE_EN.format(asset="USDC"), FLEXIBLE_ZH.format(asset="USDC"),
                    status=ProductStatus.IN_REVIEW, statements=[COUNTERPARTY]),
        DemoProduct("USDC Fixed 14-Day", "USDC 定期 14 日", "USDC", "fixed", [("0", None, "0.07")],
                    {"term_days": 14, "min_amount": "50", "per_user_cap": "100000", "total_cap": "5000000",
                     "early_redemption": "forfeit_interest", "redemption_modes": ["standard"]}, 2, *usdc14,
                    status=ProductStatus.PAUSED, statements=[COUNTERPARTY]),
    ]


def walk(demo: DemoProduct, curator: User, approver: User, ops: User) -> Product:
    product = services.product_create(
        actor=curator, name_en=demo.name_en, name_zh_hant=demo.name_zh_hant, asset=demo.asset,
        term_type=demo.term_type, strategy="simple", risk_rating=demo.risk_rating, **DESK_VETTING,
        terms={**demo.terms, "effective_from": timezone.now().date()}, tiers=demo.tiers)
    disclosure = disclosure_draft(actor=curator, product=product, body_en=demo.body_en,
                                  body_zh_hant=demo.body_zh_hant, risk_statements=demo.statements,
                                  sections=lending_sections(demo.asset))
    disclosure_approve(actor=approver, disclosure=disclosure)
    services.product_submit(actor=curator, product=product)
    if demo.status == ProductStatus.IN_REVIEW:
        return product
    services.product_approve(actor=approver, product=product, notes="Vetting complete; terms in line with desk rates.")
    services.product_go_live(actor=ops, product=product)
    if demo.status == ProductStatus.PAUSED:
        services.product_pause(actor=ops, product=product, reason="Borrower demand paused for the quarter end.")
    return product


def seed_products(out: Callable[[str], None]) -> None:
    """Create the demo products that are missing (needs the demo staff users)."""
    users = {u.email: u for u in User.objects.filter(email__in=[CURATOR, APPROVER, OPERATIONS])}
    missing = {CURATOR, APPROVER, OPERATIONS} - set(users)
    if missing:
        out(f"products: skipped, missing staff users {', '.join(sorted(missing))}")
        return
    existing = set(Product.objects.values_list("name_en", flat=True))
    for demo in _products():
        if demo.name_en in existing:
            out(f"product {demo.name_en}: exists")
            continue
        product = walk(demo, users[CURATOR], users[APPROVER], users[OPERATIONS])
        product.refresh_from_db()
        out(f"product {demo.name_en}: created ({product.status})")
