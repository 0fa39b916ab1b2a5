"""Accrual rows partitioned by month of `date`: the engine's carry crosses months and partitions, and the
migration converts a populated table in place (both ways)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from earn.models import Accrual
from earn.services import accrual
from earn.services.subscriptions import subscription_create
from ledger.reconcile import ledger_reconcile
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _all(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def at(y, m, d, hh=0, mm=5):
    return time_machine.travel(dt.datetime(y, m, d, hh, mm, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def holder(assets, fund):
    product = live_product("USDT", tiers=[(0, None, "0.10")])
    user = UserFactory(country="SG")
    fund(user, "USDT", "1000")
    acknowledge(user, product)
    with at(2027, 1, 27, 9):
        subscription_create(user=user, product_id=product.pk, amount="999.99")
    for month in (dt.date(2027, 1, 1), dt.date(2027, 2, 1)):
        _all("SELECT partition_month_ensure('earn_accrual'::regclass, %s)", [month])
    return user


def test_the_carry_crosses_from_one_month_partition_to_the_next(holder):
    """28 Jan – 3 Feb: each day's carry is the previous day's, whichever partition holds it."""
    day = dt.date(2027, 1, 28)
    while day <= dt.date(2027, 2, 3):
        with time_machine.travel(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 5), dt.UTC), tick=False):
            accrual.accrue_day(day)
        day += dt.timedelta(days=1)
    rows = list(Accrual.objects.order_by("date").values_list("date", "exact", "posted", "carry"))
    assert len(rows) == 7
    # exact + previous carry = posted + carry, every day, across the month boundary
    for (_, _, _, prev_carry), (_, exact, posted, carry) in itertools.pairwise(rows):
        assert exact + prev_carry == posted + carry
    parts = dict(_all("SELECT tableoid::regclass::text, count(*) FROM earn_accrual GROUP BY 1"))
    assert parts == {"earn_accrual_p2027_01": 4, "earn_accrual_p2027_02": 3}
    assert ledger_reconcile().ok


def test_the_position_and_day_stay_unique(holder):
    with time_machine.travel(dt.datetime(2027, 1, 29, 0, 5, tzinfo=dt.UTC), tick=False):
        accrual.accrue_day(dt.date(2027, 1, 28))
    row = Accrual.objects.get()
    with pytest.raises(IntegrityError, match=r"Key \(position_id, date\)"), transaction.atomic():
        Accrual.objects.create(position_id=row.position_id, date=row.date, base=1, apr=0, exact=0, posted=0,
                               carry=0, payout="daily", paid_out=True)


@pytest.mark.django_db(transaction=True)
def test_conversion_back_and_forth_keeps_the_rows(holder):
    with time_machine.travel(dt.datetime(2027, 1, 29, 0, 5, tzinfo=dt.UTC), tick=False):
        accrual.accrue_day(dt.date(2027, 1, 28))
    before = _all("SELECT id, position_id, date, posted, carry FROM earn_accrual ORDER BY id")
    call_command("migrate", "earn", "0010_venue_exposure", verbosity=0)
    try:
        assert _all("SELECT relkind FROM pg_class WHERE relname = 'earn_accrual'") == [("r",)]
        assert _all("SELECT id, position_id, date, posted, carry FROM earn_accrual ORDER BY id") == before
        position_id = before[0][1]
        _all("INSERT INTO earn_accrual (position_id, date, base, apr, exact, posted, carry, payout, paid_out,"
             " created_at) VALUES (%s, '2024-05-01', 1, 0, 0, 0, 0, 'daily', true, now()) RETURNING id", [position_id])
    finally:  # every app: going back to 0010 also unapplied compliance 0013 (it depends on earn 0012)
        call_command("migrate", verbosity=0)
    assert _all("SELECT relkind FROM pg_class WHERE relname = 'earn_accrual'") == [("p",)]
    assert _all("SELECT to_regclass('earn_accrual_p2024_05') IS NOT NULL") == [(True,)]
    assert _all("SELECT id, position_id, date, posted, carry FROM earn_accrual WHERE date <> '2024-05-01'"
                " ORDER BY id") == before
    created = Accrual.objects.create(position_id=position_id, date=dt.date(2027, 1, 29), base=Decimal(1), apr=0,
                                     exact=0, posted=0, carry=0, payout="daily", paid_out=True)
    assert created.pk > max(row[0] for row in before)


def test_retention_keeps_a_month_whose_positions_are_open(holder, tmp_path):
    """The accrual rows' guard: an open position's month stays (and so does every table's month)."""
    from core.partitions import PartitionError, detach_before

    with time_machine.travel(dt.datetime(2027, 1, 29, 0, 5, tzinfo=dt.UTC), tick=False):
        accrual.accrue_day(dt.date(2027, 1, 28))
    with time_machine.travel(dt.datetime(2036, 1, 1, tzinfo=dt.UTC)), \
            pytest.raises(PartitionError, match=r"earn_accrual_p2027_01: 1 position\(s\) accrued in it are open"):
        detach_before(dt.date(2027, 2, 1), tmp_path)
    assert not list(tmp_path.iterdir())
