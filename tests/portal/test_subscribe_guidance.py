"""Issue 19 items 1, 3 and 4: the pool preview shows both legs; blocked customers are refused at the first step
and logged once a day; product pages show next steps as guidance, never raw codes."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError
from django.utils import timezone

from compliance.models import Refusal
from compliance.services.customers import earn_first_view_record
from pools.services.deposits import deposit_summary, pool_deposit_submit
from tests.e2e.data import install_rules
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory
from tests.pools.factories import pool_product, ready_customer

pytestmark = pytest.mark.django_db


def _seeded_pool(user_factory, fund):
    pool = pool_product("BTC", "USDT")
    seeder = ready_customer(user_factory, fund, pool, BTC="10", USDT="1000000")
    pool_deposit_submit(user=seeder, product_id=pool.product_id, amount="2", asset=None, mode="pair",
                        compound_rewards=False, idempotency_key="seed", render=deposit_summary)
    return pool


def test_pool_preview_shows_both_legs_the_share_the_fee_and_the_income(user_factory, fund, client, assets):
    pool = _seeded_pool(user_factory, fund)
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="100000")
    client.force_login(user)
    form = client.get(f"/products/{pool.product_id}/subscribe").content.decode()
    assert "matching amount of USDT" in form
    html = client.post(f"/products/{pool.product_id}/subscribe", {"step": "preview", "amount": "0.5"}).content.decode()
    assert "0.50000000 BTC" in html and "30000.00000000 USDT" in html  # both legs, at the pool's 60000 ratio
    assert "Your share of the pool" in html and "20%" in html  # 0.5 more on 2: a fifth of the pool after
    assert "None: nothing is swapped" in html and "0.3%" in html
    assert "Estimated income per day" in html
    assert "APR</dt><dd>0%" not in html and "<strong>0%</strong>" not in html
    assert "Confirm: deposit 0.50000000 BTC and 30000.00000000 USDT" in html


def test_pool_shortfall_names_the_short_asset(user_factory, fund, client, assets):
    pool = _seeded_pool(user_factory, fund)
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="100")
    client.force_login(user)
    html = client.post(f"/products/{pool.product_id}/subscribe", {"step": "preview", "amount": "0.5"}).content.decode()
    assert "Not enough USDT: this takes 30000.00000000 USDT and 100.00000000 USDT is available." in html
    assert "Deposit 29900.00000000 USDT more" in html
    assert "Not enough BTC" not in html and 'value="confirm"' not in html


def test_restricted_customer_is_refused_at_the_first_step_and_logged_once_a_day(client, assets, fund):
    product = live_product("USDT", "demand", name_en="USDT Flexible")
    carol = UserFactory(country="US")
    fund(carol, "USDT", "1000")
    client.force_login(carol)
    url = f"/products/{product.pk}/subscribe"
    first = client.get(url).content.decode()
    assert "Earn products are not available in your country of residence." in first
    assert "What to do next:" in first
    assert 'name="statements"' not in first and 'name="amount"' not in first  # no walk through the steps
    client.post(url, {"step": "preview", "amount": "100"})
    client.post(url, {"step": "confirm", "amount": "100", "idempotency_key": "k"})
    rows = list(Refusal.objects.filter(user=carol))
    assert [(r.reason, r.codes, r.product_id) for r in rows] == [
        ("JURISDICTION_RESTRICTED", ["JURISDICTION_RESTRICTED"], product.pk)]
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        client.force_login(carol)
        client.post(url, {"step": "preview", "amount": "100"})
    assert Refusal.objects.filter(user=carol).count() == 2


def test_the_database_keeps_a_blocked_attempt_once_per_day(assets):
    product = live_product("USDT", "demand")
    user = UserFactory(country="US")
    day = timezone.now().date()
    Refusal.objects.create(user=user, product=product, codes=["COOLING_OFF"], reason="COOLING_OFF", day=day)
    with pytest.raises(IntegrityError):
        Refusal.objects.create(user=user, product=product, codes=["COOLING_OFF"], reason="COOLING_OFF", day=day)


def test_cooling_off_customer_is_told_the_exact_time_and_refused_at_the_first_step(client, assets):
    install_rules()
    product = live_product("USDT", "demand", name_en="USDT Flexible")
    bob = UserFactory(country="GB")
    seen = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    with time_machine.travel(seen, tick=False):
        earn_first_view_record(bob)
    with time_machine.travel(seen + dt.timedelta(hours=2), tick=False):
        client.force_login(bob)
        page = client.get(f"/products/{product.pk}").content.decode()
        assert "You can subscribe from 2026-03-02 09:30 UTC." in page
        subscribe = client.get(f"/products/{product.pk}/subscribe").content.decode()
        assert "You can subscribe from 2026-03-02 09:30 UTC." in subscribe and 'name="statements"' not in subscribe
    assert Refusal.objects.get(user=bob).reason == "COOLING_OFF"


def test_product_page_shows_next_steps_as_guidance_without_codes(client, assets):
    install_rules()
    product = live_product("USDT", "fixed", name_en="USDT 30", term_days=30, risk_rating=3)
    alice = UserFactory(country="HK", professional_investor=False)
    client.force_login(alice)
    html = client.get(f"/products/{product.pk}").content.decode()
    assert 'class="refusal"' not in html and 'role="alert"' not in html
    assert "Before you subscribe" in html and "Please read and acknowledge" in html
    for code in ("NO_ACK", "ASSESSMENT_REQUIRED", "EXPOSURE_LIMIT", "data-code"):
        assert code not in html
    assert not Refusal.objects.exists()  # steps are not refusals


def test_exposure_limit_at_preview_is_logged_once(client, assets, fund):
    install_rules()
    product = live_product("USDT", "demand", name_en="USDT Flexible", risk_rating=1)
    alice = UserFactory(country="HK", professional_investor=False)
    fund(alice, "USDT", "1000")
    acknowledge(alice, product)
    client.force_login(alice)
    for _ in range(2):
        html = client.post(f"/products/{product.pk}/subscribe", {"step": "preview", "amount": "10"}).content.decode()
        assert "beyond your limit" in html
    assert list(Refusal.objects.filter(user=alice).values_list("reason", flat=True)) == ["EXPOSURE_LIMIT"]
