"""Helpers for subscription and position tests."""

from __future__ import annotations

import datetime as dt

import time_machine

from compliance.services.acknowledgements import acknowledgement_create
from ledger.models import AccountKind, LedgerAccount


def acknowledge(user, product, language: str = "en"):
    disclosure = product.disclosures.get(status="current")
    return acknowledgement_create(user=user, product_id=product.pk, disclosure_version=disclosure.version,
                                  statements=[s["key"] for s in disclosure.risk_statements], language=language)


def balance(user, asset: str, kind: str = AccountKind.AVAILABLE):
    account = LedgerAccount.objects.filter(owner=user, asset_id=asset, kind=kind).first()
    return account.balance if account else 0


def subscribe_api(client, product, amount: str, key: str, **extra):
    return client.post("/api/v1/subscriptions", {"product": product.pk, "amount": amount, **extra}, format="json",
                       HTTP_IDEMPOTENCY_KEY=key)


def at(y, m, d, hh=0, mm=0):
    """Travel to that UTC instant, the clock standing still."""
    return time_machine.travel(dt.datetime(y, m, d, hh, mm, tzinfo=dt.UTC), tick=False)


def demand_savers(fund, count: int):
    """`count` customers each holding 1000 USDT in a 10 % demand product, earning from 2 March 2026."""
    from earn.services.subscriptions import subscription_create
    from tests.earn.factories import live_product
    from tests.factories import UserFactory

    product = live_product("USDT", tiers=[(0, None, "0.10")])
    for _ in range(count):
        user = UserFactory(country="SG")
        fund(user, "USDT", "1000")
        acknowledge(user, product)
        with at(2026, 3, 1, 9):
            subscription_create(user=user, product_id=product.pk, amount="1000")
    return product


def cap_filled_meanwhile(monkeypatch, sold: str):
    """Another subscription fills the product's cap between this one's read and its reservation (in the same
    transaction here): the reservation's conditional UPDATE then refuses. Returns the real reservation."""
    from decimal import Decimal

    from earn.models import Product
    from earn.services import subscriptions

    real = subscriptions._reserve_cap

    def late(product_id, amount, **kwargs):
        Product.objects.filter(pk=product_id).update(sold_amount=Decimal(sold))
        return real(product_id, amount, **kwargs)

    monkeypatch.setattr(subscriptions, "_reserve_cap", late)
    return real
