"""Issue 21 item 4: the venue exposure page of the operations console — operations and compliance only (with
2FA), figures and breaches shown, a constant number of queries, and the alerts run handed to a worker."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from earn.services.exposure_limits import exposure_limit_save
from tests.earn.factories import live_product, staff_user
from tests.factories import UserFactory, admin_login

pytestmark = pytest.mark.django_db
URL = "/admin/operations/exposure/"


@pytest.fixture
def book(assets, usd_prices):
    """Aave v3: 40 000 USDT + 0.5 BTC × 90 000 = 85 000 USD against 80 000; OTC desk 10 000 (Wintermute)."""
    officer = staff_user("compliance_officer", email="co@earn.example")
    live_product("USDT", venue="Aave v3", name_en="USDT Aave", sold_amount="40000")
    live_product("BTC", venue="Aave v3", name_en="BTC staking", category="staking", sold_amount="0.5")
    live_product("USDT", "fixed", venue="OTC desk", counterparty="Wintermute", name_en="USDT desk",
                 sold_amount="10000")
    exposure_limit_save(actor=officer, kind="venue", name="Aave v3", limit_usd="80000")
    exposure_limit_save(actor=officer, kind="counterparty", name="Wintermute", limit_usd="50000")
    return officer


@pytest.mark.parametrize("role", ["operations", "compliance_officer"])
def test_operations_and_compliance_see_the_figures_and_the_breach(book, role):
    page = admin_login(Client(), staff_user(role, email=f"{role}@earn.example")).get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 limit is breached." in html and "Limit breached" in html
    assert "85,000.00" in html and "80,000.00" in html and "106.25%" in html  # 85 000 / 80 000
    assert "USDT desk" in html and "Wintermute" in html and "20%" in html  # 10 000 / 50 000
    assert "Total across venues" in html and "95,000.00</span> USD" in html
    assert "Edit the limits" in html  # both roles set limits


def test_customers_and_other_staff_are_kept_out(book):
    customer = Client()
    customer.force_login(UserFactory(email="alice@sg.example"))
    assert customer.get(URL).status_code == 302  # not staff: the admin's sign-in
    assert "/admin/login" in customer.get(URL)["Location"] or "sign-in" in customer.get(URL)["Location"]
    curator = admin_login(Client(), staff_user("curator", email="cu@earn.example"))
    assert curator.get(URL).status_code == 403
    no_2fa = Client()
    no_2fa.force_login(staff_user("operations", email="ops2@earn.example"))
    assert no_2fa.get(URL).status_code != 200  # staff without a verified second factor are sent to it
    assert Client().get(URL).status_code == 302


def test_the_page_costs_the_same_queries_however_many_venues(book):
    ops = admin_login(Client(), staff_user("operations", email="ops@earn.example"))
    ops.get(URL)
    with CaptureQueriesContext(connection) as few:
        assert ops.get(URL).status_code == 200
    for n in range(10):
        live_product("USDT", venue=f"Venue {n}", counterparty=f"Borrower {n}", name_en=f"P{n}", sold_amount="10")
        exposure_limit_save(actor=book, kind="venue", name=f"Venue {n}", limit_usd="5")
    with CaptureQueriesContext(connection) as many:
        html = ops.get(URL).content.decode()
    assert "11 limits are breached." in html
    assert len(many) == len(few)


@pytest.mark.django_db(transaction=True)
def test_running_the_alerts_hands_them_to_a_worker_after_the_commit(assets):
    ops = admin_login(Client(), staff_user("operations", email="ops@earn.example"))
    with mock.patch("pools.tasks.risk_alerts_task.delay") as delay:
        response = ops.post(URL, {"action": "alerts"})
    assert response.status_code == 302 and response["Location"] == URL
    delay.assert_called_once_with()
    assert "Risk alerts started for yesterday" in ops.get(URL).content.decode()
    curator = admin_login(Client(), staff_user("curator", email="cu@earn.example"))
    with mock.patch("pools.tasks.risk_alerts_task.delay") as delay:
        assert curator.post(URL, {"action": "alerts"}).status_code == 403
    delay.assert_not_called()


def test_the_limits_admin_is_audited_and_for_compliance_and_operations(book):
    from compliance.models import AuditEvent
    from earn.models import ExposureLimit

    ops = admin_login(Client(), staff_user("operations", email="ops@earn.example"))
    response = ops.post("/admin/earn/exposurelimit/add/", {"kind": "venue", "name": "Lido", "limit_usd": "250000",
                                                            "note": "staking review"})
    assert response.status_code == 302
    lido = ExposureLimit.objects.get(name="Lido")
    event = AuditEvent.objects.get(action="exposure_limit.create", object_id=str(lido.pk))
    assert event.after == {"kind": "venue", "name": "Lido", "limit_usd": "250000", "note": "staking review"}
    again = ops.post("/admin/earn/exposurelimit/add/", {"kind": "venue", "name": "LIDO", "limit_usd": "1"})
    assert again.status_code == 200 and ExposureLimit.objects.filter(name__iexact="lido").count() == 1
    curator = admin_login(Client(), staff_user("curator", email="cu@earn.example"))
    assert curator.get("/admin/earn/exposurelimit/").status_code == 403
    assert ops.post(f"/admin/earn/exposurelimit/{lido.pk}/delete/", {"post": "yes"}).status_code == 302
    assert AuditEvent.objects.filter(action="exposure_limit.delete", object_id=str(lido.pk)).exists()
