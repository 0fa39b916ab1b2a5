"""The KYC provider's webhook: HMAC-SHA256 over the raw body, replay refused, one audited transaction."""

from __future__ import annotations

import json
import time

import pytest
from rest_framework.test import APIClient

from accounts.kyc import webhook_signature
from accounts.models import KycStatus, KycWebhookEvent, User
from compliance.models import CustomerProfile
from core.models import AuditEvent
from tests.factories import UserFactory

SECRET = "provider-shared-secret"
URL = "/api/v1/kyc/webhook"


@pytest.fixture
def secret(settings):
    settings.KYC_WEBHOOK_SECRET = SECRET
    return SECRET


@pytest.fixture
def newcomer(db):
    return UserFactory(email="new@sg.example", country="SG", kyc_status=KycStatus.UNVERIFIED, kyc_verified_at=None,
                       professional_investor=False)


def event(user: User | None = None, **fields) -> dict:
    body = {"event_id": "evt-1", "timestamp": int(time.time()), "status": "verified", "country": "SG"}
    if user is not None:
        body["user_id"] = user.pk
    return {**body, **fields}


def send(payload: dict | bytes, *, signature: str | None = "sign", secret: str = SECRET):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {}
    if signature == "sign":
        headers["HTTP_X_KYC_SIGNATURE"] = webhook_signature(raw, secret)
    elif signature is not None:
        headers["HTTP_X_KYC_SIGNATURE"] = signature
    return APIClient().generic("POST", URL, raw, content_type="application/json", **headers)


def test_a_signed_event_verifies_the_customer_in_one_audited_step(secret, newcomer):
    response = send(event(newcomer, country="GB", investor_class="professional"))
    assert response.status_code == 200, response.json()
    assert response.json() == {"event_id": "evt-1", "user_id": newcomer.pk, "status": "verified"}
    newcomer.refresh_from_db()
    assert (newcomer.kyc_status, newcomer.country, newcomer.kyc_source, newcomer.kyc_verified_by) == (
        "verified", "GB", "provider", None)
    assert newcomer.declared_country == "SG"  # what the customer said is kept
    assert CustomerProfile.objects.get(user=newcomer).professional_investor is True
    audit = AuditEvent.objects.get(action="kyc.provider_event")
    assert (audit.actor_id, audit.after["via"], audit.after["event_id"]) == (None, "kyc_provider", "evt-1")
    assert (audit.before["kyc_status"], audit.after["country"]) == ("unverified", "GB")


def test_by_email_and_a_rejection(secret, newcomer):
    response = send(event(email="NEW@sg.example", status="rejected", country=""))
    assert response.status_code == 200, response.json()
    newcomer.refresh_from_db()
    assert (newcomer.kyc_status, newcomer.country) == ("rejected", "SG")


@pytest.mark.parametrize("signature", [None, "", "sha256=" + "0" * 64, "not-hex", "sha256=ü"])
def test_a_bad_or_missing_signature_is_401_and_changes_nothing(secret, newcomer, signature):
    response = send(event(newcomer), signature=signature)
    assert (response.status_code, response.json()["code"]) == (401, "SIGNATURE_INVALID")
    newcomer.refresh_from_db()
    assert newcomer.kyc_status == "unverified" and not KycWebhookEvent.objects.exists()


def test_signed_with_another_secret_is_401(secret, newcomer):
    assert send(event(newcomer), secret="guessed").status_code == 401


def test_a_replayed_event_is_409(secret, newcomer):
    payload = event(newcomer)
    assert send(payload).status_code == 200
    replay = send(payload)
    assert (replay.status_code, replay.json()["code"]) == (409, "EVENT_REPLAYED")
    assert send({**payload, "status": "rejected"}).status_code == 409  # same id, other content: still refused
    newcomer.refresh_from_db()
    assert newcomer.kyc_status == "verified"
    assert AuditEvent.objects.filter(action="kyc.provider_event").count() == 1


def test_a_stale_timestamp_is_401(secret, newcomer):
    response = send(event(newcomer, timestamp=int(time.time()) - 3600))
    assert response.status_code == 401
    assert send(event(newcomer, timestamp=10**11)).status_code == 401


def test_unknown_user_is_404_and_the_event_id_stays_usable(secret, newcomer):
    response = send(event(user_id=999_999_999))
    assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")
    assert send(event(newcomer)).status_code == 200


def test_without_a_secret_nothing_is_accepted(settings, newcomer):
    settings.KYC_WEBHOOK_SECRET = ""
    response = send(event(newcomer), secret="")
    assert (response.status_code, response.json()["code"]) == (404, "WEBHOOK_DISABLED")
    newcomer.refresh_from_db()
    assert newcomer.kyc_status == "unverified"


@pytest.mark.parametrize("raw", [b"[" * 3000, b"not json", b"[]", b"\xff\xfe", b'{"event_id": "a\\u0000b"}',
                                 json.dumps({"event_id": "e", "timestamp": 1, "status": "verified"}).encode(),
                                 json.dumps({"event_id": "e", "timestamp": "x", "user_id": 1,
                                             "status": "verified"}).encode()])
def test_hostile_signed_bodies_get_a_json_400(secret, newcomer, raw):
    response = send(raw)
    assert response.status_code == 400, response.content
    assert "code" in response.json()


def test_a_verified_event_needs_the_country(secret, newcomer):
    response = send(event(newcomer, country=""))
    assert (response.status_code, response.json()["field"]) == (400, "country")


@pytest.mark.django_db(transaction=True)
def test_webhook_outside_a_wrapping_transaction(settings):
    settings.KYC_WEBHOOK_SECRET = SECRET
    user = UserFactory(country="SG", kyc_status=KycStatus.UNVERIFIED, kyc_verified_at=None)
    payload = event(user, event_id="evt-tx")
    assert send(payload).status_code == 200
    assert send(payload).status_code == 409
    assert send(event(user_id=999_999, event_id="evt-tx-2")).status_code == 404
    user.refresh_from_db()
    assert user.kyc_status == "verified"
    assert KycWebhookEvent.objects.filter(event_id="evt-tx").count() == 1


def test_a_form_body_is_415_not_500(secret, newcomer):
    """Only the signed JSON body is accepted; a multipart or form body (once read, its raw bytes are gone) is 415."""
    for client_kwargs in ({"format": "multipart"}, {"content_type": "application/x-www-form-urlencoded"}):
        response = APIClient().post(URL, {"event_id": "evt-form", "status": "verified", "user_id": newcomer.pk},
                                    HTTP_X_KYC_SIGNATURE="sha256=" + "0" * 64, **client_kwargs)
        assert response.status_code == 415, response.content
        assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    newcomer.refresh_from_db()
    assert newcomer.kyc_status == KycStatus.UNVERIFIED
