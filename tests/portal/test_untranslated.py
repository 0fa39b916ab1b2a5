"""Issue 19 item 7: no English left on the pages the customer journeys visit, in Traditional Chinese.

Each page is rendered with zh-Hant active for customers of Hong Kong, the UK and a restricted country at the step
the journeys reach; its visible text (and the words of buttons, titles and placeholders) must hold no run of Latin
letters except the few that are names: asset codes, APR/APY, the language switcher, data the customer typed.
A template string outside {% trans %}, a msgid without a translation, or a new string not yet in the catalogue
shows up here as English words.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from compliance.services.customers import earn_first_view_record, risk_profile_record
from earn.models import Accrual, Product
from earn.services.subscriptions import subscription_create
from notifications.models import Notification
from pools.services.deposits import deposit_summary, pool_deposit_submit
from tests.e2e.data import install_rules
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory
from tests.pools.factories import pool_product
from tests.pools.test_simulation_api import btc_history

pytestmark = pytest.mark.django_db

# Latin words that are names, not sentences: assets, rate labels, units, protocol and scheme names.
ALLOWED = {
    "USDT", "BTC", "HSK", "USD", "APR", "APY", "UTC", "API", "CSV", "sha", "x",  # codes, units, the × of IL ratios
    "English",  # the language switcher names the other language in that language
    "Uniswap", "v", "Ethereum",  # the pool's venue and chain (vetting data: proper names)
    "Authorization", "Token",  # the HTTP header a token is sent in, quoted in the sentence
    "Python",  # what the earnings verifier (bin/earn_verify.py) runs on
}
ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "value"}


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Text(HTMLParser):
    """Visible text plus the words of buttons, titles and placeholders; scripts, styles, code and text marked as
    English (lang="en", e.g. the disclosure read in English on purpose) are skipped."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.depth = 0
        self.skip_from: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in VOID:
            self.depth += 1
        if self.skip_from is not None:
            return
        if tag in ("script", "style", "svg", "code") or "code" in (attributes.get("class") or "").split() \
                or attributes.get("lang") == "en":
            if tag not in VOID:
                self.skip_from = self.depth
            return
        for name in ATTRIBUTES:
            if name == "value" and (tag != "input" or attributes.get("type") not in ("submit", "button")):
                continue
            if attributes.get(name):
                self.parts.append(attributes[name] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if self.skip_from is not None and self.depth == self.skip_from:
            self.skip_from = None
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.skip_from is None:
            self.parts.append(data)


def english_words(html: str, extra: set[str]) -> list[str]:
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.parts)
    text = re.sub(r"[\w.+-]+@[\w.-]+", " ", text)  # e-mail addresses
    text = re.sub(r"\bLP\d+[A-Z]+\b", " ", text)  # pool share codes (LP2BTCUSDT)
    words = re.findall(r"[A-Za-z]+", text)
    return sorted({w for w in words if w not in ALLOWED and w not in extra})


