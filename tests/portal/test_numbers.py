"""Issue 19 items 10 and 11: numbers people read, positions with APR and earnings, a USD total, the subscribe
form's Max button and live estimate, "up to" on tiered rates, units on tier bounds, the inbox's unread count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from earn.models import Accrual
from earn.services.subscriptions import subscription_create
from portal.templatetags.portal_tags import amount, exact
from pricing.services import price_record
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge

pytestmark = pytest.mark.django_db


def test_amounts_read_with_separators_at_display_precision_and_the_full_amount_on_hover():
    assert amount(Decimal("1234567.891"), "USDT") == '<span class="amt" title="1234567.891">1,234,567.89</span>'
    assert amount(Decimal("0.12345678"), "BTC") == '<span class="amt" title="0.12345678">0.123456</span>'
    assert amount(Decimal("5"), "XYZ") == '<span class="amt" title="5">5.00000000</span>'
    assert exact(Decimal("1000000.00000000")) == "1,000,000" and exact(Decimal("0.00000001")) == "0.00000001"


def test_dashboard_shows_apr_yesterday_and_earned_per_position_and_a_usd_total(alice_client, alice, assets):
    product = live_product("USDT", "demand", name_en="USDT Flexible", tiers=[(0, 1000, "0.06"), (1000, None, "0.03")])
    price_record(asset_code="USDT", price_usd="1", as_of=timezone.now() - dt.timedelta(minutes=5))
    acknowledge(alice, product)
    position = subscription_create(user=alice, product_id=product.pk, amount="2000").position
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    Accrual.objects.create(position=position, date=yesterday, base=Decimal(2000), apr=Decimal("0.045"),
                           exact=Decimal("0.24657534"), posted=Decimal("0.24657534"), carry=0, payout="daily",
                           paid_out=True)
    html = alice_client.get("/dashboard").content.decode()
    assert "4.5%" in html  # 1000 at 6 % and 1000 at 3 %: 4.5 % on 2000
    assert '+<span class="amt" title="0.24657534">0.24</span>' in html  # yesterday's interest
    assert "Earned so far" in html
    assert "Portfolio value" in html and "5,000.00" in html  # 3000 available + 2000 in Earn at 1 USD
    assert "At prices of" in html and "UTC" in html
    assert 'class="stack"' in html and 'data-label="Principal"' in html


def test_tiered_rates_read_up_to_and_tier_bounds_carry_units(client, assets):
    product = live_product("USDT", "demand", name_en="Tiered", tiers=[(0, 1000, "0.06"), (1000, None, "0.03")])
    home = client.get("/").content.decode()
    assert "<small>up to</small> 6%" in home
    page = client.get(f"/products/{product.pk}").content.decode()
    assert "up to 6%" in page and "1,000 USDT" in page


def test_subscribe_form_has_a_max_button_and_the_estimate_inputs(alice_client, alice, assets):
    product = live_product("USDT", "fixed", name_en="USDT 30", term_days=30, tiers=[(0, None, "0.08")],
                           max_amount="3000")
    acknowledge(alice, product)
    html = alice_client.get(f"/products/{product.pk}/subscribe").content.decode()
    assert 'data-max="3000.00000000"' in html  # the product's maximum, below her 5000 available
    assert "data-estimate" in html and 'data-days="30"' in html and "0.08" in html
    assert "portal/subscribe.js" in html and "<script>" not in html  # same-origin script only (CSP)


def test_inbox_shows_the_unread_count(alice_client, alice, assets, django_capture_on_commit_callbacks):
    product = live_product("USDT", "demand")
    acknowledge(alice, product)
    with django_capture_on_commit_callbacks(execute=True):
        subscription_create(user=alice, product_id=product.pk, amount="10")
    html = alice_client.get("/inbox").content.decode()
    assert "1 unread message" in html
