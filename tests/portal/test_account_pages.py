"""Account pages: profile and language, API tokens, password reset, complaints, assessment, risk profile."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from compliance.models import AssessmentQuestion, Complaint, CustomerProfile
from earn.services.subscriptions import subscription_create
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_profile_changes_name_and_language_but_never_the_country(alice_client, alice):
    response = alice_client.post("/account/profile", {"display_name": "Alice T", "country": "GB",
                                                      "language": "zh-hant"})
    assert response.status_code == 302 and response.cookies["django_language"].value == "zh-hant"
    alice.refresh_from_db()
    assert (alice.display_name, alice.country, alice.language) == ("Alice T", "SG", "zh-hant")


def test_language_switch_is_remembered_in_the_profile(alice_client, alice):
    response = alice_client.post("/account/language", {"language": "zh-hant", "next": "/dashboard"})
    assert response.status_code == 302 and response["Location"] == "/dashboard"
    alice.refresh_from_db()
    assert alice.language == "zh-hant"
    assert alice_client.post("/account/language", {"language": "en", "next": "https://evil.example/"})[
        "Location"] == "/"


def test_api_token_created_shown_once_and_revoked(alice_client, alice):
    html = alice_client.post("/account/tokens", {"action": "create", "name": "tax export"}).content.decode()
    token = alice.api_tokens.get()
    key = re.search(r'<span class="secret">([^<]+)</span>', html).group(1)
    assert key.startswith(token.prefix) and token.digest not in html
    page = alice_client.get("/account/tokens").content.decode()
    assert key not in page and f"{token.prefix}…" in page and "tax export" in page
    alice_client.post("/account/tokens", {"action": "revoke", "token_id": token.pk})
    assert not alice.api_tokens.exists()


def test_reloading_the_page_of_a_new_token_makes_no_second_token_and_shows_no_key(alice_client, alice):
    form = {"action": "create", "name": "tax export", "form_id": "f1"}
    first = alice_client.post("/account/tokens", form).content.decode()
    key = re.search(r'<span class="secret">([^<]+)</span>', first).group(1)
    again = alice_client.post("/account/tokens", form, follow=True).content.decode()
    assert key not in again and "already created" in again
    assert alice.api_tokens.count() == 1
    alice_client.post("/account/tokens", {**form, "form_id": "f2"})
    assert alice.api_tokens.count() == 2


def test_password_reset_sends_a_working_link(client, alice):
    client.post("/account/password-reset", {"email": alice.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/account/password-reset/\S+)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "an-even-longer-phrase-7",
                                                    "new_password2": "an-even-longer-phrase-7"})
    assert done.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("an-even-longer-phrase-7")


def test_complaint_about_a_position(alice_client, alice, usdt_flexible):
    acknowledge(alice, usdt_flexible)
    sub = subscription_create(user=alice, product_id=usdt_flexible.pk, amount="10")
    response = alice_client.post("/complaints", {"target": f"position:{sub.position_id}", "subject": "Late interest",
                                                 "body": "Yesterday's interest is missing."})
    assert response.status_code == 302
    complaint = Complaint.objects.get(user=alice)
    assert complaint.position_id == sub.position_id and complaint.product_id == usdt_flexible.pk
    assert "Late interest" in alice_client.get("/complaints").content.decode()


def test_hk_assessment_fail_then_wait_and_risk_profile(client, assets, fund):
    user = UserFactory(email="hana@hk.example", country="HK", professional_investor=False)
    client.force_login(user)
    product = live_product("USDT", "fixed", risk_rating=4)
    questions = list(AssessmentQuestion.objects.filter(jurisdiction="HK"))
    assert questions, "default HK questions are installed by a migration"
    page = client.get(f"/products/{product.pk}/assessment").content.decode()
    assert questions[0].text_en[:30] in page
    wrong = {q.key: next(c["key"] for c in q.choices if c["key"] != q.answer) for q in questions}
    response = client.post(f"/products/{product.pk}/assessment", wrong, follow=True)
    assert "below the pass mark" in response.content.decode()
    product_page = client.get(f"/products/{product.pk}").content.decode()
    assert "ASSESSMENT_FAILED" not in product_page and "you can retake it later" in product_page
    saved = client.post("/account/risk-profile", {"risk_profile": "moderate", "net_worth_usd": "100000",
                                                   "next": f"/products/{product.pk}/subscribe"})
    assert saved.status_code == 302 and saved["Location"] == f"/products/{product.pk}/subscribe"
    profile = CustomerProfile.objects.get(user=user)
    assert profile.risk_profile == "moderate" and profile.net_worth_usd == 100000