def english_free(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


@pytest.fixture
def world(assets, fund, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return _world(fund)


def _world(fund):
    install_rules()
    flexible = live_product("USDT", "demand", name_en="USDT Flexible", name_zh_hant="USDT 活期",
                            tiers=[(0, 1000, "0.06"), (1000, None, "0.03")], risk_rating=2)
    fixed = live_product("USDT", "fixed", name_en="USDT 30-day", name_zh_hant="USDT 30 日定期", term_days=30,
                         risk_rating=3, early_redemption="forfeit_interest", auto_renew_allowed=True)
    pool = pool_product("BTC", "USDT", name_en="BTC/USDT pool", name_zh_hant="BTC/USDT 流動性挖礦")
    # Vetting text in both languages: the page must show the Chinese (issue 19: it stayed English).
    Product.objects.filter(pk=flexible.pk).update(
        yield_source="Lent to vetted institutional borrowers.", yield_source_zh_hant="借予經審核的機構借款人。",
        risk_rationale="Over-collateralised loans.", risk_rationale_zh_hant="超額抵押貸款。")
    david = UserFactory(email="david@hk.example", country="HK", display_name="大衛", language="zh-hant",
                        professional_investor=False)
    for code, amount in (("USDT", "100000"), ("BTC", "5")):
        fund(david, code, amount)
    risk_profile_record(actor=david, user=david, risk_profile="high", net_worth_usd="10000000")
    acknowledge(david, flexible)
    acknowledge(david, pool.product)
    position = subscription_create(user=david, product_id=flexible.pk, amount="500").position
    Accrual.objects.create(position=position, date=dt.date.today() - dt.timedelta(days=1), base=Decimal(500),
                           apr=Decimal("0.06"), exact=Decimal("0.08"), posted=Decimal("0.08"), carry=0,
                           payout="daily", paid_out=True)
    btc_history(40, end=timezone.now())  # enough daily prices for the outcome simulator's figures
    pool_deposit_submit(user=david, product_id=pool.product_id, amount="0.1", asset=None, mode="pair",
                        compound_rewards=False, idempotency_key="p", render=deposit_summary)
    gb = UserFactory(email="bob@gb.example", country="GB", display_name="鮑勃", language="zh-hant")
    earn_first_view_record(gb)
    us = UserFactory(email="carol@us.example", country="US", display_name="卡羅", language="zh-hant")
    return {"flexible": flexible, "fixed": fixed, "pool": pool, "david": david, "position": position, "gb": gb,
            "us": us}


def _client(user=None) -> Client:
    client = Client()
    client.cookies["django_language"] = "zh-hant"
    if user is not None:
        client.force_login(user)
    return client


FOUND: dict[str, list[str]] = {}


def _check(client: Client, url: str, data: dict | None = None) -> None:
    response = client.post(url, data) if data is not None else client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    html = response.content.decode()
    assert 'lang="zh-hant"' in html
    words = english_words(html, set())
    if "天" in english_free(html):  # one word for days throughout: 日
        words.append("天")
    if words:
        FOUND[f"{'POST ' if data is not None else ''}{url}"] = words


def test_customer_pages_have_no_english_left_in_traditional_chinese(world):
    FOUND.clear()
    w = world
    anonymous = _client()
    for url in ("/", f"/products/{w['flexible'].pk}", "/account/sign-in", "/account/sign-up",
                "/account/password-reset", "/risk-summary/", "/liabilities"):
        _check(anonymous, url)
    david = _client(w["david"])
    assert Notification.objects.filter(user=w["david"]).exists()
    pages = ["/", f"/products/{w['flexible'].pk}", f"/products/{w['fixed'].pk}", f"/products/{w['pool'].product_id}",
             f"/products/{w['fixed'].pk}/subscribe", f"/products/{w['flexible'].pk}/subscribe",
             f"/products/{w['fixed'].pk}/assessment", "/dashboard", f"/positions/{w['position'].pk}",
             f"/positions/{w['position'].pk}/redeem", "/history", "/inbox", "/account/profile",
             "/account/security", "/account/tokens", "/complaints", "/account/risk-profile",
             "/account/password", "/liabilities"]
    for url in pages:
        _check(david, url)
    _check(david, f"/products/{w['flexible'].pk}/subscribe", {"step": "preview", "amount": "100"})
    _check(david, f"/products/{w['pool'].product_id}/subscribe", {"step": "preview", "amount": "0.01"})
    _check(david, f"/positions/{w['position'].pk}/redeem", {"step": "preview", "amount": "10", "mode": "fast"})
    # The outcome simulator's figures, assumptions and its form errors.
    simulated = f"/products/{w['pool'].product_id}?sim_amount=2500&sim_days=180"
    _check(david, simulated)
    assert 'id="simulation-table"' in david.get(simulated).content.decode()  # the figures, not the form only
    _check(david, f"/products/{w['pool'].product_id}?sim_amount=1e400&sim_days=0")
    gb = _client(w["gb"])
    for url in ("/", f"/products/{w['flexible'].pk}", f"/products/{w['flexible'].pk}/subscribe"):
        _check(gb, url)
    us = _client(w["us"])
    for url in (f"/products/{w['flexible'].pk}", f"/products/{w['flexible'].pk}/subscribe"):
        _check(us, url)
    inbox = david.get("/inbox").content.decode()
    assert ">開啟</button>" in inbox and "待處理" not in inbox  # the button opens; it is not a complaint status
    assert FOUND == {}, "English words on Traditional Chinese pages (translate them in the .po)"


def test_the_check_catches_an_untranslated_string():
    assert english_words('<html lang="zh-hant"><p>賺幣 Hello there</p><button title="Close">x</button></html>',
                         set()) == ["Close", "Hello", "there"]
    assert english_words("<p>年利率 APR 5% · USDT</p><p class=\"code\">sha256 abc</p>", set()) == []
