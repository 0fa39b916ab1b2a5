"""Issue 21 in a browser, as staff see it: a compliance officer previews a category rule before it takes
effect (whom it reaches, positions left open) and saves it; operations read the venue exposure page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import COMPLIANCE_OFFICER, OPERATIONS
from accounts.services import roles_sync
from compliance.models import CategoryRule
from earn.services.exposure_limits import exposure_limit_save
from earn.services.subscriptions import subscription_create
from tests.e2e.conftest import shot
from tests.e2e.data import world
from tests.e2e.test_trust import staff_sign_in
from tests.earn.factories import live_product, staff_user
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory, totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_category_rule_is_previewed_then_saved_and_exposure_is_read(new_page):
    w = world()
    roles_sync()
    staking = live_product("USDT", name_en="USDT Staking", category="staking", venue="Lido", sold_amount="0")
    holder = UserFactory(country="DE", email="dora@de.example", professional_investor=False)
    from ledger.services import deposit_credit

    deposit_credit(user_id=holder.pk, asset="USDT", amount="500", reference="e2e-risk-fund")
    acknowledge(holder, staking)
    subscription_create(user=holder, product_id=staking.pk, amount="200")
    UserFactory(country="DE", email="dirk@de.example", professional_investor=False)

    officer = staff_user(COMPLIANCE_OFFICER, email="olga@earn.example")
    page = new_page()
    staff_sign_in(page, officer.email, totp_code(officer), next_url="/admin/compliance/categoryrule/add/")
    expect(page).to_have_url(re.compile(r"/admin/compliance/categoryrule/add/$"))
    page.fill("#id_jurisdiction", "DE")
    page.select_option("#id_category", "staking")
    page.select_option("#id_investor_class", "retail")
    page.fill("#id_notes", "BaFin view on retail staking (test)")
    if page.locator("#id_permitted").is_checked():
        page.uncheck("#id_permitted")
    page.locator("input[name=_save]").click()
    # Nothing is saved yet: the preview says whom the rule reaches and that positions stay open.
    expect(page.locator("#preview-customers")).to_have_text("2")
    expect(page.locator("#preview-customers-holding")).to_have_text("1")
    expect(page.locator("#preview-positions")).to_have_text("1")
    expect(page.get_by_text("USDT Staking").first).to_be_visible()
    shot(page, "risk-01-category-rule-preview")
    assert not CategoryRule.objects.filter(jurisdiction="DE", category="staking", created_by=officer).exists()
    page.locator("input[name=_confirmed]").locator("xpath=ancestor::form").locator(
        "input[type=submit], button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/admin/compliance/categoryrule/"))
    shot(page, "risk-02-category-rule-saved")
    rule = CategoryRule.objects.get(jurisdiction="DE", category="staking", created_by=officer)
    assert rule.permitted is False

    ops = staff_user(OPERATIONS, email="otto@earn.example")
    exposure_limit_save(actor=ops, kind="venue", name="Lido", limit_usd="100")
    page = new_page()
    staff_sign_in(page, ops.email, totp_code(ops), next_url="/admin/operations/exposure/")
    expect(page).to_have_url(re.compile(r"/admin/operations/exposure/$"))
    expect(page.get_by_text("1 limit is breached.")).to_be_visible()
    expect(page.get_by_text("Lido").first).to_be_visible()
    expect(page.get_by_text("200%").first).to_be_visible()  # 200 USDT at 1 USD against 100
    shot(page, "risk-03-exposure")
    assert w  # the world's products are there too, under their own (unlimited) venues
