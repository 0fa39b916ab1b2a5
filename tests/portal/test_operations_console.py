"""Issue 19 item 9: the operations console finds a customer by email, credits a deposit (with a one-time code),
runs or resumes accrual with its progress, and settles; other staff are refused."""

from __future__ import annotations

from unittest import mock

import pytest
from django.test import Client

from compliance.models import AuditEvent
from tests.earn.factories import staff_user
from tests.earn.helpers import balance
from tests.factories import UserFactory, admin_login, totp_code

pytestmark = pytest.mark.django_db
URL = "/admin/operations/"


@pytest.fixture
def ops(assets):
    return admin_login(Client(), staff_user("operations", email="ops@earn.example"))


def test_find_a_customer_by_email(ops, fund):
    carol = UserFactory(email="carol@us.example")
    fund(carol, "USDT", "1234.5")
    page = ops.get(URL, {"email": "carol@us.example"}).content.decode()
    assert "carol@us.example" in page and "1234.50000000" in page
    assert AuditEvent.objects.filter(action="customer.lookup", object_id=str(carol.pk)).exists()
    assert "No customer has this email address." in ops.get(URL, {"email": "nobody@x.example"}).content.decode()


def test_credit_a_deposit_with_a_one_time_code(ops, usd_prices):
    carol = UserFactory(email="carol@us.example")
    operator = ops.session["_auth_user_id"]
    from accounts.models import User

    form = {"action": "deposit", "email": "carol@us.example", "asset": "USDT", "amount": "250", "reference": "wire-1",
            "otp": totp_code(User.objects.get(pk=operator))}
    response = ops.post(URL, form, follow=True)
    assert "Credited 250 USDT to carol@us.example." in response.content.decode()
    assert balance(carol, "USDT") == 250
    again = ops.post(URL, {**form, "otp": "000000"}).content.decode()
    assert "one-time code" in again.lower() and balance(carol, "USDT") == 250


def test_run_accrual_and_settle_are_handed_to_the_workers(ops, django_capture_on_commit_callbacks):
    with mock.patch("earn.tasks.accrual_task.delay") as accrue, mock.patch("earn.tasks.accrual_sweep_task.delay"), \
            mock.patch("earn.tasks.settle_task.delay") as settle, \
            django_capture_on_commit_callbacks(execute=True):
        assert ops.post(URL, {"action": "accrue"}).status_code == 302
        assert ops.post(URL, {"action": "settle"}).status_code == 302
    assert accrue.called and settle.called
    page = ops.get(URL).content.decode()
    assert "Run or resume accrual" in page and "No accrual run yet." in page


def test_other_staff_are_refused(assets):
    client = admin_login(Client(), staff_user("curator", email="cu@earn.example"))
    assert client.get(URL).status_code == 403
