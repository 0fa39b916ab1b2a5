from decimal import Decimal

from ledger.models import AccountKind, LedgerAccount


def test_deposit_credits_available(assets, customer, fund):
    """A deposit moves money from the platform's external account to the customer's available."""
    fund(customer, "USDT", "100.5")
    available = LedgerAccount.objects.get(owner=customer, asset_id="USDT", kind=AccountKind.AVAILABLE)
    external = LedgerAccount.objects.get(owner=None, asset_id="USDT", kind=AccountKind.EXTERNAL)
    assert available.balance == Decimal("100.5")
    assert external.balance == Decimal("-100.5")
