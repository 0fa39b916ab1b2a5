"""Disclosure redline: the word-level diff, the changes API, the portal, the notification and the hashes kept."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from compliance.disclosure_diff import diff_disclosure, diff_statements, diff_text, tokenize
from compliance.models import Acknowledgement, Disclosure
from compliance.services.disclosures import disclosure_approve, disclosure_draft
from earn.services.subscriptions import subscription_create
from notifications.models import Notification
from tests.earn.factories import Staff, complete_sections, live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory


def _old(segments):
    return "".join(s["text"] for s in segments if s["op"] != "insert")


def _new(segments):
    return "".join(s["text"] for s in segments if s["op"] != "delete")


# --- the pure diff -------------------------------------------------------------------------------------------


def test_english_is_compared_word_by_word():
    old, new = "The APR shown is not guaranteed.", "The APR shown is never guaranteed, and may fall."
    segments = diff_text(old, new)
    assert segments == [{"op": "equal", "text": "The APR shown is "}, {"op": "delete", "text": "not"},
                        {"op": "insert", "text": "never"}, {"op": "equal", "text": " guaranteed"},
                        {"op": "insert", "text": ", and may fall"}, {"op": "equal", "text": "."}]
    assert _old(segments) == old and _new(segments) == new


def test_chinese_is_compared_character_by_character():
    assert tokenize("利率可能變動 USDT。") == ["利", "率", "可", "能", "變", "動", " ", "USDT", "。"]
    old, new = "所示年化利率並無保證。", "所示年化利率絕無任何保證。"
    segments = diff_text(old, new)
    assert segments == [{"op": "equal", "text": "所示年化利率"}, {"op": "delete", "text": "並"},
                        {"op": "insert", "text": "絕"}, {"op": "equal", "text": "無"},
                        {"op": "insert", "text": "任何"}, {"op": "equal", "text": "保證。"}]
    assert _old(segments) == old and _new(segments) == new


def test_statements_are_matched_by_key():
    old = [{"key": "a", "text": "Same."}, {"key": "b", "text": "Old wording."}, {"key": "gone", "text": "Bye."}]
    new = [{"key": "fresh", "text": "Hello."}, {"key": "a", "text": "Same."}, {"key": "b", "text": "New wording."}]
    out = diff_statements(old, new)
    assert [(s["key"], s["change"]) for s in out] == [("fresh", "added"), ("a", "unchanged"), ("b", "changed"),
                                                      ("gone", "removed")]
    assert out[0]["diff"] == [{"op": "insert", "text": "Hello."}]
    assert out[3]["diff"] == [{"op": "delete", "text": "Bye."}]
    same = {"text": "x", "risk_statements": old}
    assert diff_disclosure(same, same)["changed"] is False


# --- the service, the API, the notification -------------------------------------------------------------------

V2_EN = "Your USDT is lent to vetted institutional borrowers against collateral."
V2_ZH = "您的 USDT 將借予經審核並提供抵押品的機構借款人。"
V2_STATEMENTS = [{"key": "borrower_default", "en": "A borrower can default.", "zh-hant": "借款人可能違約。"}]
# v2 keeps the factory's borrowers section and rewrites the collateral one.
V2_SECTIONS = complete_sections("lending") | {
    "collateral": {"en": "Over-collateralised at 150 %.", "zh-hant": "以 150% 超額抵押。"}}


@pytest.fixture
def staff(db, assets):
    return Staff()


@pytest.fixture
def product(staff):
    return live_product("USDT", "demand", name_en="USDT Flexible", drafted_by=staff.curator,
                        approved_by=staff.approver)


def _publish_v2(staff, product, capture):
    draft = disclosure_draft(actor=staff.curator, product=product, body_en=V2_EN, body_zh_hant=V2_ZH,
                             risk_statements=V2_STATEMENTS, sections=V2_SECTIONS)
    with capture(execute=True):
        return disclosure_approve(actor=staff.approver, disclosure=draft)


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def holder(product, fund):
    user = UserFactory(email="holder@sg.example", country="SG", language="zh-hant")
    fund(user, "USDT", "500")
    acknowledge(user, product)
    subscription_create(user=user, product_id=product.pk, amount="100")
    return user


def test_holders_are_notified_with_the_link_to_the_changes(staff, product, holder,
                                                           django_capture_on_commit_callbacks):
    bystander = UserFactory(country="SG")
    acknowledge(bystander, product)  # acknowledged, holds nothing: the hourly sweep tells them, not the approval
    v2 = _publish_v2(staff, product, django_capture_on_commit_callbacks)
    note = Notification.objects.get(user=holder, kind="disclosure_updated")
    assert note.key == f"disclosure:{v2.pk}" and note.link == f"/products/{product.pk}/disclosure/changes"
    assert note.language == "zh-hant" and "USDT" in note.subject
    assert [m.to for m in mail.outbox] == [[holder.email]]
    assert not Notification.objects.filter(user=bystander).exists()
    from notifications.disclosure_notices import disclosure_notify_holders

    assert disclosure_notify_holders(v2.pk) == 0  # once per holder and version


def test_acknowledgement_records_both_versions_hashes(staff, product, holder, django_capture_on_commit_callbacks):
    first = Acknowledgement.objects.get(user=holder)
    assert (first.previous_version, first.previous_sha256) == (None, "")
    v1 = product.disclosure
    v2 = _publish_v2(staff, product, django_capture_on_commit_callbacks)
    response = _client(holder).post(f"/api/v1/products/{product.pk}/acknowledgements",
                                    {"disclosure_version": 2, "language": "zh-hant",
                                     "statements": [s["key"] for s in v2.risk_statements]}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["sha256"], body["previous_version"], body["previous_sha256"]) == (v2.sha256, 1, v1.sha256)
    ack = Acknowledgement.objects.get(pk=body["id"])
    assert (ack.sha256, ack.previous_sha256) == (v2.sha256, v1.sha256)


def test_changes_api_in_english_and_chinese(staff, product, holder, django_capture_on_commit_callbacks):
    v1 = product.disclosure
    v2 = _publish_v2(staff, product, django_capture_on_commit_callbacks)
    client = _client(holder)
    response = client.get(f"/api/v1/products/{product.pk}/disclosure/changes?since=1&lang=en")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["since"]["version"] == 1 and body["since"]["sha256"] == v1.sha256
    assert body["current"]["version"] == 2 and body["current"]["sha256"] == v2.sha256
    assert body["changed"] is True and body["acknowledged_version"] == 1 and body["language"] == "en"
    assert _old(body["text"]) == v1.body_en and _new(body["text"]) == v2.body_en
    changes = {s["key"]: s["change"] for s in body["risk_statements"]}
    assert changes["borrower_default"] == "added"
    assert changes["no_deposit_protection"] == "changed"  # the factory's wording → the standard wording
    sections = {s["key"]: s for s in body["sections"]}
    assert (sections["borrowers"]["change"], sections["collateral"]["change"]) == ("unchanged", "changed")
    assert sections["collateral"]["title"] == "Collateral"
    assert _old(sections["collateral"]["diff"]) == "Over-collateralised at 120 %."
    assert _new(sections["collateral"]["diff"]) == "Over-collateralised at 150 %."
    # Without since: from the caller's acknowledged version, in the caller's language (zh-hant).
    zh = client.get(f"/api/v1/products/{product.pk}/disclosure/changes").json()
    assert zh["language"] == "zh-hant" and zh["since"]["version"] == 1
    assert _old(zh["text"]) == v1.body_zh_hant and _new(zh["text"]) == v2.body_zh_hant
    # Character level: the shared words inside otherwise rewritten sentences stay unmarked.
    assert any(s["op"] == "equal" and "以英文版本為準" in s["text"] for s in zh["text"])
    assert any(s["op"] == "insert" and "借" in s["text"] for s in zh["text"])
    zh_collateral = next(s for s in zh["sections"] if s["key"] == "collateral")
    assert zh_collateral["title"] == "抵押品" and _new(zh_collateral["diff"]) == "以 150% 超額抵押。"
    same = client.get(f"/api/v1/products/{product.pk}/disclosure/changes?since=2").json()
    assert same["changed"] is False and all(s["op"] == "equal" for s in same["text"])


@pytest.mark.parametrize("since", ["abc", "0", "3", "-1", "1.5", "99999999999999", "２"])
def test_bad_since_is_a_json_400(staff, product, holder, since):
    disclosure_draft(actor=staff.curator, product=product, body_en="draft", body_zh_hant="草稿")  # v2, a draft
    response = _client(holder).get(f"/api/v1/products/{product.pk}/disclosure/changes", {"since": since})
    assert response.status_code == 400 and response.json()["field"] == "since"
    response = _client(holder).get(f"/api/v1/products/{product.pk}/disclosure/changes", {"since": "2"})
    assert response.status_code == 400 and response.json()["code"] == "INVALID"  # a draft was never shown


def test_changes_api_without_an_acknowledgement_or_product(product):
    stranger = UserFactory(country="SG")
    response = _client(stranger).get(f"/api/v1/products/{product.pk}/disclosure/changes")
    assert response.status_code == 400 and response.json()["field"] == "since"
    assert _client(stranger).get("/api/v1/products/999999/disclosure/changes?since=1").status_code == 404
    assert APIClient().get(f"/api/v1/products/{product.pk}/disclosure/changes?since=1").status_code in (401, 403)


# --- the portal ----------------------------------------------------------------------------------------------


def test_portal_shows_the_redline_before_acknowledging_again(staff, product, holder, client,
                                                             django_capture_on_commit_callbacks):
    _publish_v2(staff, product, django_capture_on_commit_callbacks)
    client.force_login(holder)
    client.cookies["django_language"] = "zh-hant"
    page = client.get(f"/products/{product.pk}/subscribe").content.decode()
    assert 'id="changes"' in page and "<ins>" in page and "<del>" in page
    assert "借" in page and 'lang="zh-hant"' in page
    assert 'class="visually-hidden"' in page
    changes = client.get(f"/products/{product.pk}/disclosure/changes?lang=en").content.decode()
    assert "由第 1 版至第 2 版的修改" in changes and "［新增：］" in changes
    assert "institutional borrowers" in changes and 'name="step" value="acknowledge"' in changes
    # After acknowledging v2 the redline is gone.
    acknowledge(holder, Disclosure.objects.get(product=product, version=2).product)
    page = client.get(f"/products/{product.pk}/subscribe").content.decode()
    assert 'id="changes"' not in page


def test_portal_changes_page_for_a_customer_who_never_acknowledged(product, client):
    client.force_login(UserFactory(country="SG"))
    page = client.get(f"/products/{product.pk}/disclosure/changes")
    assert page.status_code == 200 and 'id="changes"' not in page.content.decode()
    assert client.get("/products/999999/disclosure/changes").status_code == 404
