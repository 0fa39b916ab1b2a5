"""The outcome simulator in a browser: a pool product's page, the form, the figures (the same after a reload), the
assumptions, in English and Traditional Chinese. Screenshots: test-artifacts/e2e/simulation-*.png."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, shot
from tests.e2e.data import world
from tests.e2e.test_journeys import sign_in
from tests.pools.factories import pool_product
from tests.pools.test_simulation_api import btc_history

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def realistic_pool():
    """The demo's pool: a venue of 180 M USD TVL trading 20 M a day (fee APR ≈ 12 %, reward APR ≈ 10 %)."""
    from earn.models import Product

    pool = pool_product("BTC", "USDT", emission="100000", volume_usd="20000000")
    Product.objects.filter(pk=pool.product_id).update(tvl_usd=180_000_000)
    btc_history(120, end=timezone.now())
    return pool


def test_a_customer_simulates_a_pool_deposit_and_sees_the_same_figures_on_reload(new_page):
    world()
    pool = realistic_pool()
    page = new_page()
    sign_in(page, "alice@hk.example")
    page.goto(f"/products/{pool.product_id}")
    page.fill("#sim-amount", "5000")
    page.fill("#sim-days", "180")
    page.get_by_role("button", name="Simulate").click()
    table = page.locator("#simulation-table")
    expect(table).to_be_visible()
    expect(page.locator("#simulation")).to_contain_text("Chance that fees and rewards outweigh the impermanent loss")
    expect(page.locator(".simulation-assumptions li").first).to_contain_text("geometric Brownian motion")
    first = table.inner_text()
    page.locator("#simulation").screenshot(path=str(ARTIFACTS / "simulation-01-en.png"))
    page.reload()
    assert page.locator("#simulation-table").inner_text() == first
    shot(page, "simulation-02-page")
    assert not page.csp_errors


def test_the_simulation_in_traditional_chinese(new_page):
    world()
    pool = realistic_pool()
    page = new_page("zh-HK")
    sign_in(page, "david@hk.example")
    page.goto(f"/products/{pool.product_id}?sim_amount=5000&sim_days=365#simulation")
    expect(page.locator("#simulation-table")).to_be_visible()
    expect(page.locator("#simulation")).to_contain_text("手續費及獎勵超過無常損失的機會")
    page.locator("#simulation").screenshot(path=str(ARTIFACTS / "simulation-03-zh-hant.png"))
