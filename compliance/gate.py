"""The compliance gate: for a user and a product (and an amount), the reason codes that block a subscription.

Each rule is a small function returning a code or None; `RULES` is the one list the gate runs, in
order. What a rule demands of whom is data: the restricted list in settings, the per-country
`JurisdictionRule` rows and the per-category `CategoryRule` rows edited by compliance officers
(docs/COMPLIANCE.md has the tables).

The customer's residence and KYC status are read from the database when the context is loaded, never from
whatever user object the caller holds: they are KYC facts that only compliance and the KYC provider write.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Exists, OuterRef, Subquery, Sum
from django.db.models.functions import Upper
from django.utils import timezone

from accounts.models import KycStatus, ResidenceChangeRequest, ResidenceRequestStatus
from compliance import errors
from compliance.category_rules import DEFAULT_JURISDICTION, CategoryAccess
from compliance.category_selectors import RULE_FIELDS, professional_subquery, rules_for_country_subquery
from compliance.models import (
    AcknowledgementKey,
    AssessmentAttempt,
    CategoryRule,
    CustomerProfile,
    Disclosure,
    DisclosureStatus,
    JurisdictionRule,
    ProductKind,
)
from compliance.selectors import ACKNOWLEDGEMENTS_LIVE_FROM_SQL, acknowledgements_live_from
from ledger.models import LedgerAccount
from pricing.selectors import latest_prices

if TYPE_CHECKING:
    from accounts.models import User

# Ledger account kinds that hold a customer's money in Earn: what the exposure limit counts.
EARN_HOLDING_KINDS = ("earn", "accrued", "pending", "committed")  # committed: launch commitments
# Other apps add holdings the ledger kinds above do not show in asset units (e.g. pool shares valued at
# the pool's reserves): functions user -> {asset code: amount}, registered from their AppConfig.ready().
HOLDINGS_SOURCES: list[Callable[[Any], dict[str, Decimal]]] = []
EXPOSURE_LOCK_CLASS = 0x45585053  # "EXPS": advisory lock class of a customer's exposure check


def product_kind(product: Any) -> str:
    """The assessment topic a product needs: liquidity mining, fixed term (lock-up) or flexible."""
    if getattr(product, "strategy", "") == "liquidity_mining":
        return ProductKind.LIQUIDITY_MINING
    return ProductKind.FIXED if product.term_type == "fixed" else ProductKind.DEMAND


def restricted_countries() -> set[str]:
    return {c.upper() for c in settings.EARN_RESTRICTED_COUNTRIES}


# The single-product facts (the subscription and commitment paths, every request) as one hand-written
# statement: the same subqueries the ORM would build for several products, without its compiler's cost.
# The latest acknowledgement comes from the key table, which has no months: the partitioned table has no
# month to prune by here and would lock every month's partition and index on every request. Only a live
# acknowledgement counts, as when it was read from the table itself: none of a month detached for retention.
@functools.cache
def single_facts_sql() -> str:
    """The customer's facts for one product, a row of SINGLE_FACTS_WIDTH columns (`GateContext.from_single_facts`);
    named parameters (`single_facts_params`)."""
    return f"""
    SELECT u.country, u.kyc_status,
           EXISTS (SELECT 1 FROM "{ResidenceChangeRequest._meta.db_table}" r
                    WHERE r.user_id = u.id AND r.status = %(pending)s),
           (SELECT j.id FROM "{JurisdictionRule._meta.db_table}" j WHERE j.country = UPPER(u.country) LIMIT 1),
           (SELECT cp.professional_investor FROM "{CustomerProfile._meta.db_table}" cp WHERE cp.user_id = u.id LIMIT 1),
           ARRAY(SELECT jsonb_build_object({", ".join(f"'{f}', c.{f}" for f in RULE_FIELDS)})
                   FROM (SELECT DISTINCT ON (r.jurisdiction, r.category, r.investor_class) r.*
                           FROM "{CategoryRule._meta.db_table}" r
                          WHERE r.effective_from <= %(now)s
                            AND (r.jurisdiction = UPPER(u.country) OR r.jurisdiction = %(default)s)
                          ORDER BY r.jurisdiction, r.category, r.investor_class, r.effective_from DESC) c
                  ORDER BY c.jurisdiction, c.category, c.investor_class),
           (SELECT d.id FROM "{Disclosure._meta.db_table}" d
             WHERE d.product_id = %(product)s AND d.status = %(current)s ORDER BY d.version DESC LIMIT 1),
           (SELECT ARRAY[k.disclosure_id, k.id] FROM "{AcknowledgementKey._meta.db_table}" k
             WHERE k.user_id = u.id AND k.product_id = %(product)s AND k.accepted_at >= {ACKNOWLEDGEMENTS_LIVE_FROM_SQL}
             ORDER BY k.accepted_at DESC, k.id DESC LIMIT 1)
      FROM "{get_user_model()._meta.db_table}" u
     WHERE u.id = %(user)s"""


SINGLE_FACTS_WIDTH = 8


def single_facts_params(user: Any, product_id: int, now: dt.datetime) -> dict[str, Any]:
    return {"user": user.pk, "product": product_id, "pending": ResidenceRequestStatus.PENDING.value,
            "current": DisclosureStatus.CURRENT.value, "now": now, "default": DEFAULT_JURISDICTION}


@dataclass
class GateContext:
    """What the rules need, loaded once per (user, products) so the gate costs a fixed number of queries."""

    user: User
    now: dt.datetime = field(default_factory=timezone.now)
    country: str = ""  # the verified residence, as stored
    kyc_status: str = KycStatus.UNVERIFIED
    residence_under_review: bool = False  # a residence change request is pending
    current_disclosure: dict[int, int | None] = field(default_factory=dict)  # product id -> disclosure id
    latest_ack_disclosure: dict[int, int | None] = field(default_factory=dict)  # product id -> acked disclosure
    latest_ack: dict[int, int | None] = field(default_factory=dict)  # product id -> that acknowledgement's id
    rule: JurisdictionRule | None = None
    categories: CategoryAccess | None = None  # the category rules in force for the customer's country and class
    profile: CustomerProfile | None = None
    assessments: dict[str, AssessmentAttempt] = field(default_factory=dict)  # product kind -> newest attempt
    _holdings: dict[str, Decimal] | None = None
    _prices: dict[str, Decimal] = field(default_factory=dict)
    _priced: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, user: User, product_ids: Sequence[int]) -> GateContext:
        """One query for the customer's facts (with their investor class and the category rules in force for
        their country), the country's rule id and (for a single product, the subscription path) its current
        disclosure and the customer's latest acknowledgement; with several products, two more. Rule, profile and
        assessments only for countries that have a rule (assessments also where a category rule needs one)."""
        if len(product_ids) == 1:
            now = timezone.now()
            with connection.cursor() as cursor:
                cursor.execute(single_facts_sql(), single_facts_params(user, product_ids[0], now))
                return cls.from_single_facts(user, product_ids[0], cursor.fetchone(), now=now)
        ctx = cls(user=user)
        pending = ResidenceChangeRequest.objects.filter(user=OuterRef("pk"), status=ResidenceRequestStatus.PENDING)
        rule = JurisdictionRule.objects.filter(country=Upper(OuterRef("country"))).values("pk")[:1]
        facts = (get_user_model().objects.filter(pk=user.pk)
                 .annotate(residence_pending=Exists(pending), rule_id=Subquery(rule),
                           professional=professional_subquery(),
                           category_rules=rules_for_country_subquery(Upper(OuterRef("country")), ctx.now))
                 .values_list("country", "kyc_status", "residence_pending", "rule_id", "professional",
                              "category_rules").first())
        ctx._customer_facts(facts)
        current = dict(Disclosure.objects.filter(product_id__in=product_ids, status=DisclosureStatus.CURRENT)
                       .values_list("product_id", "id"))
        acks = (AcknowledgementKey.objects.filter(user=user, product_id__in=product_ids,
                                                  accepted_at__gte=acknowledgements_live_from())
                .order_by("product_id", "-accepted_at", "-id").distinct("product_id")
                .values_list("product_id", "disclosure_id", "id"))
        latest = {pid: (disclosure, ack) for pid, disclosure, ack in acks}
        for pid in product_ids:
            ctx.current_disclosure[pid] = current.get(pid)
            ctx.latest_ack_disclosure[pid], ctx.latest_ack[pid] = latest.get(pid, (None, None))
        ctx._rule_facts(facts[3] if facts is not None else None)
        return ctx

    @classmethod
    def from_single_facts(cls, user: User, product_id: int, facts: Sequence[Any] | None, *,
                          now: dt.datetime) -> GateContext:
        """The context from a row of `single_facts_sql()` (run by itself, or inside a caller's statement that
        reads the product too), read with `single_facts_params(user, product_id, now)`."""
        ctx = cls(user=user, now=now)
        if facts is not None:  # the rules arrive as JSON text, as the ORM's JSON fields read them
            facts = (*facts[:5], [json.loads(r) if isinstance(r, str) else r for r in facts[5] or []], *facts[6:])
        ctx._customer_facts(facts)
        # Without the customer's row there is no acknowledgement either: NO_ACK whatever is current.
        ctx.current_disclosure[product_id] = facts[6] if facts is not None else None
        acked = facts[7] if facts is not None and facts[7] is not None else (None, None)
        ctx.latest_ack_disclosure[product_id], ctx.latest_ack[product_id] = acked
        ctx._rule_facts(facts[3] if facts is not None else None)
        return ctx

    def _customer_facts(self, facts: Sequence[Any] | None) -> None:
        if facts is not None:
            self.country, self.kyc_status, self.residence_under_review = (facts[0] or "").upper(), facts[1], facts[2]
            verified = self.kyc_status == KycStatus.VERIFIED  # else, as in the catalogue: the default rules, retail
            self.categories = CategoryAccess(facts[5] or [], country=self.country if verified else "",
                                             professional=facts[4] and verified)
        else:
            self.categories = CategoryAccess([], country="", professional=False)

    def _rule_facts(self, rule_id: int | None) -> None:
        self.rule = JurisdictionRule.objects.filter(pk=rule_id).first() if rule_id is not None else None
        if self.rule is not None:
            self.profile = CustomerProfile.objects.filter(user=self.user).first()
        if (self.rule is not None and self.rule.assessment_min_risk is not None) or (
                self.categories is not None and self.categories.any_assessment):
            attempts = (AssessmentAttempt.objects.filter(user=self.user, jurisdiction=self.country)
                        .order_by("product_kind", "-created_at", "-id").distinct("product_kind"))
            self.assessments = {a.product_kind: a for a in attempts}

    def for_update(self) -> GateContext:
        """The context for a transaction about to write: what the exposure rule reads lazily (the customer's Earn
        holdings) is read again there, after its lock, not reused from a read before the transaction."""
        self._holdings = None
        return self

    @property
    def exempt(self) -> bool:
        """A professional investor where the country's rule exempts them (assessment, exposure limit)."""
        return bool(self.rule and self.rule.professional_exempt and self.profile
                    and self.profile.professional_investor)

    def earn_holdings(self) -> dict[str, Decimal]:
        """{asset: amount} the customer holds in Earn (principal, unpaid interest, pending redemptions)."""
        if self._holdings is None:
            rows = (LedgerAccount.objects.filter(owner=self.user, kind__in=EARN_HOLDING_KINDS)
                    .values("asset_id").annotate(total=Sum("balance")).values_list("asset_id", "total"))
            holdings = {asset: total for asset, total in rows if total}
            for source in HOLDINGS_SOURCES:
                for asset, amount in source(self.user).items():
                    holdings[asset] = holdings.get(asset, Decimal(0)) + amount
            self._holdings = holdings
        return self._holdings

    def prices(self, codes: Sequence[str]) -> dict[str, Decimal]:
        """Latest prices at the gate's clock; each asset is looked up once per context."""
        missing = set(codes) - self._priced
        if missing:
            self._prices.update(latest_prices(sorted(missing), at=self.now))
            self._priced |= missing
        return self._prices


