"""One ledger credit per customer account and day; the accrual rows keep each position's share."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from earn.models import Accrual, AccrualChunk, AccrualRun
from earn.services import accrual
from earn.services.position_switches import position_set_auto_compound
from earn.services.subscriptions import subscription_create
from ledger.models import Posting
from ledger.reconcile import ledger_reconcile
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge, at
from tests.factories import UserFactory

D = Decimal
pytestmark = pytest.mark.django_db
MARCH_2, MARCH_3 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)


@pytest.fixture
def book(assets, fund):
    """Three customers holding 3, 1 and 2 positions of a fixed daily-payout product (10 % up to 1 000,
    5 % above) and one position of an at-maturity product each, from 2 March 2026."""
    daily = live_product("USDT", "fixed", tiers=[(0, 1000, "0.10"), (1000, None, "0.05")])
    at_maturity = live_product("USDT", "fixed", tiers=[(0, None, "0.08")], payout="at_maturity")
    users = []
    with at(2026, 3, 1, 9):
        for n in (3, 1, 2):
            user = UserFactory(country="SG")
            fund(user, "USDT", "10000")
            acknowledge(user, daily)
            acknowledge(user, at_maturity)
            for i in range(n):
                subscription_create(user=user, product_id=daily.pk, amount=str(700 + 400 * i))
            subscription_create(user=user, product_id=at_maturity.pk, amount="333")
            users.append(user)
    return users


def _credits(day: dt.date) -> dict[tuple[int, str], Decimal]:
    rows = (Posting.objects.filter(entry__kind="accrual", entry__reference=f"accrual:{day.isoformat()}", side="C")
            .values_list("account__owner_id", "account__kind", "amount"))
    found: dict[tuple[int, str], Decimal] = {}
    for owner, kind, amount in rows:
        assert (owner, kind) not in found, f"two credits to {owner}'s {kind} account on {day}"
        found[owner, kind] = amount
    return found


def _shares(day: dt.date) -> dict[tuple[int, str], Decimal]:
    kinds = {"daily": "available", "at_maturity": "accrued", "compound": "earn"}
    found: dict[tuple[int, str], Decimal] = {}
    for owner, payout, posted in Accrual.objects.filter(date=day).values_list("position__user_id", "payout", "posted"):
        if posted:
            found[owner, kinds[payout]] = found.get((owner, kinds[payout]), D(0)) + posted
    return found


def test_one_credit_per_customer_account_and_day_equal_to_the_positions_shares(book):
    with at(2026, 3, 4, 0, 5):
        accrual.accrue_pending()  # 2 and 3 March, chunks of the default size
    for day in (MARCH_2, MARCH_3):
        credits = _credits(day)
        assert credits == _shares(day)  # the per-position detail adds up to each credit, to the unit
        assert len(credits) == 6  # three customers × (available, accrued)
        assert Accrual.objects.filter(date=day).count() == 9  # every position keeps its own row
    # 700 at 10 %, 1 100 at 10 % up to 1 000 and 5 % above, 1 500 likewise: the first customer's day
    assert _credits(MARCH_2)[book[0].pk, "available"] == (D("0.19178082") + D("0.28767123") + D("0.34246575"))
    report = ledger_reconcile()
    assert report.ok, [str(m) for m in report.mismatches]


def test_a_chunk_never_splits_a_customer(book):
    """Chunks of 2 positions: the first customer's four positions still form one chunk, one credit each."""
    with at(2026, 3, 3, 0, 5):
        accrual.accrue_day(MARCH_2, chunk_size=2)
    chunks = list(AccrualChunk.objects.filter(run__date=MARCH_2).order_by("lo"))
    assert all(c.unit == "customer" for c in chunks)
    assert [c.planned for c in chunks] == [4, 2, 3]
    assert [(c.lo, c.hi) for c in chunks] == [(u.pk, u.pk) for u in book]
    assert _credits(MARCH_2) == _shares(MARCH_2) and len(_credits(MARCH_2)) == 6
    assert ledger_reconcile().ok


