"""Staff deposits under trust boundaries: a fresh one-time code each time, never to a staff account, and
above the four-eyes threshold only once a second operator approves (issue 14, item 2; SCENARIOS 20)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.urls import get_resolver
from rest_framework.test import APIClient

from accounts.permissions import HasRole
from accounts.roles import CURATOR, OPERATIONS
from core.models import AuditEvent
from ledger.deposits import staff_deposit_approve, staff_deposit_create
from ledger.models import AccountKind, JournalEntry, LedgerAccount, PendingDeposit
from tests.factories import AssetFactory, OtpClient, UserFactory, totp_code

URL = "/api/v1/staff/deposits"


def _operator(email: str, **fields) -> object:
    user = UserFactory(email=email, is_staff=True, **fields)
    user.groups.add(Group.objects.get_or_create(name=OPERATIONS)[0])
    return user


@pytest.fixture
def ops(db, usd_prices):
    return _operator("ops@earn.example")


@pytest.fixture
def checker(db, usd_prices):
    return _operator("ops2@earn.example")


def _available(user, asset: str) -> Decimal:
    row = LedgerAccount.objects.filter(owner=user, asset_id=asset, kind=AccountKind.AVAILABLE).first()
    return row.balance if row else Decimal(0)


def _raw_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- A fresh one-time code -------------------------------------------------------------------------

def test_a_deposit_without_a_code_is_refused(ops, customer):
    response = _raw_client(ops).post(URL, {"user": customer.pk, "asset": "USDT", "amount": "5", "reference": "r1"},
                                     format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "OTP_REQUIRED"
    assert not JournalEntry.objects.exists()


def test_a_wrong_code_is_refused(ops, customer):
    response = _raw_client(ops).post(URL, {"user": customer.pk, "asset": "USDT", "amount": "5", "reference": "r1",
                                           "otp": "000000"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "OTP_INVALID"
    assert not JournalEntry.objects.exists()


def test_a_code_works_once(ops, customer):
    client = _raw_client(ops)
    code = totp_code(ops)
    first = client.post(URL, {"user": customer.pk, "asset": "USDT", "amount": "5", "reference": "r1"}, format="json",
                        HTTP_X_OTP=code)
    assert first.status_code == 201, first.json()
    again = client.post(URL, {"user": customer.pk, "asset": "USDT", "amount": "5", "reference": "r2", "otp": code},
                        format="json")
    assert again.status_code == 403
    assert again.json()["code"] == "OTP_INVALID"
    assert _available(customer, "USDT") == Decimal("5")


def test_staff_without_an_authenticator_get_staff_2fa_required_on_every_staff_endpoint(customer, usd_prices):
    newcomer = UserFactory(email="new-ops@earn.example", is_staff=True, otp_device=False)
    newcomer.groups.add(Group.objects.get_or_create(name=OPERATIONS)[0])
    client = _raw_client(newcomer)
    for response in (client.post(URL, {"user": customer.pk, "asset": "USDT", "amount": "5", "reference": "r"},
                                 format="json"),
                     client.get(URL), client.get("/api/v1/staff/products/1")):
        assert response.status_code == 403
        assert response.json()["code"] == "STAFF_2FA_REQUIRED"
    assert not JournalEntry.objects.exists()


def test_every_staff_endpoint_is_guarded_by_has_role():
    """Every /api/v1/staff/… view checks a role through HasRole, so the 2FA rule applies to all of them."""
    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, route)
            elif route.startswith("api/v1/staff/"):
                found.append((route, pattern.callback.cls))

    walk(get_resolver().url_patterns)
    assert len(found) >= 15
    for route, view in found:
        assert any(isinstance(p, type) and issubclass(p, HasRole) for p in view.permission_classes), route


# --- Never a staff account -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["self", "staff", "superuser", "role_member"])
def test_staff_accounts_are_never_credited(ops, kind):
    if kind == "self":
        target = ops
    elif kind == "staff":
        target = UserFactory(email="colleague@earn.example", is_staff=True)
    elif kind == "superuser":
        target = UserFactory(email="root@earn.example", is_staff=True, is_superuser=True)
    else:  # a customer account in a role group: refused as well (fail closed)
        target = UserFactory(email="grouped@earn.example")
        target.groups.add(Group.objects.get_or_create(name=CURATOR)[0])
    client = OtpClient(ops)
    response = client.post(URL, {"user": target.pk, "asset": "USDT", "amount": "1000000", "reference": f"r-{kind}"},
                           format="json")
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == ("SELF_CREDIT_NOT_ALLOWED" if kind == "self" else "STAFF_ACCOUNT_NOT_ALLOWED")
    assert not JournalEntry.objects.exists() and not PendingDeposit.objects.exists()
    assert _available(target, "USDT") == 0


def test_the_service_refuses_a_staff_recipient_too(ops):
    colleague = UserFactory(email="colleague@earn.example", is_staff=True)
    with pytest.raises(Exception) as refused:
        staff_deposit_create(actor=ops, user_id=colleague.pk, asset="USDT", amount=Decimal("1"), reference="svc",
                             otp=totp_code(ops))
    assert refused.value.code == "STAFF_ACCOUNT_NOT_ALLOWED"


def test_the_customer_may_be_named_by_email(ops, customer):
    response = OtpClient(ops).post(URL, {"user": "Alice@HK.example", "asset": "USDT", "amount": "7",
                                         "reference": "by-email"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["user"] == customer.pk
    assert _available(customer, "USDT") == Decimal("7")
    unknown = OtpClient(ops).post(URL, {"user": "nobody@hk.example", "asset": "USDT", "amount": "7",
                                        "reference": "by-email-2"}, format="json")
    assert (unknown.status_code, unknown.json()["code"], unknown.json()["field"]) == (400, "UNKNOWN_USER", "user")


def test_a_huge_amount_is_a_json_400_not_a_500(ops, checker, customer):
    """Beyond the service's amount limit (core.money.MAX_AMOUNT) the request is refused before anything is stored."""
    from ledger.models import PendingDeposit

    body = {"user": customer.pk, "asset": "USDT", "amount": "99999999999999999999.99999999", "reference": "huge"}
    created = OtpClient(ops).post(URL, body, format="json")
    assert (created.status_code, created.json()["code"], created.json()["field"]) == (400, "INVALID_AMOUNT", "amount")
    assert not PendingDeposit.objects.exists()
    assert _available(customer, "USDT") == 0


