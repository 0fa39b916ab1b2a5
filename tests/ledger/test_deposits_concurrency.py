"""Two staff requests with one deposit reference at the same moment credit once and audit once."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from compliance.models import AuditEvent
from ledger.deposits import staff_deposit_credit
from ledger.models import AccountKind, LedgerAccount
from tests.factories import AssetFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_credit_once():
    AssetFactory(code="USDT", scale=8)
    customer = UserFactory(email="c@hk.example")
    staff = UserFactory(email="ops@earn.example", is_staff=True)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def post():
        try:
            barrier.wait()
            results.append(staff_deposit_credit(actor_id=staff.pk, user_id=customer.pk, asset="USDT",
                                                amount=Decimal("5"), reference="race-1"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len({entry.pk for entry, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, False, False, True]
    balance = LedgerAccount.objects.get(owner=customer, asset_id="USDT", kind=AccountKind.AVAILABLE).balance
    assert balance == Decimal("5")
    assert AuditEvent.objects.filter(action="ledger.deposit_credit").count() == 1
