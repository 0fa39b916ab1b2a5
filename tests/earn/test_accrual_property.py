"""Property: whatever customers do between runs, interest adds up exactly and the ledger balances.

Random sequences of subscribe / redeem / switch auto-compound / advance days / run accrual and settle,
each example in its own rolled-back transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ApplicationError
from earn.models import Position
from earn.services import accrual
from earn.services.position_switches import position_set_auto_compound
from earn.services.redemptions import redemption_create
from earn.services.settlement import settle
from earn.services.subscriptions import subscription_create
from ledger.reconcile import ledger_reconcile
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)

amounts = st.integers(min_value=1, max_value=300_000).map(lambda cents: Decimal(cents) / 100)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("subscribe"), st.integers(0, 2), st.sampled_from(["demand", "fixed"]), amounts),
        st.tuples(st.just("redeem"), st.integers(0, 2), st.sampled_from(["all", "half", "cent"]),
                  st.sampled_from(["fast", "standard"])),
        st.tuples(st.just("compound"), st.integers(0, 2), st.booleans()),
        st.tuples(st.just("advance"), st.integers(1, 3), st.integers(0, 23)),
        st.tuples(st.just("run")),
    ),
    min_size=1, max_size=14,
)


def _redeem_amount(position: Position, how: str) -> Decimal:
    return {"all": position.principal, "half": (position.principal / 2).quantize(Decimal("0.01")),
            "cent": Decimal("0.01")}[how]


def _play(steps, fund) -> None:
    products = {"demand": live_product("USDT", tiers=[(0, 1000, "0.05"), (1000, None, "0.03")]),
                "fixed": live_product("USDT", "fixed", term_days=3, tiers=[(0, None, "0.08")], payout="at_maturity",
                                      early_redemption="forfeit_interest")}
    users = [UserFactory(country="SG") for _ in range(3)]
    for user in users:
        fund(user, "USDT", "20000")
        for product in products.values():
            acknowledge(user, product)
    now = START
    for step in steps:
        with time_machine.travel(now, tick=False):
            try:
                if step[0] == "subscribe":
                    subscription_create(user=users[step[1]], product_id=products[step[2]].pk, amount=str(step[3]))
                elif step[0] == "redeem":
                    position = Position.objects.filter(user=users[step[1]], status="active").order_by("id").first()
                    if position is not None:
                        redemption_create(user=users[step[1]], position_id=position.pk,
                                          amount=str(_redeem_amount(position, step[2])), mode=step[3])
                elif step[0] == "compound":
                    position = Position.objects.filter(user=users[step[1]], status="active",
                                                       term_type="demand").first()
                    if position is not None:
                        position_set_auto_compound(user=users[step[1]], position_id=position.pk,
                                                   auto_compound=step[2])
                elif step[0] == "run":
                    accrual.accrue_pending()
                    settle()
            except ApplicationError:
                pass  # a refusal (insufficient balance, early redemption rule …) changes nothing
        if step[0] == "advance":
            now = (now + dt.timedelta(days=step[1])).replace(hour=step[2], minute=1)
    with time_machine.travel(now + dt.timedelta(days=1), tick=False):
        accrual.accrue_pending()
        settle()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(steps=actions)
def test_posted_plus_carry_is_exact_and_the_ledger_balances(assets, fund, steps):
    with transaction.atomic():
        _play(steps, fund)
        with connection.cursor() as cursor:
            cursor.execute("""
                SELECT position_id, sum(posted) + (array_agg(carry ORDER BY date DESC))[1] - sum(exact)
                  FROM earn_accrual GROUP BY position_id""")
            gaps = {pid: gap for pid, gap in cursor.fetchall() if gap != 0}
            cursor.execute("SELECT count(*), count(DISTINCT (position_id, date)) FROM earn_accrual")
            rows, distinct = cursor.fetchone()
        report = ledger_reconcile()
        transaction.set_rollback(True)
    assert gaps == {}
    assert rows == distinct
    assert report.ok, [str(m) for m in report.mismatches]
