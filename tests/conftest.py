"""Fixtures shared by every test package."""

from __future__ import annotations

import logging
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
    The default product-category rules only for tests marked `category_rules`: elsewhere the products the factories
    make (lending, by the model's default) are offered to everyone, as HK customers are made professional
    investors so that tests about other things meet only the acknowledgement.
    """
    names = request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in names or "live_server" in names or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    elif "db" in names or marker:
        request.getfixturevalue("db")
    else:
        return
    from compliance.models import CategoryRule, JurisdictionRule
    from compliance.services.rules import category_rules_install_defaults, rules_install_defaults

    if not JurisdictionRule.objects.exists():
        rules_install_defaults(categories=False)
    if request.node.get_closest_marker("category_rules") is None:
        CategoryRule.objects.all().delete()
    elif not CategoryRule.objects.exists():
        category_rules_install_defaults()


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


# --- No secret in any log line ------------------------------------------------------------------------------
# Every line the test run logs passes through the same filter and formatter as production's console handler
# and is checked, after each test, against the secrets the run has handed out so far: API token keys,
# passwords set on users, and the secret key. A test whose code logs one fails at teardown, naming the line.

class _LogLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted is logging's own problem, not a leak
            self.lines.append(str(record.msg))


_LOG_LINES = _LogLines()
_HANDED_OUT: set[str] = set()


@pytest.fixture(scope="session", autouse=True)
def _log_lines_captured():
    from django.conf import settings as django_settings
    from django.contrib.auth.base_user import AbstractBaseUser

    from accounts import tokens
    from core.logging import ContextFilter

    _LOG_LINES.addFilter(ContextFilter())
    _LOG_LINES.setFormatter(logging.Formatter("%(levelname)s %(name)s %(request_id)s %(actor)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(_LOG_LINES)
    _HANDED_OUT.add(django_settings.SECRET_KEY)
    set_password, token_secrets = AbstractBaseUser.set_password, tokens.secrets

    def recording_set_password(self, raw_password):
        if raw_password and len(raw_password) >= 8:
            _HANDED_OUT.add(raw_password)
        return set_password(self, raw_password)

    class RecordingSecrets:
        """accounts.tokens draws every key from `secrets.token_urlsafe`: remember each one drawn."""

        def __getattr__(self, name):
            return getattr(token_secrets, name)

        def token_urlsafe(self, nbytes=None):
            key = token_secrets.token_urlsafe(nbytes)
            _HANDED_OUT.add(key)
            return key

    AbstractBaseUser.set_password = recording_set_password
    tokens.secrets = RecordingSecrets()
    yield
    AbstractBaseUser.set_password, tokens.secrets = set_password, token_secrets
    root.removeHandler(_LOG_LINES)


@pytest.fixture(autouse=True)
def _no_secret_logged():
    _LOG_LINES.lines.clear()
    yield
    leaks = [line for line in _LOG_LINES.lines for secret in _HANDED_OUT if secret in line]
    _LOG_LINES.lines.clear()
    if leaks:
        pytest.fail(f"a secret reached the log: {leaks[0][:300]}")
