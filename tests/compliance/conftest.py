"""Compliance fixtures: customers of each jurisdiction, answers, prices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from compliance.models import AssessmentQuestion
from pricing.services import price_record
from tests.factories import UserFactory

# Before any test clock, so the prices are the latest whatever day a test travels to.
PRICED_FROM = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def answers(country: str, kind: str, *, wrong: int = 0) -> dict[str, str]:
    """Correct answers of a jurisdiction's bank for a kind, with the first `wrong` ones answered wrongly (questions
    on key risks last: one of those wrong fails on its own)."""
    out = {}
    bank = AssessmentQuestion.objects.filter(jurisdiction=country, active=True).order_by("key_risk", "position")
    for q in bank:
        if q.product_kinds and kind not in q.product_kinds:
            continue
        wrong_choice = next(c["key"] for c in q.choices if c["key"] != q.answer)
        out[q.key] = wrong_choice if len(out) < wrong else q.answer
    return out


@pytest.fixture
def prices(assets):
    for code, price in {"BTC": "90000", "ETH": "3000", "USDT": "1", "USDC": "1", "HKD": "0.128", "USD": "1"}.items():
        price_record(asset_code=code, price_usd=Decimal(price), source="test", as_of=PRICED_FROM)


@pytest.fixture
def hk_retail(db):
    """An HK customer without a recorded profile (not a professional investor)."""
    return UserFactory(country="HK", display_name="Alice Chan", professional_investor=False)


@pytest.fixture
def gb_customer(db):
    return UserFactory(country="GB", display_name="Bob Smith", email="bob@gb.example")
