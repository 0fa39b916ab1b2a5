"""The outcome simulator on a pool product's page: the form, the figures (the same on reload), the assumptions in
plain words in English and Traditional Chinese, a clear message without enough price history, no 500 on bad input."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client

from tests.factories import UserFactory
from tests.pools.factories import pool_product
from tests.pools.test_simulation_api import NOW, btc_history
from tests.portal.test_untranslated import english_words

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(assets):
    return pool_product("BTC", "USDT", name_en="BTC/USDT pool", name_zh_hant="BTC/USDT 流動性挖礦")


def signed_in(language: str = "en") -> Client:
    client = Client()
    client.force_login(UserFactory(country="HK", language=language))
    if language != "en":
        client.cookies["django_language"] = language
    return client


def section(html: str) -> str:
    return html.split('id="simulation"')[1].split('<div class="card">')[0]


def page(client: Client, pool, **params: str) -> str:
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/products/{pool.product_id}", params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_form_is_on_the_page_and_the_figures_come_when_it_is_sent(pool):
    btc_history(60)
    client = signed_in()
    assert 'id="simulation-table"' not in page(client, pool)
    html = page(client, pool, sim_amount="5000", sim_days="90")
    part = section(html)
    assert 'id="simulation-table"' in part and "5000 USD for 90 days, 10000 price paths." in part
    assert "5th percentile" in part and "95th percentile" in part
    assert "Chance that fees and rewards outweigh the impermanent loss:" in part
    assert "No trend is assumed" in part and "not a forecast or a promise" in part
    assert re.search(r"Simply holding the two assets \(USD\)</th><td class=\"num\">\d,\d{3}\.\d\d</td>", part)
    assert section(page(client, pool, sim_amount="5000", sim_days="90")) == part  # the same on reload
    assert 'id="impermanent-loss"' in html  # the IL table stays


def test_traditional_chinese_has_the_figures_and_no_english_left(pool):
    btc_history(60)
    part = section(page(signed_in("zh-hant"), pool, sim_amount="5000", sim_days="90"))
    assert "與單純持有比較的模擬結果" in part and "第 5 百分位數" in part and "幾何布朗運動" in part
    assert "手續費及獎勵超過無常損失的機會" in part
    assert english_words(part, {"IL"}) == []


def test_not_enough_price_history_is_said_plainly(pool):
    btc_history(10)
    part = section(page(signed_in(), pool, sim_amount="1000", sim_days="365"))
    assert 'id="simulation-unavailable"' in part and "10 days of prices, 31 needed" in part
    assert 'id="simulation-table"' not in part
    zh = section(page(signed_in("zh-hant"), pool, sim_amount="1000", sim_days="365"))
    assert "價格歷史不足" in zh


@pytest.mark.parametrize("params", [
    {"sim_amount": "abc", "sim_days": "30"}, {"sim_amount": "-1", "sim_days": "30"},
    {"sim_amount": "1000", "sim_days": "99999"}, {"sim_amount": "1e400", "sim_days": "x"},
    {"sim_amount": "9" * 41, "sim_days": "0"}, {"sim_amount": "0.001", "sim_days": "30"}])
def test_bad_input_shows_the_form_error_not_a_500(pool, params):
    btc_history(60)
    part = section(page(signed_in(), pool, **params))
    assert 'class="errorlist' in part and 'id="simulation-table"' not in part


def test_a_nul_character_is_refused_before_the_page(pool):
    with time_machine.travel(NOW, tick=False):
        response = signed_in().get(f"/products/{pool.product_id}", {"sim_amount": "1\x00", "sim_days": "1"})
    assert response.status_code == 400


def test_signed_out_visitors_see_the_form_and_are_asked_to_sign_in(client, pool):
    btc_history(60)
    part = section(page(client, pool, sim_amount="1000", sim_days="30"))
    assert "Sign in to run the simulation." in part and 'id="simulation-table"' not in part


def test_the_date_of_the_price_data_is_stated(pool):
    btc_history(60)
    part = section(page(signed_in(), pool, sim_amount="1000", sim_days="30"))
    assert (NOW - dt.timedelta(days=1)).date().isoformat() in part
