"""Reads for launch mode: a launch's public facts and state, and a customer's commitments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from earn.models import LaunchCommitment, LaunchRun, Product

# What the state of a launch is called in the API and the portal.
UPCOMING, OPEN, CLOSED, ALLOCATING, ALLOCATED = "upcoming", "open", "closed", "allocating", "allocated"


def launch_state(product: Product, run: LaunchRun | None, now: dt.datetime | None = None) -> str:
    """upcoming → open → closed (waiting for the allocation) → allocating → allocated (positions and refunds done)."""
    now = now or timezone.now()
    if run is not None:
        return ALLOCATED if run.status == LaunchRun.Status.DONE else ALLOCATING
    start, end = product.launch_window_start, product.launch_window_end
    assert start is not None and end is not None  # a launch product has its window (a database check)
    if now < start:
        return UPCOMING
    return OPEN if now < end else CLOSED


def launch_summary(product: Product, *, user: Any = None) -> dict[str, Any]:
    """The launch's facts, its state, totals committed so far and, for a signed-in customer, their own
    committed, allocated and refunded amounts (two queries)."""
    run = LaunchRun.objects.filter(product=product).first()
    mine: dict[str, Any] = {"committed": Decimal(0), "allocated": None, "refunded": None, "commitments": 0}
    totals = LaunchCommitment.objects.filter(product=product).aggregate(
        committed=Sum("amount"), customers=Count("user", distinct=True),
        **({"mine": Sum("amount", filter=Q(user=user)), "mine_allocated": Sum("allocated", filter=Q(user=user)),
            "mine_refunded": Sum("refunded", filter=Q(user=user)), "mine_count": Count("id", filter=Q(user=user))}
           if user is not None and getattr(user, "is_authenticated", False) else {}))
    if "mine" in totals:
        mine = {"committed": totals["mine"] or Decimal(0), "allocated": totals["mine_allocated"],
                "refunded": totals["mine_refunded"], "commitments": totals["mine_count"]}
    return {
        "product": product.pk, "scale": product.asset.scale, "asset": product.asset_id,
        "method": product.launch_method, "window_start": product.launch_window_start,
        "window_end": product.launch_window_end, "quota": product.launch_quota,
        "min_lot": product.launch_min_lot, "user_cap": product.launch_user_cap,
        "state": launch_state(product, run), "committed_total": totals["committed"] or Decimal(0),
        "customers": totals["customers"], "allocated_total": run.allocated_total if run and run.allocated_at else None,
        "allocated_at": run.allocated_at if run else None, "finished_at": run.finished_at if run else None,
        "your_committed": mine["committed"], "your_allocated": mine["allocated"], "your_refunded": mine["refunded"],
        "your_commitments": mine["commitments"],
    }


def commitments_of(user: Any, *, product_id: int | None = None) -> QuerySet[LaunchCommitment]:
    """A customer's commitments, newest first, with what the serializers read (product and asset)."""
    qs = LaunchCommitment.objects.filter(user=user).select_related("product__asset")
    if product_id is not None:
        qs = qs.filter(product_id=product_id)
    return qs.order_by("-created_at", "-id")


def commitment_totals(product_id: int) -> dict[str, Decimal]:
    """Σ committed, Σ allocated, Σ refunded over a product's commitments (one query)."""
    totals = LaunchCommitment.objects.filter(product_id=product_id).aggregate(
        committed=Sum("amount"), allocated=Sum("allocated"), refunded=Sum("refunded"))
    return {k: v or Decimal(0) for k, v in totals.items()}
