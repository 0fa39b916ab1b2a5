"""Admin console: pages render for each role, actions follow the roles and call the services."""

from __future__ import annotations

import pytest
from django.test import Client

from compliance.models import Disclosure, DisclosureStatus
from compliance.services.disclosures import disclosure_draft
from core.models import AuditEvent
from earn.models import Product, ProductStatus, ProductTerms, TermsStatus
from tests.earn.factories import Staff, complete_sections, draft_product, live_product, product_in_status
from tests.factories import admin_login

ROLES = ["curator", "approver", "compliance", "operations"]
CHANGELIST = "/admin/earn/product/"


@pytest.fixture
def staff(db, assets):
    return Staff()


def login(user):
    client = admin_login(Client(), user)
    return client


def action(client, url, name, ids, **extra):
    return client.post(url, {"action": name, "_selected_action": [str(i) for i in ids], **extra})


@pytest.mark.parametrize("role", ROLES)
def test_product_pages_render_for_each_role(staff, role):
    """Changelist (with filters), change page (checklist, rate schedule, disclosures) and terms pages."""
    product = live_product("USDT", tiers=[(0, 10000, "0.06"), (10000, None, "0.03")])
    draft = draft_product(staff.curator)
    client = login(getattr(staff, role))
    response = client.get(CHANGELIST + "?status=live&term_type=demand")
    assert response.status_code == 200
    assert product.name_en in response.content.decode()
    for pk in (product.pk, draft.pk):
        page = client.get(f"{CHANGELIST}{pk}/change/")
        assert page.status_code == 200
        html = page.content.decode()
        assert "vetting checklist" in html.lower() and "rate schedule" in html.lower()
    html = client.get(f"{CHANGELIST}{product.pk}/change/").content.decode()
    assert "6.0000 %" in html and "3.0000 %" in html  # tiers inline
    assert client.get("/admin/earn/productterms/").status_code == 200
    assert client.get(f"/admin/earn/productterms/{product.terms.pk}/change/").status_code == 200
    assert client.get("/admin/compliance/disclosure/").status_code == 200


@pytest.mark.parametrize(("role", "offered", "withheld"), [
    ("curator", {"submit_selected"}, {"approve_selected", "reject_selected", "go_live_selected"}),
    ("approver", {"approve_selected", "reject_selected"}, {"submit_selected", "go_live_selected"}),
    ("operations", {"go_live_selected", "pause_selected", "close_selected"}, {"approve_selected", "submit_selected"}),
    ("compliance", set(), {"approve_selected", "submit_selected", "go_live_selected"}),
])
def test_actions_follow_the_roles(staff, role, offered, withheld):
    live_product("USDT")
    html = login(getattr(staff, role)).get(CHANGELIST).content.decode()
    assert all(f'value="{a}"' in html for a in offered)
    assert not any(f'value="{a}"' in html for a in withheld)


def test_add_page_only_for_curators(staff):
    assert login(staff.curator).get(CHANGELIST + "add/").status_code == 200
    assert login(staff.approver).get(CHANGELIST + "add/").status_code == 403


