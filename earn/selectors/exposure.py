"""Venue exposure: customers' assets per venue or protocol and per counterparty, in USD, against the limits.

Set-based and independent of the number of positions: an earn product's exposure is its `sold_amount` (the
outstanding principal of its active positions — `reconcile` proves the equality, check `earn_sold`), and other
apps add what they hold per product through `earn.extensions.register_exposure_source` (pools: each pool's
reserves, which its active shares own in full). Everything is valued at the latest prices in one query, so the
page costs four queries however many venues, products and positions there are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from earn import extensions
from earn.models import ExposureKind, ExposureLimit, Product, ProductStatus
from pricing.selectors import latest_prices

# Products shown even with nothing in them: those that are, or are about to be, open to customers.
OPEN_STATUSES = (ProductStatus.APPROVED, ProductStatus.LIVE, ProductStatus.PAUSED)
USD = Decimal("0.01")


def exposure_key(name: str) -> str:
    """How a venue or counterparty name is matched to a limit: trimmed, case ignored (as the unique index)."""
    return name.strip().lower()


@dataclass
class ProductExposure:
    product_id: int
    name: str
    status: str
    category: str
    venue: str
    counterparty: str
    holdings: dict[str, Decimal]
    exposure_usd: Decimal | None  # None: an asset held has no price yet


@dataclass
class GroupExposure:
    """One venue (or counterparty) with its products, their exposure summed, and its limit if one is set."""

    kind: str
    name: str
    limit: ExposureLimit | None = None
    products: list[ProductExposure] = field(default_factory=list)

    @property
    def exposure_usd(self) -> Decimal:
        return sum((p.exposure_usd for p in self.products if p.exposure_usd is not None), Decimal(0)).quantize(USD)

    @property
    def unpriced(self) -> bool:
        """Some product holds an asset without a price: the figure is a lower bound."""
        return any(p.exposure_usd is None for p in self.products)

    @property
    def limit_usd(self) -> Decimal | None:
        return self.limit.limit_usd if self.limit is not None else None

    @property
    def utilisation(self) -> Decimal | None:
        """Exposure / limit as a fraction (1 = at the limit); None without a limit."""
        if self.limit is None:
            return None
        return (self.exposure_usd / self.limit.limit_usd).quantize(Decimal("0.0001"))

    @property
    def breach(self) -> bool:
        return self.limit is not None and self.exposure_usd > self.limit.limit_usd


@dataclass
class ExposureReport:
    venues: list[GroupExposure]
    counterparties: list[GroupExposure]
    limits_unused: list[ExposureLimit]
    prices_at: dt.datetime | None

    @property
    def breaches(self) -> list[GroupExposure]:
        return [g for g in (*self.venues, *self.counterparties) if g.breach]

    @property
    def total_usd(self) -> Decimal:
        return sum((g.exposure_usd for g in self.venues), Decimal(0))


def _value(holdings: dict[str, Decimal], prices: dict[str, Decimal]) -> Decimal | None:
    if any(code not in prices for code, amount in holdings.items() if amount):
        return None
    return sum((amount * prices[code] for code, amount in holdings.items() if amount), Decimal(0)).quantize(USD)


def exposure_report(*, at: dt.datetime | None = None) -> ExposureReport:
    """Every venue and counterparty with customers' assets (or an open product), biggest exposure first."""
    held: dict[int, dict[str, Decimal]] = {}
    for source in extensions.EXPOSURE_SOURCES:
        for product_id, amounts in source().items():
            bucket = held.setdefault(product_id, {})
            for code, amount in amounts.items():
                bucket[code] = bucket.get(code, Decimal(0)) + amount
    rows = (Product.objects.filter(Q(status__in=OPEN_STATUSES) | Q(sold_amount__gt=0) | Q(pk__in=list(held)))
            .order_by("id").values_list("id", "name_en", "status", "category", "venue", "counterparty", "asset_id",
                                        "sold_amount"))
    products = []
    for pid, name, status, category, venue, counterparty, asset, sold in rows:
        holdings = dict(held.get(pid, {}))
        if sold:
            holdings[asset] = holdings.get(asset, Decimal(0)) + sold
        products.append((pid, name, status, category, venue, counterparty, holdings))
    prices = latest_prices({code for *_rest, holdings in products for code in holdings}, at=at)
    limits = {(lim.kind, exposure_key(lim.name)): lim for lim in ExposureLimit.objects.select_related("updated_by")}
    groups: dict[tuple[str, str], GroupExposure] = {}
    for pid, name, status, category, venue, counterparty, holdings in products:
        item = ProductExposure(pid, name, status, category, venue, counterparty, holdings, _value(holdings, prices))
        for kind, label in ((ExposureKind.VENUE, venue), (ExposureKind.COUNTERPARTY, counterparty)):
            if kind == ExposureKind.COUNTERPARTY and not label.strip():
                continue
            key = (str(kind), exposure_key(label))
            group = groups.get(key)
            if group is None:
                limit = limits.get(key)
                group = groups[key] = GroupExposure(str(kind), limit.name if limit else label.strip(), limit)
            group.products.append(item)
    used = set(groups)
    ordered = sorted(groups.values(), key=lambda g: (not g.breach, -g.exposure_usd, g.name.lower()))
    return ExposureReport(
        venues=[g for g in ordered if g.kind == ExposureKind.VENUE],
        counterparties=[g for g in ordered if g.kind == ExposureKind.COUNTERPARTY],
        limits_unused=[lim for key, lim in sorted(limits.items()) if key not in used],
        prices_at=at,
    )
