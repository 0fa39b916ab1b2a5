"""Pages cost a constant number of queries however many positions, products or messages there are."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from earn.services.subscriptions import subscription_create
from notifications.models import Notification
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def _subscribe_many(user, product, n: int, start: int = 0) -> None:
    for i in range(n):
        subscription_create(user=user, product_id=product.pk, amount=str(10 + start + i))


@pytest.mark.parametrize("url", ["/dashboard", "/history", "/inbox"])
def test_dashboard_history_inbox_constant_as_positions_grow(alice_client, alice, usdt_fixed, url):
    acknowledge(alice, usdt_fixed)
    _subscribe_many(alice, usdt_fixed, 1)
    Notification.objects.create(user=alice, kind="action_required", key="first", subject="s", body="b")
    _queries(alice_client, url)  # warm caches (content types, sessions)
    few = _queries(alice_client, url)
    _subscribe_many(alice, usdt_fixed, 6, start=1)
    Notification.objects.bulk_create([Notification(user=alice, kind="action_required", key=f"n{i}", subject="s",
                                                    body="b") for i in range(6)])
    many = _queries(alice_client, url)
    assert many == few, (url, few, many)


def test_home_constant_as_products_grow(alice_client, assets):
    live_product("USDT", "demand")
    _queries(alice_client, "/")
    few = _queries(alice_client, "/")
    for _ in range(5):
        live_product("USDT", "fixed")
    assert _queries(alice_client, "/") == few
