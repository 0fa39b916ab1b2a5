"""Helpers for subscription and position tests."""

from __future__ import annotations

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
