"""The annual income export, for tax: every interest accrual and pool reward or fee credited in a year, with its
USD value at the moment it was credited and the price snapshot used (id, source, time), named on each row.

USD values are amount × the asset's latest price at or before the credit, rounded down to the cent
(core.money.ROUNDING); a row whose asset had no price by then keeps empty price columns.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Subquery

from core.db_router import replica_reads
from core.money import floor_to_scale
from earn.models import Accrual
from pools.models import PoolPayout
from pricing.models import PriceSnapshot

HEADER = ["credited_at", "kind", "product_id", "product", "asset", "amount", "price_usd", "price_snapshot",
          "price_source", "price_as_of", "usd_value"]


def _price_at(asset_ref: str) -> Subquery:
    return Subquery(PriceSnapshot.objects.filter(asset_id=OuterRef(asset_ref), as_of__lte=OuterRef("created_at"))
                    .order_by("-as_of", "-id").values("id")[:1])


def income_rows(user: Any, year: int) -> list[dict[str, Any]]:
    """Every credit of interest, reward and pool fee of `year` (UTC), oldest first, with its USD value.

    A report: read from the replica when there is one (core.db_router)."""
    with replica_reads():
        return _income_rows(user, year)


def _income_rows(user: Any, year: int) -> list[dict[str, Any]]:
    start, end = dt.datetime(year, 1, 1, tzinfo=dt.UTC), dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    raw: list[tuple[dt.datetime, str, int, str, str, str, Decimal, int | None]] = []
    accruals = (Accrual.objects.filter(position__user=user, created_at__gte=start, created_at__lt=end, posted__gt=0)
                .annotate(price_id=_price_at("position__asset_id"))
                .values_list("created_at", "position__product_id", "position__product__name_en",
                             "position__product__name_zh_hant", "position__asset_id", "posted", "price_id"))
    for at, product, en, zh, asset, amount, price in accruals:
        raw.append((at, "interest", product, en, zh, asset, amount, price))
    payouts = (PoolPayout.objects.filter(position__user=user, created_at__gte=start, created_at__lt=end)
               .select_related("position__product__pool"))
    for payout in payouts:
        pool = payout.position.product.pool
        credits = (("reward", pool.reward_asset_id, payout.reward), ("fee", pool.asset_a_id, payout.fee_a),
                   ("fee", pool.asset_b_id, payout.fee_b))
        for kind, paid_asset, amount in credits:
            if paid_asset and amount > 0:
                snapshot_id = (PriceSnapshot.objects.filter(asset_id=paid_asset, as_of__lte=payout.created_at)
                               .order_by("-as_of", "-id").values_list("id", flat=True).first())
                pool_product = payout.position.product
                raw.append((payout.created_at, kind, pool_product.pk, pool_product.name_en, pool_product.name_zh_hant,
                            paid_asset, amount, snapshot_id))
    snapshots = PriceSnapshot.objects.in_bulk({r[7] for r in raw if r[7] is not None})
    rows = []
    for at, kind, product, en, zh, asset, amount, price_id in sorted(raw, key=lambda r: (r[0], r[1], r[2])):
        price_snapshot = snapshots.get(price_id) if price_id is not None else None
        rows.append({"credited_at": at, "kind": kind, "product_id": product, "name": {"en": en, "zh-hant": zh or en},
                     "asset": asset, "amount": amount, "snapshot": price_snapshot,
                     "usd_value": floor_to_scale(amount * price_snapshot.price_usd, 2) if price_snapshot else None})
    return rows


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def income_csv(user: Any, year: int, language: str) -> str:
    lang = "zh-hant" if (language or "").lower().startswith("zh") else "en"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for row in income_rows(user, year):
        snapshot = row["snapshot"]
        writer.writerow([_iso(row["credited_at"]), row["kind"], row["product_id"], row["name"][lang], row["asset"],
                         format(row["amount"].normalize(), "f") if row["amount"] else "0",
                         format(snapshot.price_usd.normalize(), "f") if snapshot else "",
                         snapshot.pk if snapshot else "", snapshot.source if snapshot else "",
                         _iso(snapshot.as_of) if snapshot else "",
                         format(row["usd_value"], "f") if row["usd_value"] is not None else ""])
    return out.getvalue()


def income_years(user: Any) -> Iterator[int]:
    """The years with interest credited, newest first (the export's choices); from the replica as above."""
    with replica_reads():
        years = {d.year for d in Accrual.objects.filter(position__user=user).datetimes("created_at", "year")}
    return iter(sorted(years, reverse=True))
