"""Portal fixtures: a funded customer signed in through Django's test client, and live products."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.earn.factories import live_product
from tests.factories import UserFactory


@pytest.fixture
def usdt_flexible(assets):
    return live_product("USDT", "demand", name_en="USDT Flexible", name_zh_hant="USDT 活期", total_cap="100000")


@pytest.fixture
def usdt_fixed(assets):
    return live_product("USDT", "fixed", name_en="USDT 30 days", name_zh_hant="USDT 30 日", term_days=30,
                        early_redemption="forfeit_interest", auto_renew_allowed=True)


@pytest.fixture
def alice(assets, fund):
    user = UserFactory(email="alice@sg.example", country="SG", display_name="Alice Tan")
    fund(user, "USDT", "5000")
    return user


@pytest.fixture
def alice_client(alice):
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def mallory_client(assets):
    client = Client()
    client.force_login(UserFactory(email="mallory@sg.example", country="SG"))
    return client
