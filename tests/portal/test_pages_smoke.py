"""Every portal page renders for a signed-in customer (and the public ones for anyone)."""

from __future__ import annotations

import pytest
from django.test import Client

from earn.services.subscriptions import subscription_create
from tests.earn.helpers import acknowledge


@pytest.mark.django_db
def test_public_pages_render(client: Client, usdt_flexible):
    for url in ["/", f"/products/{usdt_flexible.pk}", "/account/sign-in", "/account/sign-up",
                "/account/password-reset", "/about"]:
        response = client.get(url)
        assert response.status_code == 200, url


@pytest.mark.django_db
def test_customer_pages_render(alice_client, alice, usdt_flexible, usdt_fixed):
    acknowledge(alice, usdt_fixed)
    sub = subscription_create(user=alice, product_id=usdt_fixed.pk, amount="100")
    for url in ["/dashboard", f"/positions/{sub.position_id}", f"/positions/{sub.position_id}/redeem", "/history",
                "/inbox", "/account/profile", "/account/security", "/account/tokens", "/account/password",
                f"/products/{usdt_flexible.pk}/subscribe"]:
        response = alice_client.get(url)
        assert response.status_code == 200, url
