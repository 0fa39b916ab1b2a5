"""Disclosure API: staff drafting and approval (maker ≠ checker), the customer's bilingual view."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from compliance.models import Disclosure, DisclosureStatus
from tests.earn.factories import Staff, complete_sections, draft_product, live_product


@pytest.fixture
def staff(db, assets):
    return Staff()


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


BODY = {"body_en": "Your ETH is staked with a vetted validator.", "body_zh_hant": "您的 ETH 將質押予經審核的驗證者。",
        "risk_statements": [{"key": "slashing", "en": "Validators can be slashed.", "zh-hant": "驗證者可能被罰沒。"}],
        "sections": [{"key": key, **text} for key, text in complete_sections("lending").items()]}


def test_draft_then_approve_by_someone_else(staff):
    product = draft_product(staff.curator)
    response = client_for(staff.curator).post(f"/api/v1/staff/products/{product.pk}/disclosures", BODY, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["version"] == 1 and body["author"] == staff.curator.email
    assert body["risk_statements"][0] == {"key": "slashing", "en": "Validators can be slashed.",
                                          "zh-hant": "驗證者可能被罰沒。"}
    assert "English version prevails" in body["body_en"] and "以英文版本為準" in body["body_zh_hant"]
    response = client_for(staff.curator).post(f"/api/v1/staff/disclosures/{body['id']}/approve")
    assert response.status_code == 403  # curators do not approve
    response = client_for(staff.approver).post(f"/api/v1/staff/disclosures/{body['id']}/approve")
    assert response.status_code == 200 and response.json()["status"] == "current"


def test_author_with_approval_rights_gets_maker_checker(staff):
    staff.compliance.groups.add(*staff.curator.groups.all())
    client = client_for(staff.compliance)
    product = draft_product(staff.curator)
    did = client.post(f"/api/v1/staff/products/{product.pk}/disclosures", BODY, format="json").json()["id"]
    response = client.post(f"/api/v1/staff/disclosures/{did}/approve")
    assert response.status_code == 403 and response.json()["code"] == "MAKER_CHECKER"
    assert Disclosure.objects.get(pk=did).status == DisclosureStatus.DRAFT


@pytest.mark.parametrize("who", ["customer", "operations"])
def test_customers_and_operations_cannot_draft_or_approve(staff, who):
    product = live_product("USDT")
    client = client_for(getattr(staff, who))
    assert client.post(f"/api/v1/staff/products/{product.pk}/disclosures", BODY, format="json").status_code == 403
    assert client.post(f"/api/v1/staff/disclosures/{product.disclosure.pk}/approve").status_code == 403


def test_new_version_supersedes_over_the_api(staff):
    product = live_product("USDT")
    did = client_for(staff.curator).post(f"/api/v1/staff/products/{product.pk}/disclosures", BODY,
                                         format="json").json()["id"]
    client_for(staff.approver).post(f"/api/v1/staff/disclosures/{did}/approve")
    old = Disclosure.objects.get(pk=product.disclosure.pk)
    assert old.status == DisclosureStatus.SUPERSEDED
    detail = client_for(staff.customer).get(f"/api/v1/products/{product.pk}").json()
    assert detail["disclosure"]["id"] == did and detail["disclosure"]["version"] == 2


def test_reject_with_reason(staff):
    product = draft_product(staff.curator)
    did = client_for(staff.curator).post(f"/api/v1/staff/products/{product.pk}/disclosures", BODY,
                                         format="json").json()["id"]
    response = client_for(staff.compliance).post(f"/api/v1/staff/disclosures/{did}/reject", {}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "reason"
    response = client_for(staff.compliance).post(f"/api/v1/staff/disclosures/{did}/reject",
                                                 {"reason": "Slashing text too vague."}, format="json")
    assert response.json()["status"] == "rejected"


def test_customer_reads_the_current_disclosure_in_both_languages(staff):
    product = live_product("USDT")
    client = client_for(staff.customer)
    en = client.get(f"/api/v1/products/{product.pk}/disclosure?lang=en").json()
    zh = client.get(f"/api/v1/products/{product.pk}/disclosure?lang=zh-hant").json()
    assert en["text"] == product.disclosure.body_en and zh["text"] == product.disclosure.body_zh_hant
    assert en["sha256"] == zh["sha256"] == product.disclosure.sha256
    assert [s["key"] for s in en["risk_statements"]] == [s["key"] for s in zh["risk_statements"]]
    assert zh["risk_statements"][0]["text"] == product.disclosure.risk_statements[0]["zh-hant"]
    assert en["prescribed_warnings"] == [] and en["english_prevails"] is True and en["version"] == 1


def test_disclosure_language_defaults_to_the_user_and_refuses_others(staff):
    product = live_product("USDT")
    staff.customer.language = "zh-hant"
    staff.customer.save()
    client = client_for(staff.customer)
    assert client.get(f"/api/v1/products/{product.pk}/disclosure").json()["language"] == "zh-hant"
    response = client.get(f"/api/v1/products/{product.pk}/disclosure?lang=fr")
    assert response.status_code == 400 and response.json()["field"] == "lang"


def test_no_disclosure_for_unreleased_products(staff):
    product = draft_product(staff.curator)
    assert client_for(staff.customer).get(f"/api/v1/products/{product.pk}/disclosure").status_code == 404