def test_a_chunk_planned_by_position_ids_is_still_worked_as_planned(book):
    """A day planned by an older release (position-id ranges) finishes with the same amounts."""
    with at(2026, 3, 3, 0, 5):
        run = AccrualRun.objects.create(date=MARCH_2)
        ids = sorted(Accrual._meta.get_field("position").related_model.objects.values_list("id", flat=True))
        AccrualChunk.objects.bulk_create([
            AccrualChunk(run=run, unit="position", lo=ids[0], hi=ids[4], planned=5),
            AccrualChunk(run=run, unit="position", lo=ids[5], hi=ids[-1], planned=len(ids) - 5)])
        AccrualRun.objects.filter(pk=run.pk).update(planned_at=dt.datetime(2026, 3, 3, 0, 5, tzinfo=dt.UTC))
        result = accrual.accrue_day(MARCH_2)
    assert (result.positions, result.chunks) == (9, 2)
    assert AccrualRun.objects.get(pk=run.pk).status == "done"
    total = sum(_shares(MARCH_2).values())
    assert sum(p.amount for p in Posting.objects.filter(entry__kind="accrual", side="C")) == total
    assert ledger_reconcile().ok


def test_reconcile_checks_each_days_credits_against_that_days_rows(book):
    with at(2026, 3, 4, 0, 5):
        accrual.accrue_pending()
    assert ledger_reconcile().ok
    # Move one unit of interest from a position's 3 March row to its 2 March row: every customer's
    # total still agrees with the ledger, but neither day does.
    first = Accrual.objects.filter(date=MARCH_2, posted__gt=0, payout="daily").order_by("id").first()
    later = Accrual.objects.get(position_id=first.position_id, date=MARCH_3)
    Accrual.objects.filter(pk=first.pk).update(posted=first.posted + D("0.00000001"))
    Accrual.objects.filter(pk=later.pk).update(posted=later.posted - D("0.00000001"))
    paid = [str(m) for m in ledger_reconcile().mismatches if m.check == "earn_interest_paid"]
    assert len(paid) == 2 and any("2026-03-02" in m for m in paid) and any("2026-03-03" in m for m in paid)


def test_a_chunk_with_a_compounding_position_pays_its_other_positions_as_any_chunk(assets, fund):
    """A chunk is written in one statement unless it holds an auto-compounding position (its candidates
    are then staged first): both ways give the same positions the same rows, carry and credits."""
    daily = live_product("USDT", "fixed", tiers=[(0, 1000, "0.10"), (1000, None, "0.05")])
    at_maturity = live_product("USDT", "fixed", tiers=[(0, None, "0.08")], payout="at_maturity")
    flexible = live_product("USDT", tiers=[(0, None, "0.10")])
    plain, compounding = UserFactory(country="SG"), UserFactory(country="SG")
    with at(2026, 3, 1, 9):
        for user in (plain, compounding):
            fund(user, "USDT", "10000")
            for product in (daily, at_maturity, flexible):
                acknowledge(user, product)
            for amount in ("700", "1100", "1500"):
                subscription_create(user=user, product_id=daily.pk, amount=amount)
            subscription_create(user=user, product_id=at_maturity.pk, amount="333")
        sub = subscription_create(user=compounding, product_id=flexible.pk, amount="500")
        position_set_auto_compound(user=compounding, position_id=sub.position_id, auto_compound=True)
    with at(2026, 3, 4, 0, 5):
        for day in (MARCH_2, MARCH_3):
            accrual.accrue_day(day, chunk_size=1)  # one chunk per customer
    assert AccrualChunk.objects.filter(run__date=MARCH_2).count() == 2

    def rows(user: Any) -> list[Any]:
        return sorted(Accrual.objects.filter(position__user=user).exclude(position__product=flexible)
                      .values_list("date", "position__product_id", "base", "apr", "exact", "posted", "carry",
                                   "payout", "paid_out"))

    assert len(rows(plain)) == 8 and rows(plain) == rows(compounding)
    assert any(carry for *_, carry, _, _ in rows(plain))  # the second day carried something over
    assert Accrual.objects.get(position_id=sub.position_id, date=MARCH_3).payout == "compound"
    for day in (MARCH_2, MARCH_3):
        credits = _credits(day)
        assert credits == _shares(day)
        assert credits[plain.pk, "available"] == credits[compounding.pk, "available"]
        assert credits[plain.pk, "accrued"] == credits[compounding.pk, "accrued"]
        assert (compounding.pk, "earn") in credits
    assert ledger_reconcile().ok
