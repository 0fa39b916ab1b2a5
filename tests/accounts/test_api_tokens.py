"""API tokens: hashed at rest, shown once, expiring, listed and revoked by their owner, ended with the credentials."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import twofactor
from accounts.models import ApiToken
from accounts.tokens import CredentialsChanged, api_token_create
from core.models import AuditEvent
from tests.factories import UserFactory, admin_login

pytestmark = pytest.mark.django_db

OBTAIN = "/api/v1/auth/token"
LIST = "/api/v1/auth/tokens"
PASSWORD = "pass-word-123"


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def alice(assets):
    return UserFactory(email="alice@sg.example", country="SG")


def obtain(user, **extra) -> dict:
    response = APIClient().post(OBTAIN, {"email": user.email, "password": PASSWORD, **extra}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key: str) -> bool:
    status = with_key(key).get("/api/v1/balances").status_code
    assert status in (200, 401)
    return status == 200


def enable_2fa(user) -> None:
    device = twofactor.totp_setup_begin(user=user)
    twofactor.totp_setup_confirm(user=user, code=f"{TOTP(device.bin_key).token():06d}")


def current_code(user) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


# --- At rest and on the wire ---------------------------------------------------------------------

def test_token_is_stored_as_a_digest_and_works_as_the_header(alice, clock):
    body = obtain(alice, name="tax export")
    key = body["token"]
    row = ApiToken.objects.get(pk=body["id"])
    assert row.digest == hashlib.sha256(key.encode()).hexdigest()
    assert (body["prefix"], body["name"]) == (key[:8], "tax export") and row.prefix == key[:8]
    assert body["expires_at"] == (timezone.now() + dt.timedelta(days=30)).isoformat().replace("+00:00", "Z")
    assert len(key) >= 43  # 256 random bits
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(t)::text FROM accounts_apitoken t")
        stored = " ".join(r[0] for r in cursor.fetchall())
    assert key not in stored and key[8:24] not in stored
    assert "authtoken_token" not in connection.introspection.table_names()  # no plaintext table left
    assert works(key)
    assert not works(key[:-1] + ("A" if key[-1] != "A" else "B"))


def test_expired_token_is_401_token_expired(alice, clock, settings):
    settings.API_TOKEN_TTL_DAYS = 2
    key = obtain(alice)["token"]
    clock.shift(dt.timedelta(days=2) - dt.timedelta(seconds=1))
    assert works(key)
    clock.shift(dt.timedelta(seconds=1))
    response = with_key(key).get("/api/v1/balances")
    assert response.status_code == 401
    assert response.json()["code"] == "TOKEN_EXPIRED" and response.json()["detail"]
    assert response["WWW-Authenticate"] == "Token"


def test_unknown_and_malformed_tokens_are_401_not_500(alice):
    for header in ("Token nope", "Token " + "x" * 5000, "Token a b", "Token"):
        response = APIClient().get("/api/v1/balances", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert response.json()["code"] == "AUTHENTICATION_FAILED"
    # A NUL in any header is refused before authentication (core.middleware.NulCharacterMiddleware).
    response = APIClient().get("/api/v1/balances", HTTP_AUTHORIZATION="Token a\x00b")
    assert (response.status_code, response.json()["code"]) == (400, "NUL_CHARACTER")


def test_last_used_is_written_at_most_once_a_minute(alice, clock, django_assert_num_queries):
    key = obtain(alice)["token"]
    token = ApiToken.objects.get(user=alice)
    assert token.last_used_at is None
    client = with_key(key)
    client.get("/api/v1/balances")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first == timezone.now()
    clock.shift(dt.timedelta(seconds=59))
    with django_assert_num_queries(2):  # the token with its user, the balances: no write
        client.get("/api/v1/balances")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    clock.shift(dt.timedelta(seconds=1))
    client.get("/api/v1/balances")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first + dt.timedelta(minutes=1)


def test_live_tokens_per_user_are_limited(alice, settings, clock):
    settings.API_TOKEN_MAX_PER_USER = 2
    obtain(alice)
    obtain(alice)
    response = APIClient().post(OBTAIN, {"email": alice.email, "password": PASSWORD}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "TOKEN_LIMIT"
    clock.shift(dt.timedelta(days=31))  # expired tokens are cleared when the next one is made
    obtain(alice)
    assert alice.api_tokens.count() == 1


# --- Listed and revoked by their owner -----------------------------------------------------------

def test_listed_without_the_secret(alice, clock):
    first = obtain(alice, name="one")
    clock.shift(dt.timedelta(minutes=5))
    second = obtain(alice, name="two")
    works(second["token"])
    response = with_key(first["token"]).get(LIST)
    assert response.status_code == 200
    rows = response.json()
    assert [r["id"] for r in rows] == [second["id"], first["id"]]
    assert set(rows[0]) == {"id", "name", "prefix", "created_at", "expires_at", "last_used_at"}
    assert rows[0]["name"] == "two" and rows[0]["prefix"] == second["token"][:8] and rows[0]["last_used_at"]
    text = response.content.decode()
    for body in (first, second):
        assert body["token"] not in text
        assert ApiToken.objects.get(pk=body["id"]).digest not in text
    assert APIClient().get(LIST).status_code == 401


def test_revoke_own_token_and_not_another_customers(alice):
    mine, spare = obtain(alice)["token"], obtain(alice)
    bob = UserFactory(email="bob@sg.example", country="SG")
    bobs = obtain(bob)
    client = with_key(mine)
    response = client.delete(f"{LIST}/{bobs['id']}")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    assert works(bobs["token"])
    for junk in ("99999999999999999999", "0"):
        assert client.delete(f"{LIST}/{junk}").status_code == 404
    assert client.delete(f"{LIST}/{spare['id']}").status_code == 204
    assert not works(spare["token"]) and works(mine)
    event = AuditEvent.objects.filter(action="account.api_token_revoke").get()
    assert event.actor_id == alice.pk and event.before["prefix"] == spare["prefix"]
    created = AuditEvent.objects.filter(action="account.api_token_create", actor_id=alice.pk)
    assert created.count() == 2
    assert all(spare["token"] not in json.dumps([e.before, e.after]) for e in AuditEvent.objects.all())


# --- Ended with the credentials ------------------------------------------------------------------

def revoked_all(user, reason: str) -> bool:
    return AuditEvent.objects.filter(action="account.api_tokens_revoke_all", object_id=str(user.pk),
                                     after__reason=reason).exists()


def test_portal_password_change_ends_all_tokens(alice):
    keys = [obtain(alice)["token"], obtain(alice)["token"]]
    bob = UserFactory(email="bob@sg.example", country="SG")
    bobs = obtain(bob)["token"]
    client = Client()
    client.force_login(alice)
    response = client.post("/account/password", {"old_password": PASSWORD, "new_password1": "another-phrase-42",
                                                  "new_password2": "another-phrase-42"})
    assert response.status_code == 302
    assert not any(works(k) for k in keys) and not alice.api_tokens.exists()
    assert works(bobs)
    assert revoked_all(alice, "password_change")


def test_password_reset_ends_all_tokens(alice):
    key = obtain(alice)["token"]
    client = Client()
    client.post("/account/password-reset", {"email": alice.email})
    link = re.search(r"http://testserver(/account/password-reset/\S+)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "an-even-longer-phrase-7",
                                                    "new_password2": "an-even-longer-phrase-7"})
    assert done.status_code == 302
    assert not works(key)


def test_set_password_anywhere_ends_all_tokens_but_a_hash_upgrade_does_not(alice, settings):
    key = obtain(alice)["token"]
    # A sign-in that rehashes the password (stronger hasher settings) keeps the tokens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.ScryptPasswordHasher",
                                 *settings.PASSWORD_HASHERS]
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    alice.refresh_from_db()
    assert alice.password.startswith("scrypt$") and works(key)
    alice.set_password("shell-changed-it-9")
    alice.save()
    assert not works(key)


def test_turning_2fa_on_ends_all_tokens(alice, clock):
    key = obtain(alice)["token"]
    enable_2fa(alice)
    assert not works(key)
    assert revoked_all(alice, "2fa_enable")


def test_turning_2fa_off_ends_all_tokens(alice, clock):
    enable_2fa(alice)
    clock.shift(dt.timedelta(seconds=30))
    key = obtain(alice, otp=current_code(alice))["token"]
    assert works(key)
    clock.shift(dt.timedelta(seconds=30))
    twofactor.totp_disable(user=alice, code=current_code(alice))
    assert not works(key)
    assert revoked_all(alice, "2fa_disable")


def test_authenticator_deleted_elsewhere_ends_all_tokens(alice, clock):
    enable_2fa(alice)
    clock.shift(dt.timedelta(seconds=30))
    key = obtain(alice, otp=current_code(alice))["token"]
    TOTPDevice.objects.filter(user=alice).delete()
    assert not works(key)
    assert revoked_all(alice, "2fa_device_removed")


# --- No admin page shows a secret ----------------------------------------------------------------

def test_admin_shows_no_token_key_totp_secret_or_recovery_code(alice, clock):
    enable_2fa(alice)
    clock.shift(dt.timedelta(seconds=30))
    body = obtain(alice, otp=current_code(alice))
    token = ApiToken.objects.get(pk=body["id"])
    device = TOTPDevice.objects.get(user=alice)
    secrets = [body["token"], token.digest, device.key, base64.b32encode(device.bin_key).decode().rstrip("="),
               *StaticToken.objects.filter(device__user=alice).values_list("token", flat=True)]
    admin = Client()
    admin_login(admin, UserFactory(email="root@earn.example", is_staff=True, is_superuser=True))
    static = alice.staticdevice_set.get()
    pages = ["/admin/", "/admin/accounts/apitoken/", f"/admin/accounts/apitoken/{token.pk}/change/",
             "/admin/otp_totp/totpdevice/", f"/admin/otp_totp/totpdevice/{device.pk}/change/",
             f"/admin/otp_totp/totpdevice/{device.pk}/config/", "/admin/otp_totp/totpdevice/add/",
             "/admin/otp_static/staticdevice/", f"/admin/otp_static/staticdevice/{static.pk}/change/",
             "/admin/otp_static/statictoken/", "/admin/authtoken/tokenproxy/", "/admin/compliance/auditevent/"]
    pages += [f"/admin/compliance/auditevent/{e.pk}/change/" for e in AuditEvent.objects.all()]
    for url in pages:
        html = admin.get(url, follow=True).content.decode()
        for secret in secrets:
            assert secret not in html, (url, "shows a secret")
    assert admin.get("/admin/accounts/apitoken/").status_code == 200
    assert body["prefix"] in admin.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    for url in ("/admin/otp_totp/totpdevice/", "/admin/otp_static/staticdevice/"):
        assert admin.get(url).status_code == 404


def test_admin_revokes_a_token_with_an_audit_event(alice):
    body = obtain(alice)
    root = UserFactory(email="root@earn.example", is_staff=True, is_superuser=True)
    admin = Client()
    admin_login(admin, root)
    response = admin.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [body["id"]]})
    assert response.status_code == 302
    assert not works(body["token"])
    assert AuditEvent.objects.get(action="account.api_token_revoke").actor_id == root.pk


# --- Outside a wrapping transaction --------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_endpoints_and_portal_posts_commit_outside_a_test_transaction(assets):
    alice = UserFactory(email="alice@sg.example", country="SG")
    body = obtain(alice, name="ci")
    other = obtain(alice)
    assert works(body["token"])
    assert with_key(body["token"]).delete(f"{LIST}/{other['id']}").status_code == 204
    portal = Client()
    portal.force_login(alice)
    page = portal.post("/account/tokens", {"action": "create", "name": "portal"})
    assert page.status_code == 200
    key = re.search(r'<span class="secret">([^<]+)</span>', page.content.decode()).group(1)
    assert works(key)
    made = ApiToken.objects.get(user=alice, name="portal")
    assert portal.post("/account/tokens", {"action": "revoke", "token_id": made.pk}).status_code == 302
    assert not works(key) and works(body["token"])
    assert portal.post("/account/tokens", {"action": "revoke", "token_id": "junk"}).status_code == 302
    response = portal.post("/account/password", {"old_password": PASSWORD, "new_password1": "another-phrase-42",
                                                 "new_password2": "another-phrase-42"})
    assert response.status_code == 302 and not works(body["token"])
    assert AuditEvent.objects.filter(action="account.api_tokens_revoke_all").count() == 1


@pytest.mark.django_db(transaction=True)
def test_portal_2fa_on_ends_tokens_outside_a_test_transaction(assets):
    alice = UserFactory(email="alice@sg.example", country="SG")
    key = obtain(alice)["token"]
    portal = Client()
    portal.force_login(alice)
    portal.post("/account/security", {"action": "begin"})
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    response = portal.post("/account/security", {"action": "confirm", "otp": f"{TOTP(device.bin_key).token():06d}"})
    assert response.status_code == 200 and twofactor.user_has_2fa(alice)
    assert not works(key)


def test_portal_create_needs_the_code_when_2fa_is_on(alice, clock):
    enable_2fa(alice)
    clock.shift(dt.timedelta(seconds=30))
    portal = Client()
    portal.force_login(alice)
    refused = portal.post("/account/tokens", {"action": "create", "name": "x"})
    assert refused.status_code == 200 and not alice.api_tokens.exists()
    portal.post("/account/tokens", {"action": "create", "name": "x", "otp": current_code(alice)})
    assert alice.api_tokens.count() == 1


def test_token_service_refuses_when_the_password_changed_meanwhile(alice):
    stale = type(alice).objects.get(pk=alice.pk)
    alice.set_password("changed-meanwhile-1")
    alice.save()
    with pytest.raises(CredentialsChanged):
        api_token_create(user=stale)


def test_tokens_page_in_traditional_chinese(alice, clock):
    obtain(alice, name="報稅")
    portal = Client()
    portal.force_login(alice)
    portal.cookies["django_language"] = "zh-hant"
    page = portal.get("/account/tokens").content.decode()
    assert "權杖在 30 日後到期" in page and "上次使用" in page and "報稅" in page