# --- Four eyes -------------------------------------------------------------------------------------

@override_settings(STAFF_DEPOSIT_FOUR_EYES_USD=Decimal("10000"))
def test_above_the_threshold_waits_for_a_second_operator(ops, checker, customer):
    maker = OtpClient(ops)
    payload = {"user": customer.pk, "asset": "BTC", "amount": "0.2", "reference": "big-1"}  # 18,000 USD
    created = maker.post(URL, payload, format="json")
    assert created.status_code == 202, created.json()
    body = created.json()
    assert (body["status"], body["entry"]) == ("pending", None)
    assert _available(customer, "BTC") == 0
    assert maker.post(URL, payload, format="json").json() == body  # a replay: the same request, nothing new
    assert maker.post(URL, {**payload, "amount": "0.3"}, format="json").json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    queue = maker.get(URL, {"status": "pending"}).json()["results"]
    assert [(row["id"], row["email"], row["usd_value"]) for row in queue] == [(body["pending"], customer.email,
                                                                              "18000.00")]

    own = maker.post(f"{URL}/{body['pending']}/approve", {}, format="json")
    assert (own.status_code, own.json()["code"]) == (403, "MAKER_CHECKER")
    assert _available(customer, "BTC") == 0

    approved = OtpClient(checker).post(f"{URL}/{body['pending']}/approve", {}, format="json")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == checker.pk
    assert _available(customer, "BTC") == Decimal("0.2")
    again = OtpClient(checker).post(f"{URL}/{body['pending']}/approve", {}, format="json")
    assert again.status_code == 200
    assert _available(customer, "BTC") == Decimal("0.2")
    assert JournalEntry.objects.filter(reference="big-1").count() == 1
    rejected = OtpClient(checker).post(f"{URL}/{body['pending']}/reject", {}, format="json")
    assert (rejected.status_code, rejected.json()["code"]) == (409, "PENDING_DEPOSIT_DECIDED")
    replay = maker.post(URL, payload, format="json")
    assert replay.status_code == 200 and replay.json()["status"] == "approved" and replay.json()["entry"]
    actions = list(AuditEvent.objects.filter(action__startswith="ledger.deposit").order_by("sequence")
                   .values_list("action", "actor_id"))
    assert actions == [("ledger.deposit_request", ops.pk), ("ledger.deposit_approve", checker.pk),
                       ("ledger.deposit_credit", checker.pk)]