def test_customers_are_sent_to_the_login_page(staff):
    response = login(staff.customer).get(CHANGELIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_curator_drafts_in_the_admin_through_the_service(staff):
    response = login(staff.curator).post(CHANGELIST + "add/", {
        "name_en": "BTC Flexible", "name_zh_hant": "BTC 活期", "asset": "BTC", "term_type": "demand",
        "strategy": "simple", "category": "lending", "risk_rating": "2",
        "venue": "Lending desk", "chain": "", "contract_address": "",
        "audit_reports": "[]", "tvl_usd": "", "yield_source": "Margin loans", "risk_rationale": "Collateralised",
        "reviewer_notes": "",
        "terms_versions-TOTAL_FORMS": "0", "terms_versions-INITIAL_FORMS": "0",
        "disclosures-TOTAL_FORMS": "0", "disclosures-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    product = Product.objects.get(name_en="BTC Flexible")
    assert product.status == ProductStatus.DRAFT and product.drafted_by == staff.curator
    assert AuditEvent.objects.filter(action="product.create", object_id=str(product.pk)).exists()


def test_curator_proposes_terms_with_tiers_in_the_admin(staff):
    product = product_in_status("live", staff)
    client = login(staff.curator2)
    assert client.get(f"/admin/earn/productterms/add/?product={product.pk}").status_code == 200
    response = client.post("/admin/earn/productterms/add/", {
        "product": product.pk, "effective_from": "2099-01-01", "term_days": "", "day_count_basis": "365",
        "payout": "daily", "min_amount": "1", "max_amount": "", "per_user_cap": "", "total_cap": "3000000",
        "window_start_0": "", "window_start_1": "", "window_end_0": "", "window_end_1": "",
        "early_redemption": "not_allowed", "penalty_apr": "", "redemption_modes": '["fast"]',
        "auto_renew_allowed": "",
        "tiers-TOTAL_FORMS": "2", "tiers-INITIAL_FORMS": "0",
        "tiers-0-lower": "0", "tiers-0-upper": "5000", "tiers-0-apr": "0.07",
        "tiers-1-lower": "5000", "tiers-1-upper": "", "tiers-1-apr": "0.02",
    })
    assert response.status_code == 302, response.content.decode()[:4000]
    v2 = ProductTerms.objects.get(product=product, version=2)
    assert v2.status == TermsStatus.PENDING and v2.drafted_by == staff.curator2
    assert [(str(t.lower.normalize()), str(t.apr.normalize())) for t in v2.tiers.all()] == [("0", "0.07"),
                                                                                         ("5E+3", "0.02")]
    # The approver approves it from the terms list.
    client = login(staff.approver)
    page = action(client, "/admin/earn/productterms/", "approve_selected", [v2.pk])
    assert page.status_code == 200 and staff.curator2.email in page.content.decode()
    action(client, "/admin/earn/productterms/", "approve_selected", [v2.pk], confirm="yes")
    v2.refresh_from_db()
    assert v2.status == TermsStatus.APPROVED and v2.approved_by == staff.approver


def test_approver_sees_who_drafted_before_approving(staff):
    product = product_in_status("in_review", staff)
    client = login(staff.approver)
    page = action(client, CHANGELIST, "approve_selected", [product.pk])
    html = page.content.decode()
    assert page.status_code == 200 and "Drafted or last edited by" in html and staff.curator.email in html
    response = action(client, CHANGELIST, "approve_selected", [product.pk], confirm="yes")
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.status == ProductStatus.APPROVED and product.approved_by == staff.approver


def test_curator_cannot_use_the_approve_action(staff):
    product = product_in_status("in_review", staff)
    action(login(staff.curator), CHANGELIST, "approve_selected", [product.pk], confirm="yes")
    product.refresh_from_db()
    assert product.status == ProductStatus.IN_REVIEW


def test_reject_asks_for_a_reason(staff):
    product = product_in_status("in_review", staff)
    client = login(staff.approver)
    assert 'name="reason"' in action(client, CHANGELIST, "reject_selected", [product.pk]).content.decode()
    action(client, CHANGELIST, "reject_selected", [product.pk], confirm="yes", reason="")
    product.refresh_from_db()
    assert product.status == ProductStatus.IN_REVIEW
    action(client, CHANGELIST, "reject_selected", [product.pk], confirm="yes", reason="Chain missing")
    product.refresh_from_db()
    assert product.status == ProductStatus.DRAFT and product.rejection_reason == "Chain missing"


def test_refusals_are_shown_not_raised(staff):
    """Going live without a disclosure shows the domain error as a message."""
    product = product_in_status("approved", staff)
    client = login(staff.operations)
    response = action(client, CHANGELIST, "go_live_selected", [product.pk], confirm="yes", _return="change")
    assert response.status_code == 302 and response["Location"].endswith(f"/{product.pk}/change/")
    page = client.get(response["Location"])
    product.refresh_from_db()
    assert product.status == ProductStatus.APPROVED
    assert "NO_APPROVED_DISCLOSURE" in page.content.decode()


def test_change_page_buttons_follow_status_and_role(staff):
    product = product_in_status("live", staff)
    html = login(staff.operations).get(f"{CHANGELIST}{product.pk}/change/").content.decode()
    assert 'value="pause_selected"' in html and 'value="close_selected"' in html
    assert 'value="go_live_selected"' not in html.split("object-tools")[1].split("</ul>")[0]
    html = login(staff.approver).get(f"{CHANGELIST}{product.pk}/change/").content.decode()
    assert 'name="_return"' not in html


def test_non_draft_products_are_read_only(staff):
    product = product_in_status("live", staff)
    html = login(staff.curator).get(f"{CHANGELIST}{product.pk}/change/").content.decode()
    assert 'name="name_en"' not in html
    draft = draft_product(staff.curator)
    html = login(staff.curator).get(f"{CHANGELIST}{draft.pk}/change/").content.decode()
    assert 'name="name_en"' in html


# --- Disclosures and audit ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_disclosure_preview_shows_both_languages(staff, role):
    product = live_product("USDT")
    disclosure = product.disclosure
    html = login(getattr(staff, role)).get(f"/admin/compliance/disclosure/{disclosure.pk}/change/").content.decode()
    assert "disclosure-preview" in html
    assert disclosure.body_en.split(".")[0] in html
    assert disclosure.body_zh_hant[:8] in html
    for statement in disclosure.risk_statements:
        assert statement["zh-hant"] in html


def test_disclosure_drafted_and_approved_in_the_admin(staff):
    product = product_in_status("approved", staff)
    client = login(staff.curator)
    assert client.get(f"/admin/compliance/disclosure/add/?product={product.pk}").status_code == 200
    response = client.post("/admin/compliance/disclosure/add/", {
        "product": product.pk, "body_en": "Your USDT is lent to margin borrowers.",
        "body_zh_hant": "您的 USDT 將借予保證金借款人。",
        "risk_statements": '[{"key": "borrower_default", "en": "Borrowers can default.", '
                           '"zh-hant": "借款人可能違約。"}]',
        **{f"section_{key}_{lang}": text[code] for key, text in complete_sections("lending").items()
           for lang, code in (("en", "en"), ("zh_hant", "zh-hant"))},
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    disclosure = Disclosure.objects.get(product=product)
    assert disclosure.status == DisclosureStatus.DRAFT and disclosure.author == staff.curator
    assert disclosure.risk_statements[0]["key"] == "borrower_default"
    # The author cannot approve (no permission, and maker ≠ checker); a compliance officer can.
    action(client, "/admin/compliance/disclosure/", "approve_selected", [disclosure.pk], confirm="yes")
    disclosure.refresh_from_db()
    assert disclosure.status == DisclosureStatus.DRAFT
    officer = login(staff.compliance)
    page = action(officer, "/admin/compliance/disclosure/", "approve_selected", [disclosure.pk])
    assert staff.curator.email in page.content.decode()
    action(officer, "/admin/compliance/disclosure/", "approve_selected", [disclosure.pk], confirm="yes")
    disclosure.refresh_from_db()
    assert disclosure.status == DisclosureStatus.CURRENT and disclosure.approved_by == staff.compliance


def test_audit_trail_is_visible_to_compliance_only_and_read_only(staff):
    product_in_status("live", staff)
    event = AuditEvent.objects.first()
    officer = login(staff.compliance)
    assert officer.get("/admin/compliance/auditevent/").status_code == 200
    page = officer.get(f"/admin/compliance/auditevent/{event.pk}/change/")
    assert page.status_code == 200 and 'name="action"' not in page.content.decode()
    assert login(staff.curator).get("/admin/compliance/auditevent/").status_code == 403


def test_editing_pending_terms_in_the_admin_goes_through_the_service(staff):
    """The editor of a draft's terms becomes its maker; tiers are replaced as a whole."""
    product = draft_product(staff.curator)
    terms = product.terms_versions.get()
    tier = terms.tiers.get()
    client = login(staff.curator2)
    url = f"/admin/earn/productterms/{terms.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(url, {
        "effective_from": str(terms.effective_from), "term_days": "", "day_count_basis": "365", "payout": "daily",
        "min_amount": "2", "max_amount": "", "per_user_cap": "", "total_cap": "1000000",
        "window_start_0": "", "window_start_1": "", "window_end_0": "", "window_end_1": "",
        "early_redemption": "not_allowed", "penalty_apr": "", "redemption_modes": '["fast", "standard"]',
        "auto_renew_allowed": "",
        "tiers-TOTAL_FORMS": "2", "tiers-INITIAL_FORMS": "1",
        "tiers-0-id": str(tier.pk), "tiers-0-terms": str(terms.pk), "tiers-0-lower": "0", "tiers-0-upper": "100",
        "tiers-0-apr": "0.09",
        "tiers-1-terms": str(terms.pk), "tiers-1-lower": "100", "tiers-1-upper": "", "tiers-1-apr": "0.04",
    })
    assert response.status_code == 302, response.content.decode()[:4000]
    terms.refresh_from_db()
    product.refresh_from_db()
    assert terms.min_amount == 2 and terms.drafted_by == staff.curator2 and product.drafted_by == staff.curator2
    assert [str(t.apr.normalize()) for t in terms.tiers.all()] == ["0.09", "0.04"]
    assert AuditEvent.objects.filter(action="product_terms.update", object_id=str(terms.pk)).exists()


def test_editing_a_draft_disclosure_in_the_admin(staff):
    product = draft_product(staff.curator)
    disclosure = disclosure_draft(actor=staff.curator, product=product, body_en="First.", body_zh_hant="第一版。")
    client = login(staff.curator2)
    url = f"/admin/compliance/disclosure/{disclosure.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, {"body_en": "Second.", "body_zh_hant": "第二版。", "risk_statements": "[]"})
    assert response.status_code == 302, response.content.decode()[:3000]
    disclosure.refresh_from_db()
    assert disclosure.body_en.startswith("Second.") and disclosure.author == staff.curator2
    assert disclosure.body_en.count("English version prevails") == 1


def test_the_product_list_shows_a_pool_products_fee_and_reward_apr(staff):
    """A pool product's tiers are 0 %: the list shows what the catalogue shows (fees + rewards at today's prices)."""
    from decimal import Decimal

    from earn.apy import as_percent
    from pools.selectors import pool_summaries_bulk
    from tests.pools.factories import pool_product

    pool = pool_product(volume_usd="5000000")
    pool.product.tvl_usd = Decimal("20000000")
    pool.product.save(update_fields=["tvl_usd"])
    summary = pool_summaries_bulk([pool.product_id])[pool.product_id]
    apr = as_percent(Decimal(summary["apr"]))
    assert apr > 0
    client = login(staff.curator)
    html = client.get(CHANGELIST + "?status=live").content.decode()
    row = html[html.index(pool.product.name_en):]
    row = row[:row.index("</tr>")]
    assert f"{apr} % APR" in row and "fees + rewards" in row, row
    assert "0.0000 % APR" not in row
