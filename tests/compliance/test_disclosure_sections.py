"""Issue 21 item 2: disclosure sections per product category — required in both languages before approval
(service, staff API, admin), shown to customers (API, portal in en and zh-Hant), covered by the sha256, diffed."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from compliance.disclosure_diff import diff_disclosure
from compliance.disclosure_templates import TEMPLATES, missing_sections, template
from compliance.models import Acknowledgement, Disclosure, DisclosureStatus
from compliance.services import disclosures as svc
from core.models import AuditEvent
from earn.models import Category
from earn.services.product_lifecycle import product_update
from tests.earn.factories import FACTORY_SECTIONS, Staff, complete_sections, draft_product, live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory, admin_login

REQUIRED = {
    "lending": ["borrowers", "collateral"],
    "staking": ["chain", "validators", "lock_up_unbonding", "slashing"],
    "liquidity_mining": ["venue", "pair", "fee_tier", "reward_token", "impermanent_loss", "smart_contract_audit"],
    "structured": ["underlying", "payoff", "worst_case"],
}
CASES = [(category, key, language) for category, keys in REQUIRED.items() for key in keys
         for language in ("en", "zh-hant")]


@pytest.fixture
def staff(db, assets):
    return Staff()


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def draft(staff, product, sections=None, actor=None):
    return svc.disclosure_draft(actor=actor or staff.curator, product=product, body_en="Read this.",
                                body_zh_hant="請細閱。", sections=sections)


def as_list(sections):
    return [{"key": key, **text} for key, text in sections.items()]


# --- the templates ---------------------------------------------------------------------------------------------


def test_every_category_has_its_template_with_titles_and_guidance():
    """The categories are earn's, named by string in compliance; each section has a title and drafting guidance."""
    assert set(TEMPLATES) == set(Category.values) == set(FACTORY_SECTIONS)
    assert {c: [s.key for s in template(c)] for c in TEMPLATES} == REQUIRED
    for sections in TEMPLATES.values():
        assert all(str(s.title) and len(str(s.guidance)) > 20 for s in sections)
    assert "compensated" in str(next(s for s in template("staking") if s.key == "slashing").guidance)
    assert missing_sections("lending", {"borrowers": {"en": "x", "zh-hant": " "}}) == [
        "borrowers.zh-hant", "collateral.en", "collateral.zh-hant"]


# --- approval: the service ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("category", "key", "language"), CASES)
def test_approval_is_refused_when_a_section_is_empty_in_one_language(staff, category, key, language):
    product = draft_product(staff.curator, category=category)
    sections = complete_sections(category)
    sections[key][language] = "   "
    disclosure = draft(staff, product, sections)
    with pytest.raises(svc.DisclosureIncomplete) as exc:
        svc.disclosure_approve(actor=staff.approver, disclosure=disclosure)
    assert (exc.value.code, exc.value.status) == ("DISCLOSURE_INCOMPLETE", 409)
    assert exc.value.extra == {"missing": [f"{key}.{language}"]}
    assert exc.value.field == f"sections.{key}.{language}"
    assert f"{key} ({language})" in exc.value.message and category in exc.value.message
    disclosure.refresh_from_db()
    assert disclosure.status == DisclosureStatus.DRAFT and disclosure.approved_by is None
    assert not AuditEvent.objects.filter(action="disclosure.approve", object_id=str(disclosure.pk)).exists()


@pytest.mark.parametrize("category", list(REQUIRED))
def test_a_complete_version_is_approved_and_a_bare_one_lists_every_section(staff, category):
    product = draft_product(staff.curator, category=category)
    bare = draft(staff, product)
    with pytest.raises(svc.DisclosureIncomplete) as exc:
        svc.disclosure_approve(actor=staff.approver, disclosure=bare)
    assert exc.value.extra["missing"] == [f"{k}.{lang}" for k in REQUIRED[category] for lang in ("en", "zh-hant")]
    complete = draft(staff, product, complete_sections(category))
    assert complete.category == category and list(complete.sections) == REQUIRED[category]
    svc.disclosure_approve(actor=staff.approver, disclosure=complete)
    complete.refresh_from_db()
    assert complete.status == DisclosureStatus.CURRENT


