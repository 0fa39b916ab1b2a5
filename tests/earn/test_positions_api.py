"""Positions API: a customer sees only their own; list queries stay constant; redemption via API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from earn.services import accrual
from earn.services.subscriptions import subscription_create
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def holder(assets, fund):
    product = live_product("USDT", "fixed", term_days=30, early_redemption="forfeit_interest",
                           auto_renew_allowed=True)
    user = UserFactory(country="HK")
    fund(user, "USDT", "10000")
    acknowledge(user, product)
    client = APIClient()
    client.force_authenticate(user)
    return product, user, client


def test_other_customers_objects_are_404(holder):
    product, user, client = holder
    position = subscription_create(user=user, product_id=product.pk, amount="100").position
    intruder = APIClient()
    intruder.force_authenticate(UserFactory(country="HK"))
    base = f"/api/v1/positions/{position.pk}"
    assert intruder.get(base).status_code == 404
    assert intruder.get(f"{base}/accruals").status_code == 404
    assert intruder.patch(base, {"auto_renew": True}, format="json").status_code == 404
    assert intruder.post(f"{base}/redemptions", {"mode": "fast"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="x").status_code == 404
    assert intruder.post(f"{base}/redemptions/preview", {"mode": "fast"}, format="json").status_code == 404
    assert intruder.get("/api/v1/positions").json()["results"] == []
    assert APIClient().get("/api/v1/positions").status_code in (401, 403)


def test_position_list_query_count_is_constant(holder):
    product, user, client = holder

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/positions").status_code == 200
        return len(ctx.captured_queries)

    subscription_create(user=user, product_id=product.pk, amount="100")
    few = count()
    for _ in range(15):
        subscription_create(user=user, product_id=product.pk, amount="100")
    assert count() == few
    assert len(client.get("/api/v1/positions").json()["results"]) == 16


def test_detail_patch_and_early_redemption_through_the_api(holder):
    product, user, client = holder
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=False):
        position = subscription_create(user=user, product_id=product.pk, amount="100").position
        url = f"/api/v1/positions/{position.pk}"
        detail = client.get(url).json()
        assert (detail["principal"], detail["status"], detail["auto_renew"]) == ("100.00000000", "active", False)
        assert client.patch(url, {"auto_renew": True}, format="json").json()["auto_renew"] is True
        preview = client.post(f"{url}/redemptions/preview", {"mode": "fast"}, format="json").json()
        assert (preview["payout"], preview["forfeited"], preview["early"]) == ("100.00000000", "0.00000000", True)
        missing_key = client.post(f"{url}/redemptions", {"mode": "fast"}, format="json")
        assert missing_key.json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"
        done = client.post(f"{url}/redemptions", {"mode": "fast"}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
        assert done.status_code == 201, done.json()
        again = client.post(f"{url}/redemptions", {"mode": "fast"}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
        assert again.json() == done.json()
        assert Decimal(done.json()["payout"]) == Decimal("100")
        closed = client.post(f"{url}/redemptions", {"mode": "fast"}, format="json", HTTP_IDEMPOTENCY_KEY="r2")
        assert (closed.status_code, closed.json()["code"]) == (409, "POSITION_CLOSED")


def test_catalogue_user_left_quota_counts_the_users_principal(assets, fund):
    product = live_product("USDT", per_user_cap="500", total_cap="10000")
    user = UserFactory(country="HK")
    fund(user, "USDT", "1000")
    acknowledge(user, product)
    subscription_create(user=user, product_id=product.pk, amount="200")
    client = APIClient()
    client.force_authenticate(user)
    body = client.get(f"/api/v1/products/{product.pk}").json()
    assert Decimal(body["user_left_quota"]) == Decimal("300")
    assert Decimal(body["left_quota"]) == Decimal("9800")


def _places(text: str) -> int:
    return len(text.partition(".")[2])


def test_redemption_and_accrual_amounts_come_at_the_assets_scale(assets, fund):
    """Redemption amounts and the accrual rows' base/posted at USDT's 8 places (they answered 18 decimals);
    exact and carry stay at the stored 18, since they are sub-unit by design."""
    product = live_product("USDT", tiers=[(0, None, "0.05")])
    user = UserFactory(country="HK")
    fund(user, "USDT", "1000")
    acknowledge(user, product)
    client = APIClient()
    client.force_authenticate(user)
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=False):
        position = subscription_create(user=user, product_id=product.pk, amount="1000").position
    with time_machine.travel(dt.datetime(2026, 3, 3, 0, 5, tzinfo=dt.UTC), tick=False):
        accrual.accrue_pending()
        (row,) = client.get(f"/api/v1/positions/{position.pk}/accruals").json()["results"]
        assert (row["base"], _places(row["posted"])) == ("1000.00000000", 8)
        assert (_places(row["exact"]), _places(row["carry"]), row["apr"]) == (18, 18, "0.05")
        assert Decimal(row["posted"]) + Decimal(row["carry"]) == Decimal(row["exact"])
        done = client.post(f"/api/v1/positions/{position.pk}/redemptions", {"amount": "100.5", "mode": "fast"},
                           format="json", HTTP_IDEMPOTENCY_KEY="scale-1")
        assert done.status_code == 201, done.json()
        body = done.json()
        assert (body["amount"], body["payout"], body["forfeited"]) == ("100.50000000", "100.50000000", "0.00000000")
        preview = client.post(f"/api/v1/positions/{position.pk}/redemptions/preview", {"amount": "1"},
                              format="json").json()
        assert (preview["amount"], preview["payout"]) == ("1.00000000", "1.00000000")


def test_terms_answer_amounts_at_the_assets_scale(assets):
    """Staff terms versions answered caps as "10"; they answer at the asset's scale, like the catalogue."""
    from earn.api.staff_products import TermsOutput

    product = live_product("USDT", "fixed", term_days=30, total_cap="10000")
    terms = product.terms_versions.get()
    body = TermsOutput(terms).data
    assert _places(body["min_amount"]) == 8
    assert body["total_cap"] == "10000.00000000"
    (tier,) = body["tiers"]
    assert _places(tier["lower"]) == 8 and tier["upper"] is None
