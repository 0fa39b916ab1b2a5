"""Reads for products: terms in force, the customer catalogue, vetting completeness."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.db import connection
from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone

from compliance.category_rules import CategoryAccess
from compliance.category_selectors import category_access, offered_filter
from compliance.gate import SINGLE_FACTS_WIDTH, GateContext, single_facts_params, single_facts_sql
from compliance.models import Disclosure
from compliance.selectors import disclosures_current_bulk
from core.rows import RowShape, is_bigint, prepared_cursor
from earn import extensions
from earn.apy import apy_for, as_fraction, as_percent
from earn.models import (
    Category,
    Position,
    PositionStatus,
    Product,
    ProductStatus,
    ProductTerms,
    RateTier,
    Strategy,
    TermsStatus,
    TermType,
)
from ledger.models import Asset

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

CUSTOMER_VISIBLE_STATUSES = (ProductStatus.LIVE, ProductStatus.PAUSED)


def _with_tiers(queryset: QuerySet[ProductTerms]) -> QuerySet[ProductTerms]:
    return queryset.prefetch_related(Prefetch("tiers", queryset=RateTier.objects.order_by("lower")))


_TERMS = RowShape(ProductTerms, "t")
# A terms version's rate tiers as four arrays (ids, lowers, uppers, APRs), by lower bound: one statement
# reads terms and tiers (the money paths' reads; _attach_tiers makes them `terms.tiers.all()`).
_TIER_ARRAYS = ", ".join(f'ARRAY(SELECT r.{column} FROM "earn_ratetier" r WHERE r.terms_id = t.id '
                         "ORDER BY r.lower, r.id)" for column in ("id", "lower", "upper", "apr"))
_TERMS_IN_FORCE_SQL = f"""
    SELECT {_TERMS.columns}, {_TIER_ARRAYS}
      FROM "earn_productterms" t
     WHERE t.product_id = %s AND t.status = %s AND t.effective_from <= %s
     ORDER BY t.effective_from DESC, t.version DESC
     LIMIT 1"""


def terms_in_force(product: Product | int, on_date: dt.date) -> ProductTerms | None:
    """The approved terms version with the latest `effective_from` <= `on_date` (tiers prefetched).

    Two approved versions effective the same day: the later version wins. One hand-written statement
    (core.rows): redemptions, previews and settlement read it per request.
    """
    product_id = product if isinstance(product, int) else product.pk
    with connection.cursor() as cursor:
        cursor.execute(_TERMS_IN_FORCE_SQL, [product_id, TermsStatus.APPROVED.value, on_date])
        row = cursor.fetchone()
    if row is None:
        return None
    terms = _TERMS.instance(row)
    _attach_tiers(terms, row[-4:])
    return terms


def terms_in_force_bulk(product_ids: Iterable[int], on_date: dt.date) -> dict[int, ProductTerms]:
    """{product_id: terms in force on `on_date`} for many products in two queries (terms, tiers)."""
    ids = list(product_ids)
    if not ids:
        return {}
    qs = (ProductTerms.objects.filter(product_id__in=ids, status=TermsStatus.APPROVED, effective_from__lte=on_date)
          .order_by("product_id", "-effective_from", "-version").distinct("product_id"))
    return {t.product_id: t for t in _with_tiers(qs)}


def terms_pending(product: Product | int) -> ProductTerms | None:
    """The terms version awaiting approval, if any (at most one at a time)."""
    product_id = product if isinstance(product, int) else product.pk
    return _with_tiers(ProductTerms.objects.filter(product_id=product_id, status=TermsStatus.PENDING)).first()


def terms_latest(product: Product | int) -> ProductTerms | None:
    """The newest terms version whatever its status (a starting point for the next proposal)."""
    product_id = product if isinstance(product, int) else product.pk
    return _with_tiers(ProductTerms.objects.filter(product_id=product_id).order_by("-version"))[:1].first()


def user_principal_by_product(user: User | AnonymousUser, product_ids: Iterable[int]) -> dict[int, Decimal]:
    """{product_id: the user's active principal in it}, in one query."""
    ids = list(product_ids)
    totals = {pid: Decimal(0) for pid in ids}
    if ids and user.is_authenticated:
        rows = (Position.objects.filter(user=user, product_id__in=ids, status=PositionStatus.ACTIVE)
                .values("product_id").annotate(total=Sum("principal")).values_list("product_id", "total"))
        totals.update({pid: total or Decimal(0) for pid, total in rows})
    return totals


# --- Vetting -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class VettingItem:
    key: str
    label: str
    done: bool
    required: bool = True


def vetting_checklist(product: Product) -> list[VettingItem]:
    """What a reviewer needs before a product can be submitted; on-chain items only for DeFi strategies."""
    on_chain = product.strategy == Strategy.LIQUIDITY_MINING
    extra = []
    if product.category in (Category.LENDING, Category.STRUCTURED):
        extra.append(VettingItem("counterparty", "Counterparty (borrower or issuer), when not the venue itself",
                                 bool(product.counterparty.strip()), required=False))
    if on_chain:
        extra.append(VettingItem("il_alert_threshold", "Impermanent-loss alert threshold (else the default)",
                                 product.il_alert_threshold is not None, required=False))
    return [
        VettingItem("venue", "Venue or protocol named", bool(product.venue.strip())),
        *extra,
        VettingItem("yield_source", "How the yield is produced", bool(product.yield_source.strip())),
        VettingItem("risk_rationale", "Reasons for the risk rating", bool(product.risk_rationale.strip())),
        VettingItem("vetting_zh_hant", "Yield source and risk reasons in Traditional Chinese",
                    bool(product.yield_source_zh_hant.strip() and product.risk_rationale_zh_hant.strip()),
                    required=False),
        VettingItem("chain", "Chain", bool(product.chain.strip()), required=on_chain),
        VettingItem("contract_address", "Contract address", bool(product.contract_address.strip()),
                    required=on_chain),
        VettingItem("audit_reports", "Audit reports (link and date)", bool(product.audit_reports), required=on_chain),
        VettingItem("tvl_usd", "TVL (USD)", product.tvl_usd is not None, required=on_chain),
    ]


def vetting_missing(product: Product) -> list[str]:
    return [item.key for item in vetting_checklist(product) if item.required and not item.done]


# --- Customer catalogue --------------------------------------------------------------------------

def catalogue_products(*, term_type: str | None = None, asset: str | None = None,
                       statuses: Iterable[str] = (ProductStatus.LIVE,),
                       access: CategoryAccess | None = None) -> QuerySet[Product]:
    """Products customers may see (live, paused read-only), filtered; ordered by id for cursors.

    With `access` (`compliance.category_selectors.category_access(user)`), only the products whose category
    that customer may be offered: the catalogue does not list what the customer may not buy."""
    wanted = [s for s in statuses if s in CUSTOMER_VISIBLE_STATUSES]
    qs = Product.objects.filter(status__in=wanted)
    offered = offered_filter(access) if access is not None else None
    if offered is not None:
        qs = qs.filter(offered)
    if term_type:
        qs = qs.filter(term_type=term_type)
    if asset:
        qs = qs.filter(asset_id=asset.upper())
    return qs.order_by("id")


class HeadlineRates(TypedDict):
    apr: Decimal
    apy: Decimal
    compounding: bool


def headline_rates(terms: ProductTerms, term_type: str) -> HeadlineRates:
    """APR of the first tier and its APY (compounding only for demand products)."""
    tiers = list(terms.tiers.all())
    apr = tiers[0].apr if tiers else Decimal(0)
    compounding = term_type == TermType.DEMAND
    return {"apr": apr, "apy": apy_for(apr, compounding=compounding), "compounding": compounding}


def _left(cap: Decimal | None, used: Decimal) -> Decimal | None:
    return None if cap is None else max(cap - used, Decimal(0))


def catalogue_entry(product: Product, terms: ProductTerms | None, disclosure: Disclosure | None,
                    principal: Decimal) -> dict[str, Any]:
    """One product as customers see it (plain values; the API serialises them)."""
    left_quota = _left(product.total_cap, product.sold_amount)
    entry: dict[str, Any] = {
        "id": product.pk, "name_en": product.name_en, "name_zh_hant": product.name_zh_hant,
        "status": product.status, "subscribable": product.status == ProductStatus.LIVE,
        "type": product.term_type, "strategy": product.strategy, "category": product.category,
        "asset": product.asset_id,
        "risk_rating": product.risk_rating, "total_cap": product.total_cap, "sold_amount": product.sold_amount,
        "left_quota": left_quota, "pool": None,
        "disclosure": (None if disclosure is None else
                       {"id": disclosure.pk, "version": disclosure.version, "sha256": disclosure.sha256}),
    }
    if terms is None:
        return {**entry, "terms_version": None}
    rates = headline_rates(terms, product.term_type)
    user_left = _left(terms.per_user_cap, principal)
    if left_quota is not None:
        user_left = left_quota if user_left is None else min(user_left, left_quota)
    entry.update({
        "terms_version": terms.version, "terms_id": terms.pk, "effective_from": terms.effective_from,
        "term_days": terms.term_days, "day_count_basis": terms.day_count_basis,
        "apr_tiers": [{"min": t.lower, "max": t.upper, "apr": t.apr} for t in terms.tiers.all()],
        "apr": rates["apr"], "apy": as_fraction(rates["apy"]),
        "apr_percent": as_percent(rates["apr"]), "apy_percent": as_percent(rates["apy"]),
        "apy_compounding": "daily" if rates["compounding"] else "none",
        "min_amount": terms.min_amount, "max_amount": terms.max_amount, "per_user_cap": terms.per_user_cap,
        "user_left_quota": user_left,
        "window": {"start": terms.window_start, "end": terms.window_end},
        "payout": terms.payout,
        "early_redemption": {"rule": terms.early_redemption, "penalty_apr": terms.penalty_apr},
        "redemption_modes": list(terms.redemption_modes), "auto_renew_allowed": terms.auto_renew_allowed,
    })
    return entry


def _upcoming_terms_bulk(product_ids: list[int], on_date: dt.date) -> dict[int, ProductTerms]:
    qs = (ProductTerms.objects.filter(product_id__in=product_ids, status=TermsStatus.APPROVED,
                                      effective_from__gt=on_date)
          .order_by("product_id", "effective_from", "version").distinct("product_id"))
    return {t.product_id: t for t in _with_tiers(qs)}


def catalogue_entries(products: Iterable[Product], *, user: User | AnonymousUser,
                      on_date: dt.date | None = None) -> list[dict]:
    """Catalogue entries for a page of products in a constant number of queries.

    Terms are the version in force today; a product whose first terms start later shows those.
    """
    products = list(products)
    ids = [p.pk for p in products]
    day = on_date or timezone.now().date()
    terms = terms_in_force_bulk(ids, day)
    missing = [pid for pid in ids if pid not in terms]
    if missing:
        terms.update(_upcoming_terms_bulk(missing, day))
    disclosures = disclosures_current_bulk(product_ids=ids)
    principals = user_principal_by_product(user, ids)
    entries = [catalogue_entry(p, terms.get(p.pk), disclosures.get(p.pk), principals.get(p.pk, Decimal(0)))
               for p in products]
    for strategy, summaries_of in extensions.CATALOGUE_SUMMARIES.items():
        ids_of_strategy = [p.pk for p in products if p.strategy == strategy]
        if ids_of_strategy:  # more queries (pools, prices) only on pages with products of that strategy
            summaries = summaries_of(ids_of_strategy)
            for entry in entries:
                if entry["id"] in summaries:
                    entry["pool"] = summaries[entry["id"]]
    return entries


def products_in_category(category: str) -> list[Product]:
    """Live products of one category, by id (a category rule's preview lists those it would stop offering)."""
    return list(Product.objects.filter(status=ProductStatus.LIVE, category=category).order_by("id"))


def open_positions_in_category(category: str, users: QuerySet) -> dict[str, int]:
    """Open positions of `users` in products of `category`, earn and other strategies' (pools), and how many
    of those users hold one: three queries whatever their number."""
    sources = [Position.objects.filter(status=PositionStatus.ACTIVE, product__category=category, user__in=users)
               .values_list("user_id")]
    sources += [source(category, users) for source in extensions.OPEN_POSITION_SOURCES]
    positions = sum(qs.order_by().count() for qs in sources)
    customers = sources[0].order_by().union(*(qs.order_by() for qs in sources[1:])).count()
    return {"positions": positions, "customers": customers}


def live_products() -> list[Product]:
    """Products open to subscription, by id (what `GET /api/v1/compliance/status` reports on)."""
    return list(Product.objects.filter(status=ProductStatus.LIVE).order_by("id"))


def own_position_product(position_id: int, user: User) -> int | None:
    """The product of one of the customer's own positions (a complaint about it), or None."""
    return Position.objects.filter(pk=position_id, user=user).values_list("product_id", flat=True).first()


# The money paths read one product (with its asset) on every request: hand-written SQL (core.rows).
_OFFER_TERMS = _TERMS
_OFFER_PRODUCT = RowShape(Product, "p")
_OFFER_ASSET = RowShape(Asset, "a")


_CATALOGUE_SQL = f"""SELECT {_OFFER_PRODUCT.columns}, {_OFFER_ASSET.columns}
                      FROM "earn_product" p JOIN "ledger_asset" a ON a.code = p.asset_id WHERE p.id = %(product)s"""


def catalogue_product(*, product_id: int, user: User | AnonymousUser | None = None,
                      offered_only: bool = False) -> Product | None:
    """A single product if this customer may see it: published (live, or paused read-only), or one
    they hold a position in (earn or pool) whatever its status since. Drafts, products in review or
    approved but not yet live, and closed products they never held are None (the API answers 404):
    their rates and terms are not public yet.

    `offered_only` (the catalogue's product page): a published product whose category the customer may not
    be offered (compliance's category rules) is None too, unless they hold it: a rule change never takes a
    customer's own product from them."""
    if not is_bigint(product_id):
        return None
    with connection.cursor() as cursor:
        cursor.execute(_CATALOGUE_SQL, {"product": product_id})
        row = cursor.fetchone()
    if row is None:
        return None
    product = _OFFER_PRODUCT.instance(row)
    product.asset = _OFFER_ASSET.instance(row, _OFFER_PRODUCT.width)
    if not _visible_to(product, user):
        return None
    if offered_only and not category_access(user).allows(product.category, product.risk_rating) \
            and not _holds(product, user):
        return None
    return product


def _holds(product: Product, user: User | AnonymousUser | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return (Position.objects.filter(user=user, product=product).exists()
            or any(holds(user, product) for holds in extensions.HOLDINGS_CHECKS))


def _visible_to(product: Product, user: User | AnonymousUser | None) -> bool:
    if product.status in CUSTOMER_VISIBLE_STATUSES:
        return True
    return _holds(product, user)


@dataclass(frozen=True)
class Offer:
    """What a subscription reads about its product: the product (asset joined), if this customer may see
    it, and the terms in force on `on_date` (None: no terms in force; their rate tiers are not read, nothing
    a subscription decides or writes depends on them); with `gate`, the compliance gate's facts for this
    customer and product, read by the same statement."""

    product: Product | None
    terms: ProductTerms | None
    on_date: dt.date
    gate: GateContext | None = None


_OFFER_SQL = f"""
    SELECT {_OFFER_TERMS.columns}, {_OFFER_PRODUCT.columns}, {_OFFER_ASSET.columns}
      FROM "earn_productterms" t
      JOIN "earn_product" p ON p.id = t.product_id
      JOIN "ledger_asset" a ON a.code = p.asset_id
     WHERE t.product_id = %(product)s AND t.status = %(approved)s AND t.effective_from <= %(on_date)s
     ORDER BY t.effective_from DESC, t.version DESC
     LIMIT 1"""


@functools.cache
def _with_gate_sql(sql: str) -> str:
    """A read of one product (named parameter `product`) and the gate's facts side by side: one round trip for
    everything a money request decides on."""
    return f"""SELECT f.*, o.* FROM (SELECT 1) one
                 LEFT JOIN LATERAL ({single_facts_sql()}) f ON true
                 LEFT JOIN LATERAL ({sql}) o ON true"""


def _read_with_gate(sql: str, params: dict[str, Any], *, user: User, product_id: int,
                    now: dt.datetime) -> tuple[Sequence[Any] | None, GateContext]:
    """`sql`'s row (None: no row) and the gate's context for the customer and the product at `now`, read by one
    prepared statement (none of the tables has months)."""
    with prepared_cursor() as cursor:
        cursor.execute(_with_gate_sql(sql), {**params, **single_facts_params(user, product_id, now)})
        both = cursor.fetchone()
    facts, row = both[:SINGLE_FACTS_WIDTH], both[SINGLE_FACTS_WIDTH:]
    # kyc_status is never NULL in a customer's row: all NULL, there was no row
    gate = GateContext.from_single_facts(user, product_id, None if facts[1] is None else facts, now=now)
    return (None if row[0] is None else row), gate


def subscription_offer(*, product_id: int, user: User, now: dt.datetime) -> Offer:
    """The product, its asset and its terms in force on `now`'s day, and the compliance gate's facts for the
    customer and the product at `now` (`Offer.gate`, as `GateContext.load` would read them), in one query: the
    subscription path reads them on every request (the quote reads the tiers, through `terms_in_force`).
    Approved terms are never edited, so nothing here can be stale within the request; a product without terms
    in force takes a second query (catalogue_product).

    Hand-written SQL (core.rows): building and compiling the same ORM query cost more Python than the
    rest of the read."""
    on_date = now.date()
    if not is_bigint(product_id):
        return Offer(None, None, on_date)
    params: dict[str, Any] = {"product": product_id, "approved": TermsStatus.APPROVED.value, "on_date": on_date}
    row, gate = _read_with_gate(_OFFER_SQL, params, user=user, product_id=product_id, now=now)
    if row is None:
        return Offer(catalogue_product(product_id=product_id, user=user), None, on_date, gate)
    terms = _OFFER_TERMS.instance(row)
    product = _OFFER_PRODUCT.instance(row, _OFFER_TERMS.width)
    product.asset = _OFFER_ASSET.instance(row, _OFFER_TERMS.width + _OFFER_PRODUCT.width)
    terms.product = product
    if not _visible_to(product, user):
        return Offer(None, None, on_date, gate)
    return Offer(product, terms, on_date, gate)


def launch_offer(*, product_id: int, user: User, now: dt.datetime) -> tuple[Product | None, GateContext | None]:
    """What a launch commitment decides on: the product (asset joined) if this customer may see it
    (catalogue_product), and the gate's context at `now`, in one prepared statement."""
    if not is_bigint(product_id):
        return None, None
    row, gate = _read_with_gate(_CATALOGUE_SQL, {"product": product_id}, user=user, product_id=product_id, now=now)
    if row is None:
        return None, gate
    product = _OFFER_PRODUCT.instance(row)
    product.asset = _OFFER_ASSET.instance(row, _OFFER_PRODUCT.width)
    return (product if _visible_to(product, user) else None), gate


def _attach_tiers(terms: ProductTerms, arrays: Sequence[list]) -> None:
    """The tiers read as arrays (_TIER_ARRAYS) become `terms.tiers.all()`, as prefetch_related leaves it."""
    tier_ids, tier_lowers, tier_uppers, tier_aprs = arrays
    rows = [RateTier(id=pk, terms=terms, lower=lower, upper=upper, apr=apr) for pk, lower, upper, apr
            in zip(tier_ids, tier_lowers, tier_uppers, tier_aprs, strict=True)]
    for tier in rows:
        tier._state.adding = False
        tier._state.db = connection.alias
    cached = terms.tiers.all()  # what prefetch_related would leave: a queryset already evaluated
    cached._result_cache = rows
    cached._prefetch_done = True  # type: ignore[attr-defined]  # Django's private prefetch flag
    terms._prefetched_objects_cache = {ProductTerms.tiers.rel.cache_name: cached}  # type: ignore[attr-defined]