def test_approval_needs_a_fresh_code(ops, checker, customer):
    created = OtpClient(ops).post(URL, {"user": customer.pk, "asset": "BTC", "amount": "1", "reference": "big"},
                                  format="json").json()
    response = _raw_client(checker).post(f"{URL}/{created['pending']}/approve", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "OTP_REQUIRED")
    assert _available(customer, "BTC") == 0


def test_a_rejected_request_credits_nothing(ops, checker, customer):
    created = OtpClient(ops).post(URL, {"user": customer.pk, "asset": "BTC", "amount": "1", "reference": "big"},
                                  format="json").json()
    own = OtpClient(ops).post(f"{URL}/{created['pending']}/reject", {"reason": "typo"}, format="json")
    assert own.json()["code"] == "MAKER_CHECKER"
    rejected = OtpClient(checker).post(f"{URL}/{created['pending']}/reject", {"reason": "typo"}, format="json")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    late = OtpClient(checker).post(f"{URL}/{created['pending']}/approve", {}, format="json")
    assert (late.status_code, late.json()["code"]) == (409, "PENDING_DEPOSIT_DECIDED")
    assert _available(customer, "BTC") == 0 and not JournalEntry.objects.exists()
    event = AuditEvent.objects.get(action="ledger.deposit_reject")
    assert (event.actor_id, event.after["reason"]) == (checker.pk, "typo")


