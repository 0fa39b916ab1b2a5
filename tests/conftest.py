"""Fixtures shared by every test package."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from ledger import services as ledger
from tests.factories import AssetFactory, UserFactory

STANDARD_ASSETS = [("BTC", "Bitcoin", 8), ("ETH", "Ether", 8), ("USDT", "Tether USD", 8),
                   ("USDC", "USD Coin", 8), ("HKD", "Hong Kong dollar", 2), ("USD", "US dollar", 2)]


@pytest.fixture(autouse=True)
def _compliance_defaults(request):
    """The default jurisdiction rules and question banks, as `migrate` installs them.

    Transactional tests truncate every table, so they are put back before each test that uses the database.
    """
    names = request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in names or "live_server" in names or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    elif "db" in names or marker:
        request.getfixturevalue("db")
    else:
        return
    from compliance.models import JurisdictionRule
    from compliance.services.rules import rules_install_defaults

    if not JurisdictionRule.objects.exists():
        rules_install_defaults()


@pytest.fixture
def assets(db):
    return {code: AssetFactory(code=code, name=name, scale=scale) for code, name, scale in STANDARD_ASSETS}


USD_PRICES = {"BTC": "90000", "ETH": "3000", "USDT": "1", "USDC": "1", "HKD": "0.128", "USD": "1"}


@pytest.fixture
def usd_prices(assets):
    """USD prices for the standard assets (staff deposits are valued in USD for the four-eyes threshold)."""
    import datetime as dt

    from pricing.services import price_record

    for code, price in USD_PRICES.items():
        price_record(asset_code=code, price_usd=Decimal(price), source="test",
                     as_of=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    return USD_PRICES


@pytest.fixture
def user_factory(db):
    return UserFactory


@pytest.fixture
def customer(db):
    return UserFactory(email="alice@hk.example", country="HK", display_name="Alice")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def customer_client(customer):
    client = APIClient()
    client.force_authenticate(customer)
    return client


@pytest.fixture
def fund():
    """Credit a user's available balance through the ledger: fund(user, "USDT", "1000")."""
    counter = {"n": 0}

    def _fund(user, asset: str, amount: str | Decimal):
        counter["n"] += 1
        return ledger.deposit_credit(user_id=user.pk, asset=asset, amount=Decimal(str(amount)),
                                     reference=f"test-fund-{user.pk}-{asset}-{counter['n']}")

    return _fund
