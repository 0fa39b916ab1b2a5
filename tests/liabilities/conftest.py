"""The book every proof-of-liabilities test starts from."""

from __future__ import annotations

import pytest

from earn.services import accrual
from earn.services.subscriptions import subscription_create
from liabilities import merkle
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory
from tests.liabilities.helpers import at, owed


@pytest.fixture
def book(assets, fund, monkeypatch):
    """Customers with USDT and BTC, one earning interest; snapshot day DAY; more money moves the day after."""
    monkeypatch.setattr(merkle, "BLOCK", 2)  # blocks of two leaves: the stored upper nodes are exercised
    product = live_product("USDT", tiers=[(0, None, "0.05")])
    saver = UserFactory(country="HK")
    others = [UserFactory(country="HK") for _ in range(6)]
    with at(2026, 3, 1, 9):
        fund(saver, "USDT", "1000")
        fund(saver, "BTC", "0.5")
        for i, user in enumerate(others):
            fund(user, "USDT", f"{10 * (i + 1)}.25")
        fund(others[0], "BTC", "0.00000001")
        acknowledge(saver, product)
        subscription_create(user=saver, product_id=product.pk, amount="600")
    with at(2026, 3, 3, 23, 59):
        accrual.accrue_pending()  # through the 2nd; the 3rd's interest comes after midnight
    with at(2026, 3, 4, 0, 10):
        accrual.accrue_pending()
        expected = owed()  # the end of the 3rd, with its interest
    late = UserFactory(country="HK")
    with at(2026, 3, 4, 1):
        fund(others[1], "USDT", "100")  # after the end of the day: not in its snapshot
        fund(late, "BTC", "1")
    return {"saver": saver, "others": others, "late": late, "expected": expected, "product": product}