@pytest.mark.parametrize(("sections", "field"), [
    ({"collateral": {"en": "x"}, "slashing": {"en": "y"}}, "sections.slashing"),  # not a lending section
    ({"borrowers": "text"}, "sections.borrowers"),
    ({"borrowers": {"en": 5}}, "sections.borrowers"),
    ([{"key": "borrowers", "en": "a"}, {"key": "borrowers", "en": "b"}], "sections.borrowers"),
    ([{"en": "no key"}], "sections.0"),
    ("borrowers", "sections"),
    ({"borrowers": {"en": "x" * (svc.SECTION_MAX_CHARS + 1)}}, "sections.borrowers"),
])
def test_bad_sections_are_refused_at_drafting(staff, sections, field):
    with pytest.raises(svc.InvalidDisclosure) as exc:
        draft(staff, draft_product(staff.curator), sections)
    assert exc.value.field == field


def test_a_draft_may_be_incomplete_and_is_completed_by_an_edit(staff):
    product = draft_product(staff.curator)
    disclosure = draft(staff, product, {"borrowers": {"en": "Margin desks.", "zh-hant": ""}, "collateral": {}})
    assert disclosure.sections == {"borrowers": {"en": "Margin desks.", "zh-hant": ""}}
    assert svc.sections_missing(disclosure, product) == ["borrowers.zh-hant", "collateral.en", "collateral.zh-hant"]
    edited = svc.disclosure_update(actor=staff.curator2, disclosure=disclosure, sections=complete_sections())
    assert edited.sections == complete_sections() and edited.author == staff.curator2
    again = svc.disclosure_update(actor=staff.curator2, disclosure=disclosure, body_en="Other text.")
    assert again.sections == complete_sections()  # sections not given stay
    svc.disclosure_approve(actor=staff.approver, disclosure=disclosure)


def test_a_category_change_needs_the_new_categorys_sections(staff):
    """Approved for lending; the product becomes staking: the next version needs the staking sections, and a
    draft written for lending cannot be approved (nor edited without replacing its sections)."""
    product = draft_product(staff.curator)
    svc.disclosure_approve(actor=staff.approver, disclosure=draft(staff, product, complete_sections("lending")))
    written_for_lending = draft(staff, product, complete_sections("lending"))
    product_update(actor=staff.curator, product=product, category="staking")
    with pytest.raises(svc.DisclosureIncomplete) as exc:
        svc.disclosure_approve(actor=staff.approver, disclosure=written_for_lending)
    assert exc.value.extra["missing"][0] == "chain.en" and "staking" in exc.value.message
    with pytest.raises(svc.InvalidDisclosure) as bad:
        svc.disclosure_update(actor=staff.curator, disclosure=written_for_lending, body_en="Edited.")
    assert bad.value.field == "sections.borrowers"
    with pytest.raises(svc.InvalidDisclosure):
        draft(staff, product, complete_sections("lending"))
    fixed = svc.disclosure_update(actor=staff.curator, disclosure=written_for_lending,
                                  sections=complete_sections("staking"))
    assert fixed.category == "staking"
    svc.disclosure_approve(actor=staff.approver, disclosure=fixed)
    assert Disclosure.objects.get(pk=fixed.pk).status == DisclosureStatus.CURRENT


# --- the hash and the database --------------------------------------------------------------------------------


def test_the_hash_covers_the_sections_and_the_acknowledgement_keeps_it(staff):
    base = {"body_en": "x", "body_zh_hant": "y", "risk_statements": [{"key": "k", "en": "a", "zh-hant": "b"}]}
    legacy = svc.disclosure_content_hash(**base)
    assert svc.disclosure_content_hash(**base, sections={}) == legacy  # versions without sections keep their hash
    one = svc.disclosure_content_hash(**base, sections=complete_sections())
    changed = complete_sections()
    changed["collateral"]["zh-hant"] = "以 150% 超額抵押。"
    assert one != legacy and svc.disclosure_content_hash(**base, sections=changed) != one
    product = draft_product(staff.curator)
    d1 = draft(staff, product, complete_sections())
    d2 = draft(staff, product, changed)
    assert d1.sha256 != d2.sha256  # same bodies and statements, one section differs in Chinese


def test_acknowledgement_records_the_hash_that_covers_the_sections(staff):
    product = live_product("USDT")
    assert product.disclosure.sections == complete_sections("lending")
    user = UserFactory(country="SG")
    acknowledge(user, product)
    ack = Acknowledgement.objects.get(user=user)
    assert ack.sha256 == svc.disclosure_content_hash(
        body_en=product.disclosure.body_en, body_zh_hant=product.disclosure.body_zh_hant,
        risk_statements=product.disclosure.risk_statements, sections=complete_sections("lending"))


