"""Two-factor authentication: set-up, recovery codes, sign-in, API tokens and money moves."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import twofactor
from earn.models import Position
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge, balance
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def code_now(user) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def secured(assets, fund, clock):
    """A customer with 2FA on (and their recovery codes), funded and able to subscribe."""
    user = UserFactory(email="sam@sg.example", country="SG")
    fund(user, "USDT", "1000")
    device = twofactor.totp_setup_begin(user=user)
    codes = twofactor.totp_setup_confirm(user=user, code=f"{TOTP(device.bin_key).token():06d}")
    clock.shift(dt.timedelta(seconds=30))
    return user, codes


def test_setup_needs_a_code_from_the_app_and_makes_ten_recovery_codes(assets):
    user = UserFactory(country="SG")
    device = twofactor.totp_setup_begin(user=user)
    assert not twofactor.user_has_2fa(user)
    with pytest.raises(twofactor.OtpInvalid):
        twofactor.totp_setup_confirm(user=user, code="000000")
    codes = twofactor.totp_setup_confirm(user=user, code=f"{TOTP(device.bin_key).token():06d}")
    assert twofactor.user_has_2fa(user)
    assert len(set(codes)) == 10
    assert twofactor.recovery_codes_left(user) == 10
    assert "<svg" in twofactor.totp_qr_svg(device)


def test_a_recovery_code_works_once(secured):
    user, codes = secured
    twofactor.otp_require(user=user, code=codes[0])
    with pytest.raises(twofactor.OtpInvalid):
        twofactor.otp_require(user=user, code=codes[0])
    assert twofactor.recovery_codes_left(user) == 9


def test_token_api_needs_the_code_when_2fa_is_on(secured, clock):
    user, _codes = secured
    client = APIClient()
    body = {"email": user.email, "password": "pass-word-123"}
    missing = client.post("/api/v1/auth/token", body, format="json")
    assert missing.status_code == 403 and missing.json()["code"] == "OTP_REQUIRED"
    wrong = client.post("/api/v1/auth/token", {**body, "otp": "000000"}, format="json")
    assert wrong.status_code == 403 and wrong.json()["code"] == "OTP_INVALID"
    clock.shift(dt.timedelta(seconds=30))
    good = client.post("/api/v1/auth/token", {**body, "otp": code_now(user)}, format="json")
    assert good.status_code == 200 and good.json()["token"]


def test_subscription_and_redemption_api_need_a_code_once_2fa_is_on(secured, clock):
    user, codes = secured
    product = live_product("USDT", "demand")
    acknowledge(user, product)
    client = APIClient()
    client.force_authenticate(user)
    body = {"product": product.pk, "amount": "100"}
    refused = client.post("/api/v1/subscriptions", body, format="json", HTTP_IDEMPOTENCY_KEY="s1")
    assert refused.status_code == 403 and refused.json()["code"] == "OTP_REQUIRED"
    assert balance(user, "USDT") == 1000 and not Position.objects.filter(user=user).exists()
    wrong = client.post("/api/v1/subscriptions", {**body, "otp": "123456"}, format="json", HTTP_IDEMPOTENCY_KEY="s1")
    assert wrong.status_code == 403 and wrong.json()["code"] == "OTP_INVALID"
    clock.shift(dt.timedelta(seconds=30))
    ok = client.post("/api/v1/subscriptions", {**body, "otp": code_now(user)}, format="json",
                     HTTP_IDEMPOTENCY_KEY="s1")
    assert ok.status_code == 201, ok.content
    position = ok.json()["position"]
    url = f"/api/v1/positions/{position}/redemptions"
    assert client.post(url, {"amount": "40"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="r1").json()["code"] == "OTP_REQUIRED"
    clock.shift(dt.timedelta(seconds=30))
    done = client.post(url, {"amount": "40"}, format="json", HTTP_IDEMPOTENCY_KEY="r1", HTTP_X_OTP=codes[3])
    assert done.status_code == 201, done.content
    assert balance(user, "USDT") == 940


def test_customers_without_2fa_move_money_without_a_code(assets, fund):
    user = UserFactory(country="SG")
    fund(user, "USDT", "100")
    product = live_product("USDT", "demand")
    acknowledge(user, product)
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/v1/subscriptions", {"product": product.pk, "amount": "10"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 201


def test_portal_sign_in_asks_for_the_code_before_the_session_is_signed_in(secured, clock):
    user, _codes = secured
    client = Client()
    first = client.post("/account/sign-in", {"email": user.email, "password": "pass-word-123"})
    assert first.status_code == 302 and first["Location"] == "/account/sign-in/code"
    assert client.get("/dashboard").status_code == 302  # not signed in yet
    bad = client.post("/account/sign-in/code", {"otp": "000000"})
    assert bad.status_code == 200 and "not valid" in bad.content.decode()
    clock.shift(dt.timedelta(seconds=30))
    good = client.post("/account/sign-in/code", {"otp": code_now(user)})
    assert good.status_code == 302 and good["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_a_right_code_refused_during_the_back_off_says_wait_not_invalid(secured, clock):
    """After a wrong code django-otp refuses every code for a moment; the page must not call a right one invalid."""
    user, _codes = secured
    client = Client()
    client.post("/account/sign-in", {"email": user.email, "password": "pass-word-123"})
    clock.shift(dt.timedelta(seconds=30))
    assert "not valid" in client.post("/account/sign-in/code", {"otp": "000000"}).content.decode()
    waited = client.post("/account/sign-in/code", {"otp": code_now(user)}).content.decode()
    assert "wait a few seconds" in waited and "not valid" not in waited
    clock.shift(dt.timedelta(seconds=30))
    assert client.post("/account/sign-in/code", {"otp": code_now(user)}).status_code == 302


def test_portal_confirm_needs_the_code(secured, clock):
    user, _codes = secured
    product = live_product("USDT", "demand")
    acknowledge(user, product)
    client = Client()
    client.force_login(user)
    form = {"step": "confirm", "amount": "50", "idempotency_key": "p1"}
    refused = client.post(f"/products/{product.pk}/subscribe", form)
    assert "A one-time code is needed to move money." in refused.content.decode()
    assert "OTP_REQUIRED" not in refused.content.decode()  # codes only in the API
    assert not Position.objects.filter(user=user).exists()
    clock.shift(dt.timedelta(seconds=30))
    done = client.post(f"/products/{product.pk}/subscribe", {**form, "otp": code_now(user)})
    assert done.status_code == 302
    assert Position.objects.get(user=user).principal == 50


def test_turning_2fa_off_needs_a_code(secured, clock):
    user, codes = secured
    with pytest.raises(twofactor.OtpRequired):
        twofactor.totp_disable(user=user, code="")
    twofactor.totp_disable(user=user, code=codes[0])
    assert not twofactor.user_has_2fa(user)
    twofactor.otp_require(user=user, code=None)  # no 2FA: nothing to check


def test_pool_deposit_and_redemption_api_need_a_code_once_2fa_is_on(secured, clock, fund):
    from pools.models import PoolPosition
    from tests.pools.factories import pool_product

    user, codes = secured
    pool = pool_product("BTC", "USDT")
    acknowledge(user, pool.product)
    fund(user, "BTC", "1")
    fund(user, "USDT", "100000")
    client = APIClient()
    client.force_authenticate(user)
    body = {"product": pool.product_id, "amount": "0.1", "mode": "pair"}
    refused = client.post("/api/v1/pool-deposits", body, format="json", HTTP_IDEMPOTENCY_KEY="p1")
    assert refused.status_code == 403 and refused.json()["code"] == "OTP_REQUIRED"
    assert not PoolPosition.objects.filter(user=user).exists()
    done = client.post("/api/v1/pool-deposits", {**body, "otp": codes[0]}, format="json", HTTP_IDEMPOTENCY_KEY="p1")
    assert done.status_code == 201, done.content
    position = PoolPosition.objects.get(user=user)
    url = f"/api/v1/pool-positions/{position.pk}/redemptions"
    assert client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="w1").json()["code"] == "OTP_REQUIRED"
    assert client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="w1", HTTP_X_OTP=codes[1]).status_code == 201
