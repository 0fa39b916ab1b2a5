"""Earn test factories: staff users in roles and ready-to-use live products."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import User
from compliance.models import Disclosure, DisclosureStatus
from compliance.services.disclosures import disclosure_content_hash
from earn.models import Product, ProductStatus, ProductTerms, RateTier, TermsStatus
from tests.factories import AssetFactory, UserFactory

# A date before any test clock, so the terms are in force whatever day a test travels to.
FACTORY_EFFECTIVE_FROM = dt.date(2020, 1, 1)

PRODUCT_FIELDS = {"name_en", "name_zh_hant", "strategy", "category", "risk_rating", "venue", "counterparty", "chain",
                  "contract_address", "audit_reports", "tvl_usd", "yield_source", "risk_rationale", "reviewer_notes",
                  "sold_amount", "il_alert_threshold",
                  "launch_method", "launch_window_start", "launch_window_end", "launch_quota", "launch_min_lot",
                  "launch_user_cap"}
TERMS_FIELDS = {"effective_from", "term_days", "day_count_basis", "payout", "min_amount", "max_amount",
                "per_user_cap", "total_cap", "window_start", "window_end", "early_redemption", "penalty_apr",
                "redemption_modes", "auto_renew_allowed"}

FACTORY_STATEMENTS = [
    {"key": "no_deposit_protection", "en": "Earn products are not bank deposits and are not protected.",
     "zh-hant": "賺幣產品並非銀行存款，不受存款保障。"},
    {"key": "rates_can_change", "en": "Rates can change.", "zh-hant": "利率可能會變動。"},
]

# Complete sections per product category (compliance.disclosure_templates), so factory disclosures can be approved.
FACTORY_SECTIONS: dict[str, dict[str, dict[str, str]]] = {
    "lending": {
        "borrowers": {"en": "Vetted institutional borrowers.", "zh-hant": "經審核的機構借款人。"},
        "collateral": {"en": "Over-collateralised at 120 %.", "zh-hant": "以 120% 超額抵押。"},
    },
    "staking": {
        "chain": {"en": "Ethereum proof of stake.", "zh-hant": "以太坊權益證明。"},
        "validators": {"en": "Three validators run by the exchange.",
                       "zh-hant": "由交易所營運的三個驗證者。"},
        "lock_up_unbonding": {"en": "No lock-up; unbonding takes up to 9 days.",
                              "zh-hant": "不設鎖定期；解除質押最多需 9 日。"},
        "slashing": {"en": "Slashing can cut the stake; the exchange compensates losses up to 1 %.",
                     "zh-hant": "罰沒可削減質押資產；交易所補償最多 1% 的損失。"},
    },
    "liquidity_mining": {
        "venue": {"en": "Uniswap v2 on Ethereum.", "zh-hant": "以太坊上的 Uniswap v2。"},
        "pair": {"en": "BTC and USDT.", "zh-hant": "BTC 及 USDT。"},
        "fee_tier": {"en": "0.3 % per swap.", "zh-hant": "每筆兌換 0.3%。"},
        "reward_token": {"en": "HSK, whose price can fall.", "zh-hant": "HSK，其價格可能下跌。"},
        "impermanent_loss": {"en": "A doubling costs about 5.7 %.", "zh-hant": "價格上升一倍損失約 5.7%。"},
        "smart_contract_audit": {"en": "Audited in 2026; exploits remain possible.",
                                 "zh-hant": "已於 2026 年審計；仍可能遭受攻擊。"},
    },
    "structured": {
        "underlying": {"en": "BTC against USDT.", "zh-hant": "BTC 兌 USDT。"},
        "payoff": {"en": "A fixed coupon unless BTC ends below the strike.",
                   "zh-hant": "除非 BTC 收市低於行使價，否則收取固定票息。"},
        "worst_case": {"en": "Paid in BTC worth far less than you invested.",
                       "zh-hant": "以價值遠低於投資額的 BTC 支付。"},
    },
}


def complete_sections(category: str = "lending") -> dict[str, dict[str, str]]:
    """A fresh copy of the complete sections of a category (tests may edit it)."""
    return {key: dict(text) for key, text in FACTORY_SECTIONS[category].items()}


def staff_user(role: str | None = None, *, email: str | None = None, **fields: object) -> User:
    """A staff user, optionally in one role group (groups are created by roles_sync after migrate)."""
    user = UserFactory(is_staff=True, **({"email": email} if email else {}), **fields)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def _d(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def live_product(asset: str = "USDT", term_type: str = "demand",
                 tiers: Sequence[tuple[object, object, object]] | None = None, *,
                 drafted_by: User | None = None, approved_by: User | None = None,
                 statements: Sequence[dict] | None = None, sections: dict | None = None, **terms: object) -> Product:
    """A live product with approved terms v1 (+ tiers) and a current disclosure v1 (with the complete sections of
    its category unless `sections` says otherwise), maker ≠ checker.

    `tiers` are (lower, upper or None, apr) with apr as a fraction ("0.05" = 5 %). Keyword arguments
    naming Product fields go to the product, the rest to the terms; `total_cap` goes to both.
    The product carries `.terms` and `.disclosure` for convenience.
    """
    unknown = set(terms) - PRODUCT_FIELDS - TERMS_FIELDS
    if unknown:
        raise TypeError(f"unknown live_product fields: {sorted(unknown)}")
    code = asset.upper()
    AssetFactory(code=code, scale=2 if code in {"HKD", "USD"} else 8)
    maker = drafted_by or staff_user("curator")
    checker = approved_by or staff_user("approver")
    now = timezone.now()
    product_kw = {k: v for k, v in terms.items() if k in PRODUCT_FIELDS}
    terms_kw = {k: v for k, v in terms.items() if k in TERMS_FIELDS}
    product_kw.setdefault("name_en", f"{code} {'Flexible' if term_type == 'demand' else 'Fixed'}")
    product_kw.setdefault("name_zh_hant", f"{code} {'活期' if term_type == 'demand' else '定期'}")
    product_kw.setdefault("risk_rating", 2)
    if product_kw.get("strategy") == "liquidity_mining":
        product_kw.setdefault("category", "liquidity_mining")
    fixed = term_type == "fixed"
    terms_kw.setdefault("effective_from", FACTORY_EFFECTIVE_FROM)
    terms_kw.setdefault("term_days", 30 if fixed else None)
    terms_kw.setdefault("min_amount", Decimal("0.00000001") if code not in {"HKD", "USD"} else Decimal("0.01"))
    terms_kw.setdefault("redemption_modes", [] if fixed else ["fast", "standard"])
    for money in ("min_amount", "max_amount", "per_user_cap", "total_cap", "penalty_apr"):
        if money in terms_kw:
            terms_kw[money] = _d(terms_kw[money])
    for money in ("launch_quota", "launch_min_lot", "launch_user_cap"):
        if money in product_kw:
            product_kw[money] = _d(product_kw[money])
    product = Product.objects.create(asset_id=code, term_type=term_type, status=ProductStatus.LIVE,
                                     total_cap=terms_kw.get("total_cap"), drafted_by=maker, approved_by=checker,
                                     approved_at=now, **product_kw)
    product_terms = ProductTerms.objects.create(product=product, version=1, status=TermsStatus.APPROVED,
                                                drafted_by=maker, approved_by=checker, approved_at=now, **terms_kw)
    for lower, upper, apr in tiers or [(0, None, "0.05")]:
        RateTier.objects.create(terms=product_terms, lower=_d(lower), upper=_d(upper), apr=_d(apr))
    stmts = [dict(s) for s in (statements if statements is not None else FACTORY_STATEMENTS)]
    body_en = f"Risk disclosure for {product.name_en}. The English version prevails."
    body_zh = f"{product.name_zh_hant}風險披露。中英文版本如有歧義，以英文版本為準。"
    secs = complete_sections(product.category) if sections is None else sections
    disclosure = Disclosure.objects.create(
        product=product, version=1, status=DisclosureStatus.CURRENT, body_en=body_en, body_zh_hant=body_zh,
        risk_statements=stmts, sections=secs, category=product.category if secs else "",
        sha256=disclosure_content_hash(body_en=body_en, body_zh_hant=body_zh, risk_statements=stmts, sections=secs),
        author=maker, approved_by=checker, approved_at=now,
    )
    product.terms = product_terms  # type: ignore[attr-defined]
    product.disclosure = disclosure  # type: ignore[attr-defined]
    return product


# --- Curation helpers: go through the services, so audit events and checks are real ----------------

class Staff:
    """One staff user per role, plus a second curator and a customer."""

    def __init__(self) -> None:
        from accounts import roles

        self.curator = staff_user(roles.CURATOR, email="curator@test.example")
        self.curator2 = staff_user(roles.CURATOR, email="curator2@test.example")
        self.approver = staff_user(roles.APPROVER, email="approver@test.example")
        self.approver2 = staff_user(roles.APPROVER, email="approver2@test.example")
        self.compliance = staff_user(roles.COMPLIANCE_OFFICER, email="compliance@test.example")
        self.operations = staff_user(roles.OPERATIONS, email="ops@test.example")
        self.customer = UserFactory(email="customer@test.example")


VETTING = {"venue": "Exchange treasury lending desk", "chain": "", "contract_address": "",
           "yield_source": "Over-collateralised loans to institutional margin borrowers.",
           "risk_rationale": "Short-dated, over-collateralised; counterparty limits apply."}


def draft_product(actor: User, *, asset: str = "USDT", term_type: str = "demand",
                  tiers: Sequence[tuple[object, object, object]] | None = None,
                  terms: dict | None = None, **fields: object) -> Product:
    """A draft product with complete vetting and terms v1 (pending), made by product_create."""
    from earn.services.product_lifecycle import product_create

    AssetFactory(code=asset, scale=8)
    base_terms: dict = {"min_amount": "1", "total_cap": "1000000"}
    if term_type == "fixed":
        base_terms |= {"term_days": 30}
    else:
        base_terms |= {"redemption_modes": ["fast", "standard"]}
    data = {"name_en": f"{asset} {term_type}", "name_zh_hant": f"{asset} 產品", "asset": asset,
            "term_type": term_type, "strategy": "simple", "risk_rating": 2, **VETTING, **fields}
    return product_create(actor=actor, terms=base_terms | (terms or {}),
                          tiers=[(str(lo), None if hi is None else str(hi), str(apr))
                                 for lo, hi, apr in (tiers or [(0, None, "0.05")])], **data)


def product_in_status(status: str, staff: Staff, **kwargs: object) -> Product:
    """Walk a product through the lifecycle with the services to `status`."""
    from compliance.services.disclosures import disclosure_approve, disclosure_draft
    from earn.services import product_lifecycle as svc

    product = draft_product(staff.curator, **kwargs)  # type: ignore[arg-type]
    path = ["draft", "in_review", "approved", "live", "paused", "closed"]
    for step in path[1:path.index(status) + 1]:
        if step == "in_review":
            svc.product_submit(actor=staff.curator, product=product)
        elif step == "approved":
            svc.product_approve(actor=staff.approver, product=product)
        elif step == "live":
            disclosure = disclosure_draft(actor=staff.curator, product=product, body_en="Read this.",
                                          body_zh_hant="請細閱。", sections=complete_sections(product.category))
            disclosure_approve(actor=staff.approver, disclosure=disclosure)
            svc.product_go_live(actor=staff.operations, product=product)
        elif step == "paused":
            svc.product_pause(actor=staff.operations, product=product)
        elif step == "closed":
            svc.product_close(actor=staff.operations, product=product)
    product.refresh_from_db()
    return product


def launch_product(asset: str = "USDT", term_type: str = "fixed", *, method: str = "pro_rata",
                   quota: object = "1000", min_lot: object = "0.00000001", user_cap: object = None,
                   opens: dt.datetime | None = None, hours: int = 24, **terms: object) -> Product:
    """A live launch product whose window opened at `opens` (default: an hour ago) for `hours`."""
    opens = opens or timezone.now() - dt.timedelta(hours=1)
    if term_type == "fixed":
        terms.setdefault("term_days", 30)
    return live_product(asset, term_type, launch_method=method, launch_quota=quota, launch_min_lot=min_lot,
                        launch_user_cap=user_cap, launch_window_start=opens,
                        launch_window_end=opens + dt.timedelta(hours=hours), **terms)