def test_the_database_keeps_sections_an_object_and_the_category_known(staff):
    disclosure = draft(staff, draft_product(staff.curator), complete_sections())
    for values in ({"sections": []}, {"sections": "text"}, {"category": "gambling"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Disclosure.objects.filter(pk=disclosure.pk).update(**values)
    # A version written for a category is never approved with no sections at all, whatever the path.
    bare = draft(staff, draft_product(staff.curator2))
    approved = {"status": DisclosureStatus.CURRENT, "approved_by": staff.approver, "approved_at": timezone.now()}
    with pytest.raises(IntegrityError), transaction.atomic():
        Disclosure.objects.filter(pk=bare.pk).update(**approved)
    Disclosure.objects.filter(pk=disclosure.pk).update(**approved)  # with its sections it may be


# --- the staff API -------------------------------------------------------------------------------------------


def test_staff_api_drafts_sections_shows_the_template_and_refuses_an_incomplete_approval(staff):
    product = draft_product(staff.curator, category="staking")
    partial = complete_sections("staking")
    partial["slashing"] = {"en": "The exchange compensates slashing.", "zh-hant": ""}
    response = api(staff.curator).post(f"/api/v1/staff/products/{product.pk}/disclosures",
                                       {"body_en": "Staked.", "body_zh_hant": "已質押。", "sections": as_list(partial)},
                                       format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["category"] == "staking" and body["missing_sections"] == ["slashing.zh-hant"]
    assert [s["key"] for s in body["template"]] == REQUIRED["staking"]
    assert body["template"][3]["title"] == "Slashing" and "compensated" in body["template"][3]["guidance"]
    assert body["sections"][0] == {"key": "chain", "title": "Chain", "en": "Ethereum proof of stake.",
                                   "zh_hant": "以太坊權益證明。"}
    refused = api(staff.approver).post(f"/api/v1/staff/disclosures/{body['id']}/approve")
    assert refused.status_code == 409, refused.json()
    assert refused.json()["code"] == "DISCLOSURE_INCOMPLETE" and refused.json()["missing"] == ["slashing.zh-hant"]
    assert "slashing (zh-hant)" in refused.json()["detail"]
    assert Disclosure.objects.get(pk=body["id"]).status == DisclosureStatus.DRAFT
    complete = api(staff.curator).post(f"/api/v1/staff/products/{product.pk}/disclosures",
                                       {"body_en": "Staked.", "body_zh_hant": "已質押。",
                                        "sections": as_list(complete_sections("staking"))}, format="json").json()
    assert complete["missing_sections"] == []
    approved = api(staff.approver).post(f"/api/v1/staff/disclosures/{complete['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "current"
    detail = api(staff.operations).get(f"/api/v1/staff/disclosures/{complete['id']}").json()
    assert detail["missing_sections"] == [] and len(detail["sections"]) == 4


@pytest.mark.django_db(transaction=True)
def test_an_incomplete_approval_over_the_api_leaves_nothing_behind_outside_a_transaction(assets):
    staff = Staff()
    product = draft_product(staff.curator)
    did = api(staff.curator).post(f"/api/v1/staff/products/{product.pk}/disclosures",
                                  {"body_en": "Lent.", "body_zh_hant": "借出。",
                                   "sections": [{"key": "borrowers", "en": "Desks.", "zh_hant": "交易台。"}]},
                                  format="json").json()["id"]
    response = api(staff.approver).post(f"/api/v1/staff/disclosures/{did}/approve")
    assert response.status_code == 409 and response.json()["missing"] == ["collateral.en", "collateral.zh-hant"]
    assert Disclosure.objects.get(pk=did).status == DisclosureStatus.DRAFT
    assert not AuditEvent.objects.filter(action="disclosure.approve").exists()


@pytest.mark.parametrize(("sections", "field"), [
    ("borrowers", None),  # NOT_A_LIST, as for any list field
    ({"borrowers": {"en": "x"}}, None),
    ([{"key": "Bad Key", "en": "x"}], "sections.0.key"),
    ([{"key": "slashing", "en": "x", "zh_hant": "y"}], "sections.slashing"),
    ([{"key": "borrowers", "en": ["x"]}], "sections.0.en"),
])
def test_hostile_sections_are_a_json_400(staff, sections, field):
    product = draft_product(staff.curator)
    response = api(staff.curator).post(f"/api/v1/staff/products/{product.pk}/disclosures",
                                       {"body_en": "Lent.", "body_zh_hant": "借出。", "sections": sections},
                                       format="json")
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")
    assert response.json()["field"] == field, response.json()
    assert not Disclosure.objects.filter(product=product).exists()


def test_templates_endpoint(staff, django_assert_max_num_queries):
    client = api(staff.curator)
    with django_assert_max_num_queries(4):
        every = client.get("/api/v1/staff/disclosure-templates")
    assert every.status_code == 200
    assert {row["category"]: [s["key"] for s in row["sections"]] for row in every.json()} == REQUIRED
    one = client.get("/api/v1/staff/disclosure-templates?category=liquidity_mining").json()
    assert [row["category"] for row in one] == ["liquidity_mining"] and one[0]["sections"][0]["title"] == "Venue"
    staff.curator.language = "zh-hant"
    staff.curator.save(update_fields=["language"])
    zh = api(staff.curator).get("/api/v1/staff/disclosure-templates?category=lending",
                                HTTP_ACCEPT_LANGUAGE="zh-hant").json()
    assert zh[0]["sections"][0]["title"] == "誰借入您的資產"
    bad = client.get("/api/v1/staff/disclosure-templates?category=casino")
    assert bad.status_code == 400 and bad.json()["field"] == "category"
    assert api(staff.customer).get("/api/v1/staff/disclosure-templates").status_code == 403


# --- customers: API and portal ----------------------------------------------------------------------------------


def test_customers_read_the_sections_in_both_languages(staff):
    product = live_product("ETH", category="staking")
    client = api(UserFactory(country="SG"))
    en = client.get(f"/api/v1/products/{product.pk}/disclosure?lang=en").json()
    zh = client.get(f"/api/v1/products/{product.pk}/disclosure?lang=zh-hant").json()
    assert [s["key"] for s in en["sections"]] == REQUIRED["staking"]
    assert en["sections"][3] == {"key": "slashing", "title": "Slashing",
                                 "text": FACTORY_SECTIONS["staking"]["slashing"]["en"]}
    assert zh["sections"][3] == {"key": "slashing", "title": "罰沒",
                                 "text": FACTORY_SECTIONS["staking"]["slashing"]["zh-hant"]}
    assert zh["sections"][2]["title"] == "鎖定期及解除質押期" and en["sha256"] == zh["sha256"]


def test_a_version_without_sections_answers_an_empty_list(staff):
    product = live_product("USDT", sections={})
    body = api(UserFactory(country="SG")).get(f"/api/v1/products/{product.pk}/disclosure").json()
    assert body["sections"] == []


def test_the_portal_shows_the_sections_in_english_and_chinese(client, staff):
    product = live_product("USDT", name_en="USDT Flexible", category="liquidity_mining")
    client.force_login(UserFactory(country="SG"))
    en = client.get(f"/products/{product.pk}").content.decode()
    for key in REQUIRED["liquidity_mining"]:
        assert f'id="disclosure-{key}"' in en
    assert "<h3>Smart-contract audit</h3>" in en and FACTORY_SECTIONS["liquidity_mining"]["venue"]["en"] in en
    assert en.index("<h3>Venue</h3>") < en.index("<h3>Pair</h3>") < en.index("<h3>Impermanent loss</h3>")
    zh = client.get(f"/products/{product.pk}?lang=zh-hant").content.decode()
    assert "<h3>智能合約審計</h3>" in zh and "<h3>獎勵代幣</h3>" in zh
    assert FACTORY_SECTIONS["liquidity_mining"]["reward_token"]["zh-hant"] in zh
    subscribe = client.get(f"/products/{product.pk}/subscribe").content.decode()
    assert "<h3>Fee tier</h3>" in subscribe


def test_the_portal_redline_shows_a_changed_section(client, staff, django_capture_on_commit_callbacks):
    product = live_product("USDT", name_en="USDT Flexible", drafted_by=staff.curator, approved_by=staff.approver)
    user = UserFactory(country="SG")
    acknowledge(user, product)
    sections = complete_sections()
    sections["collateral"]["en"] = "Over-collateralised at 150 %."
    v2 = draft(staff, product, sections)
    with django_capture_on_commit_callbacks(execute=True):
        svc.disclosure_approve(actor=staff.approver, disclosure=v2)
    client.force_login(user)
    html = client.get(f"/products/{product.pk}/disclosure/changes").content.decode()
    assert 'data-key="collateral"' in html and "Section changed" in html
    assert "150" in html[html.index('data-key="collateral"'):]


def test_a_category_change_reads_as_sections_removed_and_added():
    old = {"text": "t", "risk_statements": [], "sections": [{"key": "borrowers", "title": "Who borrows", "text": "a"}]}
    new = {"text": "t", "risk_statements": [], "sections": [{"key": "chain", "title": "Chain", "text": "b"}]}
    out = diff_disclosure(old, new)
    assert out["changed"] is True
    assert [(s["key"], s["title"], s["change"]) for s in out["sections"]] == [
        ("chain", "Chain", "added"), ("borrowers", "Who borrows", "removed")]
    assert diff_disclosure({"text": "t", "risk_statements": []}, {"text": "t", "risk_statements": []})["sections"] == []


# --- the admin -----------------------------------------------------------------------------------------------


def _admin(user):
    return admin_login(Client(), user)


def test_admin_add_form_shows_the_categorys_headings_and_guidance(staff):
    product = draft_product(staff.curator, category="structured")
    page = _admin(staff.curator).get(f"/admin/compliance/disclosure/add/?product={product.pk}").content.decode()
    for key in REQUIRED["structured"]:
        assert f'name="section_{key}_en"' in page and f'name="section_{key}_zh_hant"' in page
    assert "Worst case (English)" in page and "The worst outcome in plain words" in page
    bare = _admin(staff.curator).get("/admin/compliance/disclosure/add/").content.decode()
    assert 'name="section_' not in bare and "Pick the product and save" in bare


def test_admin_approve_refuses_an_incomplete_draft_and_approves_a_complete_one(staff):
    product = draft_product(staff.curator)
    client = _admin(staff.curator)
    response = client.post(f"/admin/compliance/disclosure/add/?product={product.pk}", {
        "product": product.pk, "body_en": "Lent.", "body_zh_hant": "借出。", "risk_statements": "[]",
        "section_borrowers_en": "Margin desks.", "section_borrowers_zh_hant": "保證金交易台。",
        "section_collateral_en": "BTC at 120 %.", "section_collateral_zh_hant": ""})
    assert response.status_code == 302, response.content.decode()[:3000]
    disclosure = Disclosure.objects.get(product=product)
    assert disclosure.sections["collateral"] == {"en": "BTC at 120 %.", "zh-hant": ""}
    officer = _admin(staff.compliance)
    change = officer.get(f"/admin/compliance/disclosure/{disclosure.pk}/change/").content.decode()
    assert "collateral.zh-hant" in change and "Who borrows your assets" in change  # the missing list, the preview
    confirm = officer.post("/admin/compliance/disclosure/", {"action": "approve_selected",
                                                             "_selected_action": [str(disclosure.pk)]})
    assert "collateral.zh-hant" in confirm.content.decode()  # the confirmation page says what is missing
    done = officer.post("/admin/compliance/disclosure/", {"action": "approve_selected", "confirm": "yes",
                                                          "_selected_action": [str(disclosure.pk)]}, follow=True)
    assert "DISCLOSURE_INCOMPLETE" in done.content.decode() and "collateral (zh-hant)" in done.content.decode()
    disclosure.refresh_from_db()
    assert disclosure.status == DisclosureStatus.DRAFT
    # A second curator completes the Chinese text in the admin; the officer approves.
    editor = _admin(staff.curator2)
    url = f"/admin/compliance/disclosure/{disclosure.pk}/change/"
    form = editor.get(url).content.decode()
    assert "BTC at 120 %." in form  # the boxes are filled with the draft's sections
    response = editor.post(url, {"body_en": disclosure.body_en, "body_zh_hant": disclosure.body_zh_hant,
                                 "risk_statements": "[]",
                                 "section_borrowers_en": "Margin desks.", "section_borrowers_zh_hant": "保證金交易台。",
                                 "section_collateral_en": "BTC at 120 %.",
                                 "section_collateral_zh_hant": "以 BTC 120% 抵押。"})
    assert response.status_code == 302, response.content.decode()[:3000]
    disclosure.refresh_from_db()
    assert disclosure.author == staff.curator2 and disclosure.sections["collateral"]["zh-hant"] == "以 BTC 120% 抵押。"
    officer.post("/admin/compliance/disclosure/", {"action": "approve_selected", "confirm": "yes",
                                                   "_selected_action": [str(disclosure.pk)]})
    disclosure.refresh_from_db()
    assert disclosure.status == DisclosureStatus.CURRENT and disclosure.approved_by == staff.compliance
    page = officer.get(f"/admin/compliance/disclosure/{disclosure.pk}/change/").content.decode()
    assert "以 BTC 120% 抵押。" in page and 'name="section_' not in page  # approved: preview only
