"""Shared by the proof-of-liabilities tests: a small book of customers and the day's build."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledger.models import LedgerAccount
from liabilities.services import liabilities_build
from tests.earn.helpers import at

D = Decimal
DAY = dt.date(2026, 3, 3)
KINDS = ("available", "earn", "accrued", "pending", "committed")


def owed(user=None) -> dict[tuple[int, str], Decimal]:
    """What the ledger owes each customer now, per (customer, asset), over the liability kinds."""
    rows = LedgerAccount.objects.filter(owner__isnull=False, kind__in=KINDS)
    if user is not None:
        rows = rows.filter(owner=user)
    out: dict[tuple[int, str], Decimal] = {}
    for owner, asset, balance in rows.values_list("owner_id", "asset_id", "balance"):
        out[(owner, asset)] = out.get((owner, asset), D(0)) + balance
    return {key: value for key, value in out.items() if value}


def build(day=DAY, when=(2026, 3, 4, 2)):
    with at(*when):
        return liabilities_build(day)