Rule = Callable[[GateContext, Any, Decimal | None], str | None]


def rule_kyc(ctx: GateContext, product: Any, amount: Decimal | None) -> str | None:
    """Only customers whose identity and residence were verified (by compliance or the KYC provider)."""
    return None if ctx.kyc_status == KycStatus.VERIFIED else errors.KYC_REQUIRED


def rule_residence_review(ctx: GateContext, product: Any, amount: Decimal | None) -> str | None:
    """While a change of residence is pending, the residence on file may be wrong: no new subscriptions."""
    return errors.RESIDENCE_UNDER_REVIEW if ctx.residence_under_review else None


def rule_jurisdiction(ctx: GateContext, product: Any, amount: Decimal | None) -> str | None:
    return errors.JURISDICTION_RESTRICTED if ctx.country in restricted_countries() else None


def rule_category(ctx: GateContext, product: Any, amount: Decimal | None) -> str | None:
    """The product's category (and rating) must be offered to the customer's country and investor class."""
    if ctx.categories is None or ctx.categories.allows(product.category, product.risk_rating):
        return None
    return errors.PRODUCT_NOT_PERMITTED


def rule_acknowledgement(ctx: GateContext, product: Any, amount: Decimal | None) -> str | None:
    acked = ctx.latest_ack_disclosure.get(product.pk)
    if acked is None:
        return errors.NO_ACK
    if acked != ctx.current_disclosure.get(product.pk):
        return errors.ACK_OUTDATED
    return None


