"""The whole Earn journey in a browser: GB and HK customers, a restricted country, and zh-Hant."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from compliance.services.customers import earn_first_view_record
from earn.models import Position, Redemption
from notifications.models import Notification
from tests.e2e.conftest import shot
from tests.e2e.data import PASSWORD, correct_answers, world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, email: str, *, otp: str | None = None) -> None:
    page.goto("/account/sign-in")
    page.fill("#id_email", email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in|登入")).click()
    if otp is not None:
        page.fill("#id_otp", otp)
        page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def acknowledge(page) -> None:
    boxes = page.locator("input[name=statements]")
    assert boxes.count() >= 2
    for i in range(boxes.count()):
        boxes.nth(i).check()
    page.locator("form:has(input[name=statements]) button[type=submit]").click()


def take_assessment(page, country: str) -> None:
    page.locator("a[href$='/assessment']").first.click()
    for key, answer in correct_answers(country).items():
        radio = page.locator(f"input[name='{key}'][value='{answer}']")
        if radio.count():
            radio.check()
    page.locator("form button[type=submit]").last.click()


def preview_and_confirm(page, amount: str, name: str, *, otp: str | None = None) -> None:
    page.fill("#id_amount", amount)
    page.locator("input[name=step][value=preview] ~ button, form:has(input[value=preview]) button").first.click()
    expect(page.locator("dl.facts")).to_be_visible()
    shot(page, f"{name}-preview")
    if otp is not None:
        page.fill("#id_otp", otp)
    page.locator("form:has(input[name=step][value=confirm]) button[type=submit]").click()


def totp_now(user) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


def test_hk_customer_journey(new_page):
    """Sign in → product → disclosure → acknowledgement → assessment → risk profile → subscribe → dashboard
    → early redemption with the exact amount shown first."""
    w = world()
    page = new_page()
    sign_in(page, "alice@hk.example")
    page.goto("/")
    expect(page.get_by_text("USDT 30-day Fixed")).to_be_visible()
    shot(page, "hk-01-home")
    page.get_by_role("link", name="USDT 30-day Fixed").click()
    expect(page.locator("h1")).to_have_text("USDT 30-day Fixed")
    shot(page, "hk-02-product")
    page.get_by_role("link", name="Subscribe", exact=True).click()
    shot(page, "hk-03-disclosure")
    acknowledge(page)
    expect(page.get_by_text("your acknowledgement is recorded")).to_be_visible()
    expect(page.get_by_text("Please complete the knowledge assessment")).to_be_visible()
    take_assessment(page, "HK")
    expect(page.get_by_text("You passed the assessment")).to_be_visible()
    # HK exposure limit: without a declared risk profile the gate fails closed and says what to do.
    expect(page.get_by_text("beyond your limit")).to_be_visible()
    shot(page, "hk-04-exposure-refusal")
    page.get_by_role("link", name="Your risk profile").click()
    page.select_option("#id_risk_profile", "moderate")
    page.fill("#id_net_worth_usd", "200000")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/products/{w['fixed'].pk}/subscribe$"))
    page.check("#id_auto_renew")
    preview_and_confirm(page, "1000", "hk-05")
    expect(page.get_by_text("Subscribed: 1000 USDT")).to_be_visible()
    position = Position.objects.get(user=w["hk"])
    assert position.principal == 1000 and position.auto_renew
    page.goto("/dashboard")
    expect(page.locator("table").nth(1)).to_contain_text("USDT 30-day Fixed")
    shot(page, "hk-06-dashboard")
    page.get_by_role("link", name="Redeem").first.click()
    page.locator("form button[type=submit]").last.click()
    expect(page.locator(".payout")).to_have_text("1000.00000000 USDT")
    shot(page, "hk-07-redeem-preview")
    page.locator("form:has(input[name=step][value=confirm]) button[type=submit]").click()
    expect(page.get_by_text("Redemption confirmed.")).to_be_visible()
    redemption = Redemption.objects.get(position=position)
    assert redemption.early and redemption.payout == 1000
    page.goto("/inbox")
    expect(page.get_by_text("Subscription confirmed: USDT 30-day Fixed")).to_be_visible()
    expect(page.get_by_text("Redemption confirmed: USDT 30-day Fixed")).to_be_visible()
    shot(page, "hk-08-inbox")
    page.goto("/complaints")
    page.select_option("#id_target", f"position:{position.pk}")
    page.fill("#id_subject", "Early redemption")
    page.fill("#id_body", "I would like to understand the early-redemption rule better.")
    page.get_by_role("button", name="Send the complaint").click()
    expect(page.get_by_text("Your complaint is received.")).to_be_visible()
    expect(page.locator("table")).to_contain_text("Early redemption")
    shot(page, "hk-09-complaint")
    assert not page.csp_errors


def test_gb_customer_journey_with_two_factor(new_page):
    """A GB customer past the 24-hour cooling-off turns on 2FA, sees the prescribed and personalised warnings,
    passes the appropriateness test, subscribes and redeems with one-time codes."""
    w = world()
    bob = w["gb"]
    start = timezone.now()
    with time_machine.travel(start - dt.timedelta(hours=25), tick=False):
        earn_first_view_record(bob)
    traveller = time_machine.travel(start, tick=True)
    clock = traveller.start()
    try:
        page = new_page()
        sign_in(page, "bob@gb.example")
        page.goto("/account/security")
        page.get_by_role("button", name="Set up two-factor authentication").click()
        expect(page.locator(".qr svg")).to_be_visible()
        shot(page, "gb-01-2fa-qr")
        device = TOTPDevice.objects.get(user=bob)
        page.fill("#id_otp", f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}")
        page.get_by_role("button", name="Confirm and turn on").click()
        expect(page.get_by_text("Your recovery codes")).to_be_visible()
        assert page.locator("ul.recovery li").count() == 10
        shot(page, "gb-02-recovery-codes")
        page.get_by_role("button", name="Sign out").click()
        clock.shift(dt.timedelta(seconds=31))
        sign_in(page, "bob@gb.example", otp=totp_now(bob))

        page.goto(f"/products/{w['flexible'].pk}")
        prescribed = "Don't invest unless you're prepared to lose all the money you invest."
        expect(page.get_by_text(prescribed)).to_be_visible()
        shot(page, "gb-03-product-warning")
        page.get_by_role("link", name="Subscribe", exact=True).click()
        acknowledge(page)
        take_assessment(page, "GB")
        expect(page.get_by_text("You passed the assessment")).to_be_visible()
        clock.shift(dt.timedelta(seconds=31))
        page.fill("#id_amount", "1500")
        page.locator("form:has(input[value=preview]) button").click()
        expect(page.get_by_text("Bob, this is a high-risk investment.")).to_be_visible()
        shot(page, "gb-04-preview-personalised-warning")
        page.fill("#id_otp", "000000")
        page.locator("form:has(input[name=step][value=confirm]) button[type=submit]").click()
        expect(page.get_by_text("That one-time code was not accepted.")).to_be_visible()
        shot(page, "gb-05-otp-refused")
        clock.shift(dt.timedelta(seconds=31))
        page.fill("#id_otp", totp_now(bob))
        page.locator("form:has(input[name=step][value=confirm]) button[type=submit]").click()
        expect(page.get_by_text("Subscribed: 1500 USDT")).to_be_visible()
        page.goto("/dashboard")
        shot(page, "gb-06-dashboard")
        page.get_by_role("link", name="Redeem").first.click()
        page.fill("#id_amount", "500")
        page.select_option("#id_mode", "standard")
        page.locator("form button[type=submit]").last.click()
        expect(page.locator(".payout")).to_have_text("500.00000000 USDT")
        expect(page.get_by_text("Settles at")).to_be_visible()
        shot(page, "gb-07-redeem-preview")
        clock.shift(dt.timedelta(seconds=31))
        page.fill("#id_otp", totp_now(bob))
        page.locator("form:has(input[name=step][value=confirm]) button[type=submit]").click()
        expect(page.get_by_text("Redemption confirmed.")).to_be_visible()
        assert Position.objects.get(user=bob).principal == 1000
        assert Notification.objects.filter(user=bob, kind="redemption_confirmed").count() == 1
        assert not page.csp_errors
    finally:
        traveller.stop()


def test_restricted_country_customer_sees_the_refusal(new_page):
    """Carol (US) is refused at the first step with the reason and what to do; the attempt is logged once a day."""
    from compliance.models import Refusal

    w = world()
    page = new_page()
    sign_in(page, "carol@us.example")
    page.goto(f"/products/{w['flexible'].pk}")
    expect(page.get_by_text("Earn products are not available in your country of residence.")).to_be_visible()
    shot(page, "us-01-product-refusal")
    page.get_by_role("link", name="Subscribe", exact=True).click()
    expect(page.get_by_text("Earn products are not available in your country of residence.")).to_be_visible()
    expect(page.get_by_text("What to do next:")).to_be_visible()
    expect(page.get_by_text("Nothing was taken from your balance.")).to_be_visible()
    # Refused at the first step: no disclosure to tick, no amount, no preview.
    assert page.locator("input[name=statements], #id_amount, form:has(input[name=step])").count() == 0
    shot(page, "us-02-subscribe-refused")
    page.reload()
    assert list(Refusal.objects.filter(user=w["us"]).values_list("reason", "product_id")) == [
        ("JURISDICTION_RESTRICTED", w["flexible"].pk)]
    assert not Position.objects.filter(user=w["us"]).exists()


def test_traditional_chinese_journey(new_page):
    """David (HK, zh-Hant) does the journey in Traditional Chinese, reading the disclosure in both languages."""
    w = world()
    page = new_page(locale="zh-TW")
    sign_in(page, "david@hk.example")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hant")
    expect(page.locator("h1")).to_have_text("總覽")
    page.goto("/")
    expect(page.get_by_text("USDT 活期理財")).to_be_visible()
    shot(page, "zh-01-home")
    page.goto(f"/products/{w['flexible'].pk}")
    expect(page.get_by_role("heading", name="風險披露 第 1 版")).to_be_visible()
    page.get_by_role("link", name="以英文閱讀").click()
    expect(page.locator("#disclosure")).to_have_attribute("lang", "en")
    shot(page, "zh-02-product-english-disclosure")
    page.goto(f"/products/{w['flexible'].pk}/subscribe")
    acknowledge(page)
    expect(page.get_by_text("已記錄")).to_be_visible()
    page.goto(f"/account/risk-profile?next=/products/{w['flexible'].pk}/subscribe")
    page.select_option("#id_risk_profile", "high")
    page.fill("#id_net_worth_usd", "500000")
    page.get_by_role("button", name="儲存").click()
    preview_and_confirm(page, "800", "zh-03")
    expect(page.get_by_text("已認購")).to_be_visible()
    page.goto("/dashboard")
    shot(page, "zh-04-dashboard")
    page.get_by_role("link", name="贖回").first.click()
    page.locator("form button[type=submit]").last.click()
    expect(page.locator(".payout")).to_have_text("800.00000000 USDT")
    page.locator("form:has(input[name=step][value=confirm]) button[type=submit]").click()
    expect(page.get_by_text("贖回已確認")).to_be_visible()
    shot(page, "zh-05-redeemed")
    assert Position.objects.get(user=w["zh"]).principal == 0


def test_pool_product_page_shows_the_impermanent_loss_chart(new_page):
    from tests.pools.factories import pool_product

    world()
    pool = pool_product("BTC", "USDT")
    page = new_page()
    sign_in(page, "alice@hk.example")
    page.goto(f"/products/{pool.product_id}")
    page.fill("#il-amount", "5000")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".il-chart svg")).to_be_visible()
    expect(page.locator("#impermanent-loss .table-wrap table")).to_contain_text("-5.72 %")
    page.locator("#impermanent-loss").screenshot(path=str(shot(page, "pool-01-product").with_name("pool-02-il.png")))
    assert not page.csp_errors


def test_new_gb_customer_is_told_about_the_cooling_off(new_page):
    """A first-time GB customer sees the 24-hour cooling-off in plain words, with the risk warning."""
    w = world()
    page = new_page()
    sign_in(page, "bob@gb.example")
    page.goto(f"/products/{w['flexible'].pk}")
    expect(page.get_by_text("New customers can subscribe 24 hours after first viewing Earn.")).to_be_visible()
    # The exact time it ends, in UTC.
    expect(page.get_by_text(re.compile(r"You can subscribe from \d{4}-\d\d-\d\d \d\d:\d\d UTC\."))).to_be_visible()
    shot(page, "gb-00-cooling-off")
    assert not page.csp_errors


def test_pages_fit_a_phone_screen(browser, live_server):
    """Home, product and dashboard at 390 px wide: nothing wider than the screen (tables scroll inside)."""
    w = world()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, "alice@hk.example")
    for name, url in [("home", "/"), ("product", f"/products/{w['fixed'].pk}"), ("dashboard", "/dashboard")]:
        page.goto(url)
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        shot(page, f"phone-{name}")
        assert overflow <= 0, (url, overflow)
    context.close()
