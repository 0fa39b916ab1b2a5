"""Issue 19 in a browser: the pool subscribe preview, the assessment review, per-country disclosures and warnings,
zh-Hant throughout, and money pages at phone width. Screenshots go to test-artifacts/e2e/."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from compliance.models import AssessmentQuestion
from compliance.services.customers import earn_first_view_record, risk_profile_record
from earn.services.subscriptions import subscription_create
from ledger import services as ledger
from pools.models import PoolPosition
from pools.services.deposits import deposit_summary, pool_deposit_submit
from tests.e2e.conftest import shot
from tests.e2e.data import world
from tests.e2e.test_journeys import acknowledge, sign_in
from tests.earn.helpers import acknowledge as acknowledge_directly
from tests.earn.helpers import balance
from tests.pools.factories import pool_product

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _pool(w, *, risk_rating: int = 2):
    """The BTC/USDT pool with a first deposit (so it has a price and reserves), and Alice funded in BTC."""
    pool = pool_product("BTC", "USDT", name_en="BTC/USDT Liquidity Mining", name_zh_hant="BTC/USDT 流動性挖礦")
    seeder = w["zh"]
    ledger.deposit_credit(user_id=seeder.pk, asset="BTC", amount=Decimal("10"), reference="e2e-seed-btc")
    ledger.deposit_credit(user_id=seeder.pk, asset="USDT", amount=Decimal("200000"), reference="e2e-seed-usdt")
    risk_profile_record(actor=seeder, user=seeder, risk_profile="high", net_worth_usd="100000000")
    acknowledge_directly(seeder, pool.product)
    pool_deposit_submit(user=seeder, product_id=pool.product_id, amount="2", asset=None, mode="pair",
                        compound_rewards=False, idempotency_key="e2e-seed", render=deposit_summary)
    ledger.deposit_credit(user_id=w["hk"].pk, asset="BTC", amount=Decimal("1"), reference="e2e-fund-hk-btc")
    risk_profile_record(actor=w["hk"], user=w["hk"], risk_profile="high", net_worth_usd="10000000")
    pool.product.risk_rating = risk_rating  # after the seeding deposit (a rating of 3+ needs the assessment)
    pool.product.save(update_fields=["risk_rating"])
    return pool


def test_pool_subscribe_shows_both_legs_share_fee_income_and_the_short_asset(new_page):
    """Alice subscribes to the pool product: the preview names both assets, the pool share, fee and swap, the
    estimated income; a deposit too big for her USDT says so; the confirmed deposit takes exactly what was shown."""
    w = world()
    pool = _pool(w)
    page = new_page()
    sign_in(page, "alice@hk.example")
    page.goto(f"/products/{pool.product_id}")
    expect(page.locator(".guide")).to_contain_text("Before you subscribe")
    expect(page.locator(".refusal")).to_have_count(0)
    shot(page, "pool-10-product-guidance")
    page.get_by_role("link", name="Subscribe", exact=True).click()
    acknowledge(page)
    expect(page.get_by_text("matching amount of USDT")).to_be_visible()
    page.fill("#id_amount", "0.5")  # 30 000 USDT: more than her 10 000
    page.locator("form:has(input[value=preview]) button").click()
    expect(page.get_by_text("Not enough USDT: this takes 30000.00000000 USDT and 10000.00000000 USDT is available."))\
        .to_be_visible()
    assert page.locator("form:has(input[name=step][value=confirm])").count() == 0
    shot(page, "pool-11-preview-short-of-usdt")
    page.get_by_role("link", name="Change the amount").click()
    page.fill("#id_amount", "0.1")
    page.locator("form:has(input[value=preview]) button").click()
    preview = page.get_by_test_id("pool-preview")
    expect(preview).to_contain_text("0.10000000 BTC")
    expect(preview).to_contain_text("6000.00000000 USDT")
    expect(preview).to_contain_text("Your share of the pool")
    expect(preview).to_contain_text("None: nothing is swapped")
    expect(preview).to_contain_text("Estimated income per day")
    assert "0%" not in preview.locator("dt:has-text('Est. APR (fees + rewards)') + dd").inner_text()
    shot(page, "pool-12-preview-both-legs")
    page.get_by_role("button", name=re.compile("Confirm: deposit 0.10000000 BTC and 6000.00000000 USDT")).click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    shot(page, "pool-13-dashboard")
    assert PoolPosition.objects.get(user=w["hk"]).shares > 0
    assert balance(w["hk"], "BTC") == Decimal("0.9") and balance(w["hk"], "USDT") == Decimal("4000")
    assert not page.csp_errors


def test_assessment_tells_which_answers_were_wrong_and_key_risks_must_be_right(new_page):
    """Alice answers that impermanent loss makes her share worth more: she fails although 4 of 5 is above the
    pass mark, and the page tells her the right answer and why."""
    w = world()
    pool = _pool(w, risk_rating=4)
    page = new_page()
    sign_in(page, "alice@hk.example")
    page.goto(f"/products/{pool.product_id}/subscribe")
    acknowledge(page)
    page.locator("a[href$='/assessment']").first.click()
    expect(page.locator("legend .pill").first).to_have_text("Key risk")
    for q in AssessmentQuestion.objects.filter(jurisdiction="HK"):
        answer = "a" if q.key == "lm_impermanent_loss" else q.answer
        radio = page.locator(f"input[name='{q.key}'][value='{answer}']")
        if radio.count():
            radio.check()
    shot(page, "assess-01-answers")
    page.locator("form button[type=submit]").last.click()
    expect(page.get_by_text("a question on a key risk of this product was answered wrongly")).to_be_visible()
    review = page.locator("#review")
    expect(review).to_contain_text("Your answer: more.")
    expect(review).to_contain_text("less (impermanent loss, about 5.7 %).")
    expect(review).to_contain_text("your share is worth about 5.7 % less than simply holding both")
    shot(page, "assess-02-review")


def test_gb_customer_reads_uk_wording_and_the_fca_warning_everywhere_rates_show(new_page):
    w = world()
    bob = w["gb"]
    with time_machine.travel(timezone.now() - dt.timedelta(hours=25), tick=False):
        earn_first_view_record(bob)
    page = new_page()
    sign_in(page, "bob@gb.example")
    prescribed = "Don't invest unless you're prepared to lose all the money you invest."
    page.goto("/")
    expect(page.get_by_text(prescribed)).to_be_visible()
    shot(page, "gb-10-product-list-warning")
    page.goto(f"/products/{w['flexible'].pk}")
    expect(page.get_by_text(prescribed)).to_be_visible()
    page.goto("/dashboard")
    expect(page.get_by_text(prescribed)).to_be_visible()


def test_gb_disclosure_has_the_uk_section(new_page):
    """A disclosure with the standard statements: Bob reads the FSCS wording, Alice the Hong Kong one."""
    from compliance.models import Disclosure
    from compliance.services.disclosures import disclosure_content_hash, standard_risk_statements

    w = world()
    product = w["flexible"]
    disclosure = Disclosure.objects.get(product=product, status="current")
    disclosure.risk_statements = standard_risk_statements(product)
    disclosure.sha256 = disclosure_content_hash(body_en=disclosure.body_en, body_zh_hant=disclosure.body_zh_hant,
                                                risk_statements=disclosure.risk_statements,
                                                sections=disclosure.sections)
    disclosure.save()
    page = new_page()
    sign_in(page, "bob@gb.example")
    page.goto(f"/products/{product.pk}#disclosure")
    expect(page.locator("#disclosure")).to_contain_text("Financial Services Compensation Scheme (FSCS)")
    expect(page.locator("#disclosure")).not_to_contain_text("Hong Kong Deposit Protection Scheme")
    page.locator("#disclosure").screenshot(path=str(shot(page, "gb-11-product").with_name("gb-12-uk-disclosure.png")))
    alice = new_page()
    sign_in(alice, "alice@hk.example")
    alice.goto(f"/products/{product.pk}#disclosure")
    expect(alice.locator("#disclosure")).to_contain_text("Hong Kong Deposit Protection Scheme")


def test_traditional_chinese_vetting_and_inbox(new_page):
    """David reads the vetting section in Chinese and the inbox button says 開啟 (open), not 待處理 (pending)."""
    from earn.models import Product

    w = world()
    Product.objects.filter(pk=w["flexible"].pk).update(
        venue="交易所機構借貸部", yield_source="Lent to vetted borrowers.", yield_source_zh_hant="借予經審核的借款人。",
        risk_rationale="Over-collateralised.", risk_rationale_zh_hant="超額抵押。")
    acknowledge_directly(w["zh"], w["flexible"])
    risk_profile_record(actor=w["zh"], user=w["zh"], risk_profile="high", net_worth_usd="1000000")
    subscription_create(user=w["zh"], product_id=w["flexible"].pk, amount="100")
    page = new_page(locale="zh-TW")
    sign_in(page, "david@hk.example")
    page.goto(f"/products/{w['flexible'].pk}")
    expect(page.get_by_text("借予經審核的借款人。")).to_be_visible()
    expect(page.get_by_text("Lent to vetted borrowers.")).to_have_count(0)
    shot(page, "zh-10-vetting")
    page.goto("/inbox")
    expect(page.locator("main form.inline button.link").first).to_have_text("開啟")
    shot(page, "zh-11-inbox")


def test_money_pages_fit_a_phone_screen(browser, live_server):
    """Pages showing money at 390 px: nothing wider than the screen, and the Redeem button can be reached."""
    w = world()
    pool = _pool(w)
    acknowledge_directly(w["hk"], w["flexible"])
    acknowledge_directly(w["hk"], pool.product)
    position = subscription_create(user=w["hk"], product_id=w["flexible"].pk, amount="1234.5").position_id
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, "alice@hk.example")
    for name, url, form in [
        ("home", "/", None), ("pool-product", f"/products/{pool.product_id}", None),
        ("dashboard", "/dashboard", None), ("position", f"/positions/{position}", None),
        ("history", "/history", None),
        ("subscribe-preview", f"/products/{w['flexible'].pk}/subscribe", "100"),
        ("pool-preview", f"/products/{pool.product_id}/subscribe", "0.01"),
    ]:
        page.goto(url)
        if form:
            page.fill("#id_amount", form)
            page.locator("form:has(input[value=preview]) button").click()
            expect(page.locator("dl.facts").first).to_be_visible()
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        shot(page, f"phone-{name}")
        assert overflow <= 0, (url, overflow)
    page.goto("/dashboard")
    redeem = page.get_by_role("link", name="Redeem").first
    redeem.scroll_into_view_if_needed()
    box = redeem.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    redeem.click()
    expect(page).to_have_url(re.compile(r"/redeem$"))
    context.close()


def test_subscribe_form_max_button_and_live_estimate(new_page):
    """Alice taps Max and sees the estimated interest before previewing; the unread count shows in the inbox."""
    w = world()
    acknowledge_directly(w["hk"], w["fixed"])
    risk_profile_record(actor=w["hk"], user=w["hk"], risk_profile="high", net_worth_usd="10000000")
    page = new_page()
    sign_in(page, "alice@hk.example")
    page.goto(f"/products/{w['fixed'].pk}/assessment")
    page.goto(f"/products/{w['fixed'].pk}/subscribe")
    if page.locator("a[href$='/assessment']").count():
        from tests.e2e.test_journeys import take_assessment

        take_assessment(page, "HK")
    page.fill("#id_amount", "1000")
    expect(page.locator("#estimate")).to_contain_text("Estimated interest: 0.21 USDT a day")  # 1000 × 8 % / 365
    expect(page.locator("#estimate")).to_contain_text("6.57 USDT for the term")
    shot(page, "hk-20-live-estimate")
    page.get_by_role("button", name="Max").click()
    expect(page.locator("#id_amount")).to_have_value("10000.00000000")
    shot(page, "hk-21-max")
    page.locator("form:has(input[value=preview]) button[type=submit]").click()
    expect(page.locator("dl.facts")).to_contain_text("10000.00000000 USDT")
