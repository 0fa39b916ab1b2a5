"""What the portal pages show: catalogue filters, product terms and disclosure, dashboard, history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from earn.models import Accrual
from earn.services.subscriptions import subscription_create
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_home_lists_live_products_with_labelled_rates_and_filters(client, assets):
    live_product("USDT", "demand", name_en="USDT Flexible", tiers=[(0, None, "0.10")], risk_rating=2)
    live_product("BTC", "fixed", name_en="BTC 30 days", risk_rating=4)
    html = client.get("/").content.decode()
    assert "USDT Flexible" in html and "BTC 30 days" in html
    assert "10%" in html and "10.5156%" in html and "APY (daily compounding)" in html
    assert "BTC 30 days" not in client.get("/?asset=usdt").content.decode()
    assert "BTC 30 days" not in client.get("/?risk=3").content.decode()
    assert "USDT Flexible" not in client.get("/?type=fixed").content.decode()


def test_product_page_shows_terms_vetting_and_the_disclosure_in_either_language(client, assets):
    product = live_product("USDT", "demand", name_en="USDT Flexible", name_zh_hant="USDT 活期",
                           tiers=[(0, 1000, "0.06"), (1000, None, "0.03")], venue="Lending desk")
    english = client.get(f"/products/{product.pk}").content.decode()
    assert "Risk disclosure for USDT Flexible" in english and "Lending desk" in english
    assert "6%" in english and "3%" in english
    chinese = client.get(f"/products/{product.pk}?lang=zh-hant").content.decode()
    assert "風險披露" in chinese and 'lang="zh-hant"' in chinese
    assert "?lang=en" in chinese


def test_dashboard_shows_positions_and_the_earnings_chart(alice_client, alice, usdt_fixed):
    acknowledge(alice, usdt_fixed)
    sub = subscription_create(user=alice, product_id=usdt_fixed.pk, amount="1000")
    today = dt.datetime.now(dt.UTC).date()
    Accrual.objects.bulk_create([
        Accrual(position_id=sub.position_id, date=today - dt.timedelta(days=i), base=Decimal(1000), apr=Decimal("0.05"),
                exact=Decimal("0.136986"), posted=Decimal("0.13698630"), carry=0, payout="daily", paid_out=True)
        for i in range(1, 4)])
    html = alice_client.get("/dashboard").content.decode()
    assert "USDT 30 days" in html and "1000.00000000" in html
    assert "<polyline" in html and "0.41095890" in html  # paid interest: 3 days
    assert sub.maturity_date.isoformat() in html
    assert 'name="auto_renew" value="on"' in html


def test_auto_renew_switch(alice_client, alice, usdt_fixed):
    acknowledge(alice, usdt_fixed)
    sub = subscription_create(user=alice, product_id=usdt_fixed.pk, amount="10")
    alice_client.post(f"/positions/{sub.position_id}/auto-renew", {"auto_renew": "on"})
    sub.position.refresh_from_db()
    assert sub.position.auto_renew


def test_auto_compound_switch_on_flexible_positions(alice_client, alice, usdt_flexible):
    acknowledge(alice, usdt_flexible)
    sub = subscription_create(user=alice, product_id=usdt_flexible.pk, amount="10")
    assert 'name="auto_compound" value="on"' in alice_client.get("/dashboard").content.decode()
    page = alice_client.post(f"/positions/{sub.position_id}/auto-compound",
                             {"auto_compound": "on", "next": "/dashboard"}, follow=True).content.decode()
    sub.position.refresh_from_db()
    assert sub.position.auto_compound
    assert "Auto-compound is on" in page and 'name="auto_compound" value="off"' in page


def test_history_filters_by_date_and_links_the_csv_export(alice_client, alice):
    html = alice_client.get("/history?start=2020-01-01&end=2030-12-31").content.decode()
    assert "<td>Deposit</td><td>Available</td>" in html
    assert "/api/v1/ledger/entries?from=2020-01-01&amp;to=2030-12-31&amp;format=csv" in html
    csv = alice_client.get("/api/v1/ledger/entries?from=2020-01-01&to=2030-12-31&format=csv")
    assert csv.status_code == 200 and b"deposit" in b"".join(csv.streaming_content)
    empty = alice_client.get("/history?start=2020-01-01&end=2020-01-02").content.decode()
    assert "Nothing in this range." in empty


def test_redeem_preview_shows_the_exact_amount_before_confirming(alice_client, alice, usdt_flexible):
    acknowledge(alice, usdt_flexible)
    sub = subscription_create(user=alice, product_id=usdt_flexible.pk, amount="100")
    html = alice_client.post(f"/positions/{sub.position_id}/redeem",
                             {"step": "preview", "amount": "40", "mode": "fast"}).content.decode()
    assert "40.00000000 USDT" in html and 'value="confirm"' in html
    sub.position.refresh_from_db()
    assert sub.position.principal == 100  # nothing moved by the preview


def test_subscribe_refusal_reads_in_plain_words_with_what_to_do(alice_client, alice, usdt_flexible):
    acknowledge(alice, usdt_flexible)
    html = alice_client.post(f"/products/{usdt_flexible.pk}/subscribe",
                             {"step": "preview", "amount": "999999"}).content.decode()
    assert "Not enough USDT: this takes 999999.00000000 USDT and 5000.00000000 USDT is available." in html
    assert "What to do next:" in html and "Deposit 994999.00000000 USDT more" in html
    assert "INSUFFICIENT_BALANCE" not in html  # reason codes are for the API only
    assert 'value="confirm"' not in html


def test_sign_up_creates_a_customer_and_signs_in(client, assets):
    response = client.post("/account/sign-up", {
        "email": "new@sg.example", "display_name": "New Person", "country": "SG", "language": "zh-hant",
        "password": "a-long-pass-phrase-9", "password_again": "a-long-pass-phrase-9"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "zh-hant"
    assert client.get("/dashboard").status_code == 200
    assert UserFactory._meta.model.objects.get(email="new@sg.example").language == "zh-hant"


def test_a_double_submitted_confirmation_subscribes_once(alice_client, alice, usdt_flexible):
    from earn.models import Subscription

    acknowledge(alice, usdt_flexible)
    form = {"step": "confirm", "amount": "25", "idempotency_key": "same-click"}
    first = alice_client.post(f"/products/{usdt_flexible.pk}/subscribe", form)
    second = alice_client.post(f"/products/{usdt_flexible.pk}/subscribe", form)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Subscription.objects.filter(user=alice).count() == 1


def test_early_redemption_refusal_says_what_happens_instead(alice_client, alice, assets):
    product = live_product("USDT", "fixed", name_en="Locked 30", term_days=30, early_redemption="not_allowed")
    acknowledge(alice, product)
    sub = subscription_create(user=alice, product_id=product.pk, amount="10")
    html = alice_client.post(f"/positions/{sub.position_id}/redeem", {"step": "preview", "mode": "fast"}).content
    text = html.decode()
    assert "Early redemption is not allowed for this product." in text
    assert "returns your money automatically on its maturity date" in text
    assert 'value="confirm"' not in text