def rule_assessment(ctx: GateContext, product: Any, amount: Decimal | None) -> str | None:
    """Products rated at or above the country's level need the newest assessment of their kind passed, and so do
    products whose category rule asks for one (whatever their rating)."""
    level = ctx.rule.assessment_min_risk if ctx.rule else None
    by_rating = level is not None and product.risk_rating >= level and not ctx.exempt
    by_category = ctx.categories is not None and ctx.categories.decision(product.category).requires_assessment
    if not (by_rating or by_category):
        return None
    attempt = ctx.assessments.get(product_kind(product))
    if attempt is None:
        return errors.ASSESSMENT_REQUIRED
    return None if attempt.passed else errors.ASSESSMENT_FAILED


def rule_cooling_off(ctx: GateContext, product: Any, amount: Decimal | None) -> str | None:
    """A first-time customer waits `cooling_off_hours` from their first view of Earn (unknown view: wait)."""
    hours = ctx.rule.cooling_off_hours if ctx.rule else 0
    if not hours:
        return None
    first = ctx.profile.earn_first_viewed_at if ctx.profile else None
    if first is None or ctx.now < first + dt.timedelta(hours=hours):
        return errors.COOLING_OFF
    return None


def exposure_check(ctx: GateContext, product: Any, amount: Decimal) -> tuple[Decimal, Decimal] | None:
    """(value after the subscription, limit) in USD, or None when it cannot be valued (no profile or price)."""
    profile = ctx.profile
    shares = (ctx.rule.exposure_shares if ctx.rule else {}) or {}
    if profile is None or not profile.risk_profile or profile.net_worth_usd is None \
            or profile.risk_profile not in shares:
        return None
    holdings = dict(ctx.earn_holdings())
    holdings[product.asset_id] = holdings.get(product.asset_id, Decimal(0)) + amount
    prices = ctx.prices(sorted(holdings))
    if any(asset not in prices for asset, held in holdings.items() if held):
        return None
    value = sum((held * prices[asset] for asset, held in holdings.items() if held), Decimal(0))
    return value, profile.net_worth_usd * Decimal(str(shares[profile.risk_profile]))


