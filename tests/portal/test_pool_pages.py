"""Pool products in the portal: the impermanent-loss chart and table on the product page."""

from __future__ import annotations

import pytest

from tests.pools.factories import pool_product

pytestmark = pytest.mark.django_db


def test_pool_product_page_shows_the_il_chart_personalised_for_an_amount(client, assets):
    pool = pool_product("BTC", "USDT")
    html = client.get(f"/products/{pool.product_id}?amount_usd=2000").content.decode()
    assert "Impermanent loss" in html and "<svg" in html and "<polyline" in html
    assert "BTC/USDT" in html and "on 2000" in html
    assert "<td class=\"num\">-5.72 %</td>" in html  # r = 2, SCENARIOS.md 16 (one format: the chart's)
    assert "<td class=\"num\">-20.00 %</td>" in html  # r = 4
    assert "style=" not in html.split('<div class="il-chart">')[1].split("</div>")[0]


def test_ordinary_products_have_no_il_section(client, usdt_flexible):
    assert "impermanent-loss" not in client.get(f"/products/{usdt_flexible.pk}").content.decode()


def test_dashboard_lists_pool_positions_with_their_value(user_factory, fund, client, assets):
    from pools.services.deposits import deposit_summary, pool_deposit_submit
    from tests.pools.factories import ready_customer

    pool = pool_product("BTC", "USDT")
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="100000")
    pool_deposit_submit(user=user, product_id=pool.product_id, amount="0.5", asset=None, mode="pair",
                        compound_rewards=False, idempotency_key="d1", render=deposit_summary)
    client.force_login(user)
    html = client.get("/dashboard").content.decode()
    assert "Liquidity pool positions" in html and "BTC/USDT" in html
    assert "0.50000000 BTC" in html


def test_subscribing_to_a_pool_product_in_the_portal_opens_a_pool_position(user_factory, fund, client, assets):
    from pools.models import PoolPosition
    from tests.pools.factories import ready_customer

    pool = pool_product("BTC", "USDT")
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="100000")
    client.force_login(user)
    preview = client.post(f"/products/{pool.product_id}/subscribe", {"step": "preview", "amount": "0.1"})
    assert preview.status_code == 200 and 'value="confirm"' in preview.content.decode()
    done = client.post(f"/products/{pool.product_id}/subscribe",
                       {"step": "confirm", "amount": "0.1", "idempotency_key": "pool-1"})
    assert done.status_code == 302 and done["Location"] == "/dashboard"
    assert PoolPosition.objects.get(user=user).shares > 0


def test_pool_redemption_preview_then_confirm_and_others_get_404(user_factory, fund, client, assets):
    from pools.models import PoolPosition
    from pools.services.deposits import deposit_summary, pool_deposit_submit
    from tests.pools.factories import ready_customer

    pool = pool_product("BTC", "USDT")
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="100000")
    pool_deposit_submit(user=user, product_id=pool.product_id, amount="0.2", asset=None, mode="pair",
                        compound_rewards=False, idempotency_key="d1", render=deposit_summary)
    position = PoolPosition.objects.get(user=user)
    client.force_login(user)
    url = f"/pool-positions/{position.pk}/redeem"
    assert client.get(url).status_code == 200
    preview = client.post(url, {"step": "preview"}).content.decode()
    assert "0.20000000 BTC" in preview and 'value="confirm"' in preview
    position.refresh_from_db()
    assert position.shares > 0  # the preview moved nothing
    done = client.post(url, {"step": "confirm", "shares": "", "idempotency_key": "w1"})
    assert done.status_code == 302 and done["Location"] == "/dashboard"
    position.refresh_from_db()
    assert position.shares == 0
    client.force_login(user_factory(country="SG"))
    assert client.get(url).status_code == 404
    assert client.post(url, {"step": "confirm", "idempotency_key": "w2"}).status_code == 404
