"""Ledger fixtures."""

from __future__ import annotations

import pytest

from ledger import reconcile
from ledger import services as ledger
from ledger.models import AccountKind, LedgerAccount


@pytest.fixture
def usdt(assets, customer, fund):
    """A customer holding 100 USDT (funded from the platform's external account)."""
    fund(customer, "USDT", "100")
    return {
        "available": LedgerAccount.objects.get(owner=customer, asset_id="USDT", kind=AccountKind.AVAILABLE),
        "earn": ledger.account_for(owner_id=customer.pk, asset="USDT", kind=AccountKind.EARN),
        "external": LedgerAccount.objects.get(owner=None, asset_id="USDT", kind=AccountKind.EXTERNAL),
    }



@pytest.fixture
def ledger_checks_only():
    """Reconcile with the ledger's own checks: other apps' registered checks are set aside.

    These tests move money between ledger accounts directly (an `earn` balance with no position
    behind it), which is exactly what earn's checks exist to flag.
    """
    saved = reconcile.registered_checks()
    reconcile._checks.clear()
    yield reconcile
    reconcile._checks.clear()
    reconcile._checks.update(saved)
