"""A customer never reaches another customer's objects (404) and never a staff page (403)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from earn.services.redemptions import redemption_create
from earn.services.subscriptions import subscription_create
from notifications.models import Notification
from tests.earn.helpers import acknowledge

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_things(alice, usdt_flexible):
    acknowledge(alice, usdt_flexible)
    sub = subscription_create(user=alice, product_id=usdt_flexible.pk, amount="300")
    redemption = redemption_create(user=alice, position_id=sub.position_id, amount="100", mode="fast")
    note = Notification.objects.create(user=alice, kind="action_required", key="k1", subject="s", body="b")
    return {"position": sub.position_id, "redemption": redemption.pk, "notification": note.pk}


def test_every_portal_object_page_of_another_customer_is_404(mallory_client, alices_things):
    p, n = alices_things["position"], alices_things["notification"]
    gets = [f"/positions/{p}", f"/positions/{p}/redeem"]
    posts = [(f"/positions/{p}/auto-renew", {"auto_renew": "on"}),
             (f"/positions/{p}/auto-compound", {"auto_compound": "on"}),
             (f"/positions/{p}/redeem", {"step": "confirm", "mode": "fast", "amount": "1", "idempotency_key": "x"}),
             (f"/inbox/{n}", {})]
    for url in gets:
        assert mallory_client.get(url).status_code == 404, url
    for url, data in posts:
        assert mallory_client.post(url, data).status_code == 404, url


def test_every_api_object_endpoint_of_another_customer_is_404(assets, alices_things):
    from tests.factories import UserFactory

    client = APIClient()
    client.force_authenticate(UserFactory(country="SG"))
    p = alices_things["position"]
    assert client.get(f"/api/v1/positions/{p}").status_code == 404
    assert client.patch(f"/api/v1/positions/{p}", {"auto_renew": True}, format="json").status_code == 404
    assert client.get(f"/api/v1/positions/{p}/accruals").status_code == 404
    assert client.post(f"/api/v1/positions/{p}/redemptions", {"amount": "1"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="k").status_code == 404
    assert client.post(f"/api/v1/positions/{p}/redemptions/preview", {"amount": "1"},
                       format="json").status_code == 404


def _staff_api_paths() -> list[str]:
    """Every route under api/v1/staff/, with 1 for each path parameter."""
    out: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/staff/"):
                path = route
                for converter in ("<int:", "<str:", "<slug:", "<"):
                    while converter in path:
                        start = path.index(converter)
                        path = path[:start] + "1" + path[path.index(">", start) + 1:]
                out.append("/" + path.lstrip("^").rstrip("$"))

    walk(get_resolver().url_patterns, "")
    return sorted(set(out))


def test_every_staff_api_url_is_403_for_a_customer(alice):
    paths = _staff_api_paths()
    assert len(paths) >= 10  # products, lifecycle actions, disclosures, deposits, reports …
    client = APIClient()
    client.force_authenticate(alice)
    for path in paths:
        for method in ("get", "post"):
            status = getattr(client, method)(path, {}, format="json").status_code
            assert status in (403, 405), (method, path, status)
            if status == 405:
                continue
            assert status == 403, (method, path)


def test_admin_console_refuses_customers(alice_client):
    response = alice_client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert alice_client.get("/admin/earn/product/").status_code in (302, 403)
    assert alice_client.get("/admin/earn/product/", follow=True).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client: Client, alices_things):
    for url in ["/dashboard", "/history", "/inbox", f"/positions/{alices_things['position']}", "/account/profile",
                "/account/security", "/account/tokens", "/complaints"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/account/sign-in"), url


def test_every_pool_position_endpoint_of_another_customer_is_404(user_factory, fund, assets):
    from pools.services.deposits import deposit_summary, pool_deposit_submit
    from tests.pools.factories import pool_product, ready_customer

    pool = pool_product("BTC", "USDT")
    owner = ready_customer(user_factory, fund, pool, BTC="1", USDT="100000")
    pool_deposit_submit(user=owner, product_id=pool.product_id, amount="0.1", asset=None, mode="pair",
                        compound_rewards=False, idempotency_key="d1", render=deposit_summary)
    position = owner.pool_positions.get().pk
    client = APIClient()
    client.force_authenticate(user_factory(country="SG"))
    assert client.get(f"/api/v1/pool-positions/{position}").status_code == 404
    assert client.get(f"/api/v1/pool-positions/{position}/history").status_code == 404
    assert client.post(f"/api/v1/pool-positions/{position}/redemptions", {}, format="json",
                       HTTP_IDEMPOTENCY_KEY="w").status_code == 404
    assert client.post(f"/api/v1/pool-positions/{position}/redemptions/preview", {},
                       format="json").status_code == 404
    assert client.get("/api/v1/pool-positions").json()["results"] == []


def test_another_customers_complaint_is_404(alice, usdt_flexible, assets):
    from compliance.services.complaints import complaint_file
    from tests.factories import UserFactory

    complaint = complaint_file(user=alice, subject="s", body="b", product_id=usdt_flexible.pk)
    client = APIClient()
    client.force_authenticate(UserFactory(country="SG"))
    assert client.get(f"/api/v1/compliance/complaints/{complaint.pk}").status_code == 404
    owner = APIClient()
    owner.force_authenticate(alice)
    assert owner.get(f"/api/v1/compliance/complaints/{complaint.pk}").status_code == 200
