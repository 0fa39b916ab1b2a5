"""Two-factor authentication is mandatory for staff: the admin console wants a session verified with a
code, staff without an authenticator are sent to set one up, and staff cannot turn it off (issue 14, item 2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import twofactor
from accounts.roles import OPERATIONS
from accounts.staff import Staff2faRequired
from ledger.deposits import staff_deposit_create
from ledger.models import AccountKind, LedgerAccount, PendingDeposit
from tests.factories import UserFactory, admin_login, totp_code

pytestmark = pytest.mark.django_db
PASSWORD = "pass-word-123"


def _operator(email: str, **fields):
    user = UserFactory(email=email, is_staff=True, **fields)
    user.groups.add(Group.objects.get_or_create(name=OPERATIONS)[0])
    return user


def test_a_password_only_staff_session_cannot_use_the_admin_console():
    staff = _operator("ops@earn.example")
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/account/sign-in/code"
    assert client.get("/admin/ledger/asset/").status_code == 302
    verified = client.post("/account/sign-in/code", {"otp": totp_code(staff)})
    assert verified.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_staff_sign_in_goes_through_the_code_step_to_the_admin_console():
    staff = _operator("ops@earn.example")
    client = Client()
    first = client.post("/account/sign-in?next=/admin/", {"email": staff.email, "password": PASSWORD,
                                                           "next": "/admin/"})
    assert first["Location"] == "/account/sign-in/code"
    assert client.get("/admin/").status_code == 302
    second = client.post("/account/sign-in/code", {"otp": totp_code(staff)})
    assert second["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_staff_without_an_authenticator_are_sent_to_enrol_and_can_do_nothing_else_in_the_admin():
    staff = _operator("new-ops@earn.example", otp_device=False)
    client = Client()
    client.force_login(staff)
    for path in ("/admin/", "/admin/ledger/pendingdeposit/", "/admin/auth/group/"):
        landed = client.get(path, follow=True)
        assert landed.redirect_chain[-1][0] == "/account/security", path
        assert "Staff accounts must use two-factor authentication" in landed.content.decode()
    client.post("/account/security", {"action": "begin"})
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    page = client.post("/account/security", {"action": "confirm", "otp": f"{TOTP(device.bin_key).token():06d}"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Continue to the admin console" in body and 'value="disable"' not in body
    assert client.get("/admin/").status_code == 200  # the confirming code verified this session


def test_customers_still_get_403_from_the_admin_console():
    client = Client()
    client.force_login(UserFactory(email="alice@hk.example"))
    assert client.get("/admin/", follow=True).status_code == 403


def test_staff_cannot_turn_two_factor_authentication_off():
    staff = _operator("ops@earn.example")
    with pytest.raises(Staff2faRequired):
        twofactor.totp_disable(user=staff, code=totp_code(staff))
    assert twofactor.user_has_2fa(staff)


# --- The admin console's four-eyes actions --------------------------------------------------------

def _action(client, action, pending, **data):
    return client.post("/admin/ledger/pendingdeposit/", {"action": action, "_selected_action": [pending.pk], **data},
                       follow=True)


@pytest.fixture
def pending(assets, usd_prices):
    maker = _operator("maker@earn.example")
    customer = UserFactory(email="alice@hk.example")
    outcome = staff_deposit_create(actor=maker, user_id=customer.pk, asset="BTC", amount=Decimal("1"),
                                   reference="admin-1", otp=totp_code(maker))
    return outcome.pending


def test_a_second_operator_approves_in_the_admin_with_a_code(pending):
    checker = _operator("checker@earn.example")
    client = admin_login(Client(), checker)
    assert client.get("/admin/ledger/pendingdeposit/?status__exact=pending").status_code == 200
    form = _action(client, "approve_selected", pending)
    assert "One-time code" in form.content.decode()
    wrong = _action(client, "approve_selected", pending, confirm="yes", otp="000000")
    assert "OTP_INVALID" in wrong.content.decode()
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=5)):  # past the wrong code's throttle delay
        done = _action(client, "approve_selected", pending, confirm="yes", otp=totp_code(checker))
    assert "approve done" in done.content.decode()
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == ("approved", checker)
    assert LedgerAccount.objects.get(owner=pending.user, asset_id="BTC", kind=AccountKind.AVAILABLE).balance == 1


def test_the_requester_cannot_decide_in_the_admin(pending):
    client = admin_login(Client(), pending.requested_by)
    page = _action(client, "reject_selected", pending, confirm="yes", otp=totp_code(pending.requested_by))
    assert "MAKER_CHECKER" in page.content.decode()
    assert PendingDeposit.objects.get().status == "pending"


@pytest.mark.django_db(transaction=True)
def test_admin_rejection_outside_a_wrapping_transaction(assets, usd_prices):
    maker, checker = _operator("maker@earn.example"), _operator("checker@earn.example")
    customer = UserFactory(email="alice@hk.example")
    pending = staff_deposit_create(actor=maker, user_id=customer.pk, asset="BTC", amount=Decimal("1"),
                                   reference="admin-2", otp=totp_code(maker)).pending
    client = admin_login(Client(), checker)
    page = _action(client, "reject_selected", pending, confirm="yes", otp=totp_code(checker), reason="duplicate")
    assert "reject done" in page.content.decode()
    assert PendingDeposit.objects.get().status == "rejected"
