"""A money request locks a fixed number of relations, however many months the partitioned tables keep.

A statement that PostgreSQL cannot prune at plan time locks every partition of the table and each of their
indexes; with many concurrent subscriptions and a few years of months that runs the lock table out of shared
memory ("out of shared memory, increase max_locks_per_transaction"). The ledger's posting checks and the
gate's latest acknowledgement must therefore touch one month per table: adding months adds no lock.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from core.partitions import ensure_partitions
from earn.services.redemptions import redemption_create
from earn.services.subscriptions import subscription_create
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory

# Outside a wrapping transaction: the locks counted are the request's own, not the fixtures'.
pytestmark = pytest.mark.django_db(transaction=True)


def _relation_locks() -> dict[str, int]:
    """The relations this transaction holds a lock on, counted per partitioned parent (or the table itself),
    with the deferred checks (the balanced-entry trigger, foreign keys) run now as they would at commit."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("""
            SELECT coalesce(parent.relname, c.relname), count(DISTINCT l.relation)
              FROM pg_locks l
              JOIN pg_class c ON c.oid = l.relation
              LEFT JOIN pg_index i ON i.indexrelid = c.oid
              LEFT JOIN pg_inherits h ON h.inhrelid = coalesce(i.indrelid, c.oid)
              LEFT JOIN pg_class parent ON parent.oid = h.inhparent
             WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND c.relnamespace <> 'pg_catalog'::regnamespace
             GROUP BY 1""")
        return dict(cursor.fetchall())


@pytest.fixture
def three_more_years():
    """Three years of future months on every partitioned table, dropped again afterwards (DDL outlives the
    test's flush)."""
    created = ensure_partitions(months_ahead=36)
    yield created
    with connection.cursor() as cursor:
        for name in reversed(created):
            cursor.execute(f'DROP TABLE "{name}"')


def _footprint(fund) -> tuple[dict[str, int], dict[str, int]]:
    product = live_product("USDT", tiers=[(0, None, "0.05")])
    user = UserFactory(country="SG")
    fund(user, "USDT", "100")
    acknowledge(user, product)
    with transaction.atomic():
        subscription = subscription_create(user=user, product_id=product.pk, amount="100")
        subscribed = _relation_locks()
    with transaction.atomic():
        redemption_create(user=user, position_id=subscription.position_id, amount="40", mode="fast")
        redeemed = _relation_locks()
    return subscribed, redeemed


def test_a_subscription_and_a_redemption_lock_no_more_relations_with_more_months(fund, request):
    few = _footprint(fund)
    assert len(request.getfixturevalue("three_more_years")) >= 30 * 5
    many = _footprint(fund)
    for before, after in zip(few, many, strict=True):
        grown = {table: (before.get(table, 0), n) for table, n in after.items() if n > before.get(table, 0)}
        assert not grown, grown
    for locks in many:
        assert sum(locks.values()) <= 130, locks  # 118 and 93 relations (tables and their indexes) now


def _deposit_footprint(user_factory, fund) -> dict[str, int]:
    from pools.services.deposits import pool_deposit_create
    from tests.pools.factories import pool_product, ready_customer

    pool = pool_product()
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    with transaction.atomic():
        pool_deposit_create(user=user, product_id=pool.product_id, amount="1")
        return _relation_locks()


def test_a_pool_deposit_locks_no_more_relations_with_more_months(user_factory, fund, request):
    """The pools app finds the acknowledgement it records through the key table too."""
    few = _deposit_footprint(user_factory, fund)
    request.getfixturevalue("three_more_years")
    many = _deposit_footprint(user_factory, fund)
    assert not {table: (few.get(table, 0), n) for table, n in many.items() if n > few.get(table, 0)}
