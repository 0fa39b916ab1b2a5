"""Concurrent subscriptions against PostgreSQL: exact caps and idempotency under races."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from earn.errors import SubscriptionRefused
from earn.models import Position, Product, Subscription
from earn.services.subscriptions import subscription_create
from ledger.models import AccountKind
from ledger.reconcile import ledger_reconcile
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge, balance, subscribe_api
from tests.factories import UserFactory

D = Decimal
pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(target, count):
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # collected and asserted on below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_fifty_threads_against_a_cap_of_1000(assets, fund):
    product = live_product("USDT", total_cap="1000")
    users = [UserFactory(country="HK") for _ in range(50)]
    for user in users:
        fund(user, "USDT", "100")
        acknowledge(user, product)

    results = run_threads(lambda i: subscription_create(user=users[i], product_id=product.pk, amount="100"), 50)
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 10
    assert all(isinstance(r, SubscriptionRefused) and r.code == "CAP_REACHED" for r in lost), [
        (type(r).__name__, getattr(r, "codes", None), str(r)) for r in lost
        if not (isinstance(r, SubscriptionRefused) and r.code == "CAP_REACHED")]
    product.refresh_from_db()
    assert product.sold_amount == D("1000")
    assert sum(Position.objects.filter(product=product).values_list("principal", flat=True)) == D("1000")
    winners = {s.user_id for s in won}
    for user in users:
        expected = (D(0), D(100)) if user.pk in winners else (D(100), D(0))
        assert (balance(user, "USDT"), balance(user, "USDT", AccountKind.EARN)) == expected
    assert ledger_reconcile().ok


def test_scenario_6_two_concurrent_1500s_against_2000(assets, fund):
    product = live_product("USDT", total_cap="2000")
    users = [UserFactory(country="HK") for _ in range(2)]
    for user in users:
        fund(user, "USDT", "1500")
        acknowledge(user, product)
    results = run_threads(lambda i: subscription_create(user=users[i], product_id=product.pk, amount="1500"), 2)
    assert sorted(type(r).__name__ for r in results) == ["Subscription", "SubscriptionRefused"]
    loser = next(users[i] for i, r in enumerate(results) if isinstance(r, Exception))
    assert balance(loser, "USDT") == D("1500")
    product.refresh_from_db()
    assert product.total_cap - product.sold_amount == D("500")


def test_same_idempotency_key_twice_at_once_makes_one_position(assets, fund):
    product = live_product("USDT", "fixed", term_days=30)
    user = UserFactory(country="HK")
    fund(user, "USDT", "1000")
    acknowledge(user, product)

    def call(_):
        client = APIClient()
        client.force_authenticate(user)
        response = subscribe_api(client, product, "100", "race-key")
        return response.status_code, response.json()

    results = run_threads(call, 2)
    assert [r[0] for r in results] == [201, 201], results
    assert results[0][1] == results[1][1]
    assert Subscription.objects.filter(user=user).count() == 1
    assert balance(user, "USDT") == D("900")
    assert Product.objects.get(pk=product.pk).sold_amount == D("100")


def test_one_customer_subscribing_and_redeeming_at_once_never_deadlocks(assets, fund):
    """Subscriptions lock the position, the accounts and the product row last; redemptions the same way.
    Eight threads of one customer mixing both on one demand product (with a per-user cap) and a second
    customer filling the product's cap: no deadlock, the per-user cap and the total cap hold, books agree."""
    from earn.errors import RedemptionRefused
    from earn.services.redemptions import redemption_create

    product = live_product("USDT", total_cap="3000", per_user_cap="1000")
    alice, bob = UserFactory(country="HK"), UserFactory(country="HK")
    for user in (alice, bob):
        fund(user, "USDT", "5000")
        acknowledge(user, product)
    first = subscription_create(user=alice, product_id=product.pk, amount="100")

    def work(i):
        done = []
        for _ in range(6):
            try:
                if i % 4 == 3:
                    redemption_create(user=alice, position_id=first.position_id, amount="50", mode="fast")
                    done.append("redeemed")
                else:
                    subscription_create(user=alice if i % 2 else bob, product_id=product.pk, amount="150")
                    done.append("subscribed")
            except (SubscriptionRefused, RedemptionRefused) as exc:
                done.append(exc.code)
        return done

    results = run_threads(work, 8)
    assert not [r for r in results if isinstance(r, Exception)], results
    product.refresh_from_db()
    principals = dict(Position.objects.filter(product=product).values_list("user_id", "principal"))
    assert principals[alice.pk] <= D("1000")
    assert product.sold_amount == sum(principals.values()) <= D("3000")
    for user in (alice, bob):
        assert balance(user, "USDT") + balance(user, "USDT", AccountKind.EARN) == D("5000")
    assert ledger_reconcile().ok


def test_per_user_cap_of_a_fixed_term_product_is_exact_under_races(assets, fund):
    """Fixed-term lots are separate rows: the per-customer advisory lock keeps their sum within the cap."""
    product = live_product("USDT", "fixed", term_days=30, per_user_cap="500")
    user = UserFactory(country="HK")
    fund(user, "USDT", "5000")
    acknowledge(user, product)
    results = run_threads(lambda i: subscription_create(user=user, product_id=product.pk, amount="100"), 10)
    won = [r for r in results if not isinstance(r, Exception)]
    assert len(won) == 5
    assert all(isinstance(r, SubscriptionRefused) and r.code == "USER_CAP_REACHED"
               for r in results if isinstance(r, Exception)), results
    assert sum(Position.objects.filter(user=user).values_list("principal", flat=True)) == D("500")
    assert Product.objects.get(pk=product.pk).sold_amount == D("500")
    assert ledger_reconcile().ok
