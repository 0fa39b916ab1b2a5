"""Two funded customers with positions, an operations user, live products: targets for bad input."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from accounts import roles
from ledger.services import deposit_credit
from pricing.services import price_record
from tests.earn.factories import live_product, staff_user
from tests.earn.helpers import acknowledge, subscribe_api
from tests.factories import AssetFactory, OtpClient, UserFactory


@pytest.fixture
def market(db):
    for code, scale in (("USDT", 8), ("BTC", 8), ("HKD", 2)):
        AssetFactory(code=code, scale=scale)
    # SG: a jurisdiction with no extra rules, so only the input is under test.
    alice = UserFactory(email="alice@bad-input.example", country="SG")
    mallory = UserFactory(email="mallory@bad-input.example", country="SG")
    ops = staff_user(roles.OPERATIONS, email="ops@bad-input.example")
    demand = live_product("USDT", "demand", total_cap="1000000", min_amount="1")
    hkd = live_product("HKD", "demand", min_amount="0.01")
    clients = {}
    positions = {}
    for user in (alice, mallory):
        deposit_credit(user_id=user.pk, asset="USDT", amount=1000, reference=f"bad-input-{user.pk}")
        acknowledge(user, demand)
        client = APIClient()
        client.force_authenticate(user)
        clients[user.email.split("@")[0]] = client
        answer = subscribe_api(client, demand, "100", key=f"setup-{user.pk}")
        assert answer.status_code == 201, answer.content
        positions[user.email.split("@")[0]] = answer.json()["position"]
    ops_client = OtpClient(ops)  # staff money moves carry a fresh one-time code
    for code in ("USDT", "BTC", "HKD"):  # staff deposits are valued in USD (four eyes above a threshold)
        price_record(asset_code=code, price_usd=Decimal("1"), source="test")
    return SimpleNamespace(alice=alice, mallory=mallory, ops=ops, demand=demand, hkd=hkd, client=clients["alice"],
                           mallory_client=clients["mallory"], ops_client=ops_client,
                           alice_position=positions["alice"], mallory_position=positions["mallory"])


def assert_refused(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    """A clear 4xx: the status, the error body with a machine code, and (if given) the code and field."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) >= {"code", "detail", "field"}, body
    assert body["code"] and body["code"] == body["code"].upper(), body
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert body["field"] == field, body
    return body
