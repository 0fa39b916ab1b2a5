"""The money paths answer with plain renderers (no ModelSerializer per request): each must answer exactly
what the serializer the API documents answers, for the same object, field by field and in order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from earn.api.launch import CommitmentOutput, render_commitment
from earn.api.positions import (
    RedemptionOutputSerializer,
    SubscriptionCreateApi,
    render_redemption,
    render_subscription,
)
from earn.models import LaunchCommitment, Redemption, Subscription
from earn.services.launch import commitment_create
from earn.services.redemptions import redemption_create
from earn.services.subscriptions import subscription_create
from tests.earn.factories import launch_product, live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _same(rendered: dict, documented: dict) -> None:
    assert list(rendered) == list(documented)
    assert rendered == documented


@pytest.fixture
def customer(assets, fund):
    user = UserFactory(country="SG")
    fund(user, "USDT", "100000")
    fund(user, "BTC", "10")
    return user


@pytest.mark.parametrize("term_type", ["demand", "fixed"])
def test_a_subscription_answers_as_its_serializer(customer, term_type):
    product = live_product("USDT", term_type, min_amount="1")
    acknowledge(customer, product)
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=dt.UTC), tick=False):
        sub = subscription_create(user=customer, product_id=product.pk, amount="100.12345678")
    documented = dict(SubscriptionCreateApi.OutputSerializer(sub).data)
    _same(render_subscription(sub), documented)
    _same(render_subscription(Subscription.objects.get(pk=sub.pk)), documented)  # as reloaded
    assert documented["created_at"] == "2026-03-01T10:00:00.123456Z"


def test_an_asset_with_another_scale(customer):
    product = live_product("BTC", "demand", min_amount="0.0001")
    acknowledge(customer, product)
    sub = subscription_create(user=customer, product_id=product.pk, amount="0.5")
    _same(render_subscription(sub), dict(SubscriptionCreateApi.OutputSerializer(sub).data))


@pytest.mark.parametrize("mode", ["fast", "standard"])
def test_a_redemption_answers_as_its_serializer(customer, mode):
    product = live_product("USDT", "demand", min_amount="1")
    acknowledge(customer, product)
    sub = subscription_create(user=customer, product_id=product.pk, amount="100")
    redemption = redemption_create(user=customer, position_id=sub.position_id, amount="40.5", mode=mode)
    _same(render_redemption(redemption), dict(RedemptionOutputSerializer(redemption).data))
    reloaded = Redemption.objects.get(pk=redemption.pk)
    _same(render_redemption(reloaded), dict(RedemptionOutputSerializer(reloaded).data))
    assert (redemption.settles_at is None) == (mode == "fast")


def test_a_commitment_answers_as_its_serializer(customer):
    product = launch_product("USDT", "fixed", quota="1000", min_lot="1")
    acknowledge(customer, product)
    commitment = commitment_create(user=customer, product_id=product.pk, amount="12.5")
    _same(render_commitment(commitment), dict(CommitmentOutput(commitment).data))
    reloaded = LaunchCommitment.objects.get(pk=commitment.pk)
    _same(render_commitment(reloaded), dict(CommitmentOutput(reloaded).data))
    # Allocated and settled, the nullable fields carry values.
    reloaded.allocated, reloaded.refunded = Decimal("10"), Decimal("2.5")
    reloaded.settled_at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    _same(render_commitment(reloaded), dict(CommitmentOutput(reloaded).data))
