"""Two subscriptions at once to different products cannot both fit under one customer's exposure limit."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from compliance.services.customers import risk_profile_record
from earn import errors
from earn.models import Subscription
from earn.services.subscriptions import subscription_create
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_subscriptions_share_the_limit(prices, fund):
    user = UserFactory(country="HK", professional_investor=False)
    risk_profile_record(actor=None, user=user, risk_profile="conservative", net_worth_usd="10000")  # 1 000 USD
    products = [live_product("USDT", "demand"), live_product("USDT", "fixed")]
    for product in products:
        acknowledge(user, product)
    fund(user, "USDT", "5000")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def subscribe(product_id: int) -> None:
        try:
            barrier.wait()
            subscription_create(user=user, product_id=product_id, amount="600")
            outcomes.append("ok")
        except errors.SubscriptionRefused as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=subscribe, args=(p.pk,)) for p in products]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["EXPOSURE_LIMIT", "ok"]
    assert Subscription.objects.filter(user=user).count() == 1