def rule_exposure(ctx: GateContext, product: Any, amount: Decimal | None) -> str | None:
    """Earn holdings at the latest prices, plus this amount, stay within the profile's share of net worth."""
    if ctx.rule is None or not ctx.rule.exposure_limit:
        return None
    if ctx.exempt:
        return None
    if amount is not None and connection.in_atomic_block:
        # A customer's subscriptions to different products lock different product rows; this lock makes
        # them read each other's holdings, so two at once cannot both fit under the same limit.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [EXPOSURE_LOCK_CLASS, ctx.user.pk])
    checked = exposure_check(ctx, product, amount or Decimal(0))
    if checked is None:
        return errors.EXPOSURE_LIMIT  # fail closed: no profile, no declared net worth, or no price
    value, limit = checked
    return errors.EXPOSURE_LIMIT if value > limit else None


RULES: list[Rule] = [rule_kyc, rule_residence_review, rule_jurisdiction, rule_category, rule_acknowledgement,
                     rule_assessment, rule_cooling_off, rule_exposure]


def blocking_codes(user: User, product: Any, *, amount: Decimal | None = None,
                   ctx: GateContext | None = None) -> list[str]:
    """Reason codes that stop `user` subscribing `amount` (None: any amount) to `product` now; empty: allowed."""
    ctx = ctx or GateContext.load(user, [product.pk])
    return [code for rule in RULES if (code := rule(ctx, product, amount)) is not None]


def blocking_codes_many(user: User, products: Sequence[Any]) -> dict[int, list[str]]:
    """The gate for many products at once in a fixed number of queries (holdings and prices read once)."""
    ctx = GateContext.load(user, [p.pk for p in products])
    if ctx.rule is not None and ctx.rule.exposure_limit and not ctx.exempt and products:
        ctx.prices(sorted({*ctx.earn_holdings(), *(p.asset_id for p in products)}))
    return {p.pk: blocking_codes(user, p, ctx=ctx) for p in products}