def test_under_the_threshold_posts_at_once(ops, customer):
    response = OtpClient(ops).post(URL, {"user": customer.pk, "asset": "USDT", "amount": "10000",
                                         "reference": "at-threshold"}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "posted"
    assert _available(customer, "USDT") == Decimal("10000")


def test_an_asset_without_a_price_needs_four_eyes(ops, customer):
    AssetFactory(code="HSK", scale=8)
    response = OtpClient(ops).post(URL, {"user": customer.pk, "asset": "HSK", "amount": "0.00000001",
                                         "reference": "unpriced"}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert PendingDeposit.objects.get().usd_value is None


@override_settings(STAFF_DEPOSIT_FOUR_EYES_USD=Decimal("100"))
def test_the_threshold_comes_from_settings(ops, customer):
    response = OtpClient(ops).post(URL, {"user": customer.pk, "asset": "USDT", "amount": "100.01",
                                         "reference": "setting"}, format="json")
    assert response.status_code == 202


def test_the_database_holds_maker_is_not_checker_and_final_decisions(ops, checker, customer):
    created = OtpClient(ops).post(URL, {"user": customer.pk, "asset": "BTC", "amount": "1", "reference": "db"},
                                  format="json").json()
    pending = PendingDeposit.objects.filter(pk=created["pending"])
    with pytest.raises(IntegrityError), transaction.atomic():
        pending.update(status="rejected", decided_by=ops, decided_at=pending.get().requested_at)
    with pytest.raises(IntegrityError), transaction.atomic():
        pending.update(amount=Decimal("2"))
    with pytest.raises(IntegrityError), transaction.atomic():
        pending.update(status="approved", decided_by=checker, decided_at=pending.get().requested_at)  # no entry
    OtpClient(checker).post(f"{URL}/{created['pending']}/reject", {}, format="json")
    with pytest.raises(IntegrityError), transaction.atomic():
        pending.update(status="pending", decided_by=None, decided_at=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        pending.delete()


def test_a_recipient_who_became_staff_is_not_credited_on_approval(ops, checker, customer):
    created = OtpClient(ops).post(URL, {"user": customer.pk, "asset": "BTC", "amount": "1", "reference": "late"},
                                  format="json").json()
    customer.is_staff = True
    customer.save()
    response = OtpClient(checker).post(f"{URL}/{created['pending']}/approve", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "STAFF_ACCOUNT_NOT_ALLOWED")
    assert _available(customer, "BTC") == 0


# --- Outside a wrapping transaction ---------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_endpoints_work_outside_a_wrapping_transaction(assets, usd_prices):
    customer = UserFactory(email="c@hk.example")
    maker, checker = _operator("m@earn.example"), _operator("k@earn.example")
    small = OtpClient(maker).post(URL, {"user": customer.email, "asset": "USDT", "amount": "5", "reference": "t1"},
                                  format="json")
    assert small.status_code == 201, small.json()
    first = OtpClient(maker).post(URL, {"user": customer.pk, "asset": "BTC", "amount": "1", "reference": "t2"},
                                  format="json").json()
    second = OtpClient(maker).post(URL, {"user": customer.pk, "asset": "BTC", "amount": "2", "reference": "t3"},
                                   format="json").json()
    assert OtpClient(maker).get(URL, {"status": "pending"}).status_code == 200
    assert OtpClient(checker).post(f"{URL}/{first['pending']}/approve", {}, format="json").status_code == 200
    assert OtpClient(checker).post(f"{URL}/{second['pending']}/reject", {}, format="json").status_code == 200
    assert _available(customer, "BTC") == Decimal("1") and _available(customer, "USDT") == Decimal("5")


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_post_once(assets, usd_prices):
    customer = UserFactory(email="c@hk.example")
    maker = _operator("m@earn.example")
    checkers = [_operator(f"k{n}@earn.example") for n in range(3)]
    pending = staff_deposit_create(actor=maker, user_id=customer.pk, asset="BTC", amount=Decimal("3"),
                                   reference="race", otp=totp_code(maker)).pending
    codes = {c.pk: totp_code(c) for c in checkers}
    barrier = threading.Barrier(len(checkers))
    results, errors = [], []

    def approve(checker):
        try:
            barrier.wait()
            results.append(staff_deposit_approve(actor=checker, pending_id=pending.pk, otp=codes[checker.pk])[1])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(c,)) for c in checkers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == [False, False, True]
    assert _available(customer, "BTC") == Decimal("3")
    assert JournalEntry.objects.filter(reference="race").count() == 1
    assert AuditEvent.objects.filter(action="ledger.deposit_approve").count() == 1


# --- SCENARIOS 20 ---------------------------------------------------------------------------------

def test_scenario_20_operator_money(ops, checker, customer):
    """An operator's deposit needs a fresh one-time code, never credits a staff account, and above the
    four-eyes threshold waits for a second operator."""
    payload = {"user": customer.pk, "asset": "USDT", "amount": "1000000", "reference": "scenario-20"}
    no_code = _raw_client(ops).post(URL, payload, format="json")
    assert no_code.json()["code"] == "OTP_REQUIRED"
    to_self = OtpClient(ops).post(URL, {**payload, "user": ops.pk}, format="json")
    assert to_self.json()["code"] == "SELF_CREDIT_NOT_ALLOWED"
    to_colleague = OtpClient(ops).post(URL, {**payload, "user": checker.email}, format="json")
    assert to_colleague.json()["code"] == "STAFF_ACCOUNT_NOT_ALLOWED"
    waiting = OtpClient(ops).post(URL, payload, format="json")
    assert waiting.status_code == 202
    assert _available(customer, "USDT") == 0 and _available(ops, "USDT") == 0 and _available(checker, "USDT") == 0
    approved = OtpClient(checker).post(f"{URL}/{waiting.json()['pending']}/approve", {}, format="json")
    assert approved.status_code == 200
    assert _available(customer, "USDT") == Decimal("1000000")
