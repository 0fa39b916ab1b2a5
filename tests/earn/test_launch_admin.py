"""Staff set a launch up in the admin console (product fields, checked by the same rules as the service)."""

from __future__ import annotations

import pytest
from django.test import Client

from compliance.models import AuditEvent
from earn.models import Product
from tests.earn.factories import Staff
from tests.factories import admin_login

ADD = "/admin/earn/product/add/"


@pytest.fixture
def staff(db, assets):
    return Staff()


def form(**launch: str) -> dict[str, str]:
    return {
        "name_en": "NEW Launch", "name_zh_hant": "NEW 新幣發行", "asset": "USDT", "term_type": "fixed",
        "strategy": "simple", "category": "lending", "risk_rating": "3",
        "venue": "Launch desk", "chain": "", "contract_address": "",
        "audit_reports": "[]", "tvl_usd": "", "yield_source": "Project incentives", "risk_rationale": "New token",
        "reviewer_notes": "",
        "launch_method": "", "launch_window_start_0": "", "launch_window_start_1": "", "launch_window_end_0": "",
        "launch_window_end_1": "", "launch_quota": "", "launch_min_lot": "", "launch_user_cap": "",
        "terms_versions-TOTAL_FORMS": "0", "terms_versions-INITIAL_FORMS": "0",
        "disclosures-TOTAL_FORMS": "0", "disclosures-INITIAL_FORMS": "0", **launch,
    }


LAUNCH = {"launch_method": "pro_rata", "launch_window_start_0": "2027-01-10", "launch_window_start_1": "08:00:00",
          "launch_window_end_0": "2027-01-11", "launch_window_end_1": "08:00:00", "launch_quota": "1000000",
          "launch_min_lot": "10", "launch_user_cap": "50000"}


def test_the_add_page_shows_the_launch_fields(staff):
    page = admin_login(Client(), staff.curator).get(ADD).content.decode()
    assert "Launch (optional)" in page and 'name="launch_quota"' in page and 'name="launch_method"' in page


def test_curator_sets_up_a_launch_in_the_admin(staff):
    response = admin_login(Client(), staff.curator).post(ADD, form(**LAUNCH))
    assert response.status_code == 302, response.content.decode()[:3000]
    product = Product.objects.get(name_en="NEW Launch")
    assert product.launch_method == "pro_rata" and product.launch_quota == 1000000
    assert product.launch_min_lot == 10 and product.launch_user_cap == 50000
    assert product.launch_window_end > product.launch_window_start
    event = AuditEvent.objects.get(action="product.create", object_id=str(product.pk))
    assert event.after["launch_method"] == "pro_rata"


@pytest.mark.parametrize(("change", "message"), [
    ({"launch_quota": ""}, "A launch needs this field."),
    ({"launch_window_end_0": "2027-01-09"}, "The launch window must close after it opens."),
    ({"launch_min_lot": "2000000"}, "the lot is within the quota"),
    ({"launch_user_cap": "5"}, "The per-user cap is at least the minimum lot."),
    ({"launch_method": "", "launch_quota": "5"}, "Choose the launch allocation"),
])
def test_incomplete_or_inconsistent_launch_settings_are_shown_not_saved(staff, change, message):
    response = admin_login(Client(), staff.curator).post(ADD, form(**{**LAUNCH, **change}))
    assert response.status_code == 200 and message in response.content.decode()
    assert not Product.objects.filter(name_en="NEW Launch").exists()
