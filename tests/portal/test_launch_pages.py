"""The portal's launch card: how allocation works, committing, then the allocation and refund (en + zh-Hant)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from earn.models import LaunchCommitment
from earn.services.launch import launch_allocate
from ledger.services import deposit_credit
from tests.earn.factories import launch_product
from tests.earn.helpers import acknowledge, balance
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(assets):
    product = launch_product("USDT", quota="100", min_lot="1", name_en="NEW Launch", name_zh_hant="NEW 新幣發行")
    alice = UserFactory(country="SG")
    deposit_credit(user_id=alice.pk, asset="USDT", amount=Decimal("1000"), reference="portal-launch")
    acknowledge(alice, product)
    client = Client()
    client.force_login(alice)
    return product, alice, client


def test_commit_then_see_allocation_and_refund(setup):
    product, alice, client = setup
    page = client.get(f"/products/{product.pk}").content.decode()
    assert "How allocation works" in page and "in proportion to what they committed" in page
    assert "Open for commitments" in page and f'action="/products/{product.pk}/commit"' in page
    assert f"/products/{product.pk}/subscribe" not in page  # a launch takes commitments only
    response = client.post(f"/products/{product.pk}/commit", {"amount": "300", "idempotency_key": uuid.uuid4().hex})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Committed: 300 USDT" in page and "Your commitments" in page and "300 USDT" in page
    assert balance(alice, "USDT") == 700
    dashboard = client.get("/dashboard").content.decode()
    assert "Committed to launches" in dashboard and 'title="300">300.00<' in dashboard
    with time_machine.travel(product.launch_window_end + dt.timedelta(minutes=1), tick=False):
        launch_allocate(product.pk)
        client.force_login(alice)  # the session of a day ago has expired
        page = client.get(f"/products/{product.pk}").content.decode()
    assert "You were allocated 100 USDT; 200 USDT returned to your available balance." in page
    assert "Allocated" in page and balance(alice, "USDT") == 900
    with time_machine.travel(product.launch_window_end + dt.timedelta(minutes=2), tick=False):
        client.force_login(alice)
        assert "Committed to launches" not in client.get("/dashboard").content.decode()  # nothing committed now


def test_refusals_are_messages_and_move_nothing(setup):
    product, alice, client = setup
    response = client.post(f"/products/{product.pk}/commit", {"amount": "5000"}, follow=True)
    assert "Your available balance is too low" in response.content.decode()
    response = client.post(f"/products/{product.pk}/commit", {"amount": ""}, follow=True)
    assert "Enter the amount to commit." in response.content.decode()
    assert not LaunchCommitment.objects.exists() and balance(alice, "USDT") == 1000


def test_launch_card_in_traditional_chinese(setup):
    product, _alice, client = setup
    client.cookies["django_language"] = "zh-hant"
    client.post(f"/products/{product.pk}/commit", {"amount": "10"})
    page = client.get(f"/products/{product.pk}").content.decode()
    assert "分配方式說明" in page and "按其承諾金額的比例" in page and "接受承諾中" in page and "您的承諾" in page
    fcfs = launch_product("USDT", method="fcfs", name_en="FCFS", name_zh_hant="先到")
    page = client.get(f"/products/{fcfs.pk}").content.decode()
    assert "先到先得" in page and "按收到的先後次序" in page


def test_signed_out_visitors_see_how_allocation_works_but_no_form(setup):
    product, _alice, _client = setup
    page = Client().get(f"/products/{product.pk}").content.decode()
    assert "How allocation works" in page and "commit-form" not in page
