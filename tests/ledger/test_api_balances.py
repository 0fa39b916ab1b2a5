"""GET /api/v1/assets and /api/v1/balances."""

from __future__ import annotations

from decimal import Decimal

from rest_framework.test import APIClient

from ledger import services as ledger
from ledger.models import AccountKind, EntryKind


def test_assets_list_codes_names_and_scale(customer_client, assets, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = customer_client.get("/api/v1/assets")
    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()}
    assert rows["BTC"] == {"code": "BTC", "name": "Bitcoin", "scale": 8}
    assert rows["HKD"]["scale"] == 2
    assert list(rows) == sorted(rows)


def test_assets_need_authentication(api_client, assets):
    response = api_client.get("/api/v1/assets")
    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"


def test_balances_per_asset_as_decimal_strings_at_scale(customer, customer_client, assets, fund):
    """Each asset the user holds, with available / earn / accrued / pending / committed at the asset's scale."""
    fund(customer, "USDT", "1000")
    fund(customer, "HKD", "12.5")
    earn = ledger.account_for(owner_id=customer.pk, asset="USDT", kind=AccountKind.EARN)
    available = ledger.account_for(owner_id=customer.pk, asset="USDT", kind=AccountKind.AVAILABLE)
    ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="t-sub-1", debit=available, credit=earn,
                    amount=Decimal("400"))
    response = customer_client.get("/api/v1/balances")
    assert response.status_code == 200
    assert response.json() == [
        {"asset": "HKD", "available": "12.50", "earn": "0.00", "accrued": "0.00", "pending": "0.00",
         "committed": "0.00"},
        {"asset": "USDT", "available": "600.00000000", "earn": "400.00000000", "accrued": "0.00000000",
         "pending": "0.00000000", "committed": "0.00000000"},
    ]


def test_balances_show_only_the_callers_accounts(customer_client, assets, fund, user_factory):
    bob = user_factory(email="bob@gb.example", country="GB")
    fund(bob, "BTC", "2")
    assert customer_client.get("/api/v1/balances").json() == []


def test_balances_take_one_query_however_many_assets(customer, customer_client, assets, fund,
                                                     django_assert_num_queries):
    fund(customer, "USDT", "1")
    with django_assert_num_queries(1):
        customer_client.get("/api/v1/balances")
    for code in ("BTC", "ETH", "USDC", "HKD", "USD"):
        fund(customer, code, "1")
    with django_assert_num_queries(1):
        response = customer_client.get("/api/v1/balances")
    assert len(response.json()) == 6


def test_balances_with_a_token(customer, assets, fund, django_assert_num_queries):
    """With token authentication a request is two queries: the token (with its user) and the balances.

    The token's first use in a minute adds one UPDATE of last_used_at; later requests write nothing.
    """
    from accounts.tokens import api_token_create

    fund(customer, "USDT", "5")
    _token, key = api_token_create(user=customer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with django_assert_num_queries(3):
        client.get("/api/v1/balances")
    with django_assert_num_queries(2):
        response = client.get("/api/v1/balances")
    assert response.json()[0]["available"] == "5.00000000"
