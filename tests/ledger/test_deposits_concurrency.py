"""Four operators send one deposit reference at the same moment: it is credited once and audited once."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from accounts.roles import OPERATIONS
from core.models import AuditEvent
from ledger.deposits import staff_deposit_create
from ledger.models import AccountKind, LedgerAccount
from pricing.services import price_record
from tests.factories import AssetFactory, UserFactory, totp_code


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_credit_once():
    AssetFactory(code="USDT", scale=8)
    price_record(asset_code="USDT", price_usd=Decimal("1"), source="test")
    customer = UserFactory(email="c@hk.example")
    group = Group.objects.get_or_create(name=OPERATIONS)[0]
    operators = [UserFactory(email=f"ops{n}@earn.example", is_staff=True) for n in range(4)]
    for operator in operators:
        operator.groups.add(group)
    codes = {operator.pk: totp_code(operator) for operator in operators}
    barrier = threading.Barrier(4)
    results, errors = [], []

    def post(operator):
        try:
            barrier.wait()
            results.append(staff_deposit_create(actor=operator, user_id=customer.pk, asset="USDT",
                                                amount=Decimal("5"), reference="race-1", otp=codes[operator.pk]))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(operator,)) for operator in operators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len({outcome.entry.pk for outcome in results}) == 1
    assert sorted(outcome.created for outcome in results) == [False, False, False, True]
    balance = LedgerAccount.objects.get(owner=customer, asset_id="USDT", kind=AccountKind.AVAILABLE).balance
    assert balance == Decimal("5")
    assert AuditEvent.objects.filter(action="ledger.deposit_credit").count() == 1
