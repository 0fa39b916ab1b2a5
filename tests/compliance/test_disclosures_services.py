"""Disclosures: versioned, bilingual, standard risks added, sha256, maker ≠ checker, supersede."""

from __future__ import annotations

import hashlib
import json

import pytest

from accounts.models import User
from compliance.models import Disclosure, DisclosureStatus
from compliance.selectors import disclosure_current, disclosure_text
from compliance.services import disclosures as svc
from core.errors import ApplicationError
from core.models import AuditEvent
from tests.earn.factories import Staff, complete_sections, draft_product, product_in_status

OWN = [{"key": "counterparty_limit", "en": "Loans are limited per borrower.", "zh-hant": "每名借款人均設有貸款上限。"}]


@pytest.fixture
def staff(db, assets):
    return Staff()


def draft(staff, product, actor=None, **kw):
    return svc.disclosure_draft(actor=actor or staff.curator, product=product,
                                body_en=kw.pop("body_en", "Your assets are lent to vetted borrowers."),
                                body_zh_hant=kw.pop("body_zh_hant", "您的資產將借予經審核的借款人。"),
                                risk_statements=kw.pop("risk_statements", OWN),
                                sections=kw.pop("sections", complete_sections(product.category)))


@pytest.mark.parametrize(("term_type", "strategy", "keys"), [
    ("demand", "simple", ["smart_contract", "no_deposit_protection", "rates_can_change"]),
    ("fixed", "simple", ["smart_contract", "lock_up", "no_deposit_protection", "rates_can_change"]),
    ("demand", "liquidity_mining", ["impermanent_loss", "smart_contract", "no_deposit_protection",
                                    "rates_can_change"]),
])
def test_standard_risks_are_added(staff, term_type, strategy, keys):
    """Impermanent loss for liquidity mining, lock-up for fixed terms, the rest for everyone."""
    product = draft_product(staff.curator, term_type=term_type, strategy=strategy)
    disclosure = draft(staff, product)
    assert [s["key"] for s in disclosure.risk_statements] == ["counterparty_limit", *keys]
    assert all(s["en"] and s["zh-hant"] for s in disclosure.risk_statements)


def test_both_bodies_carry_the_english_prevails_clause_once(staff):
    product = draft_product(staff.curator)
    disclosure = draft(staff, product, body_en=f"Text.\n\n{svc.PREVAILING_CLAUSE_EN}")
    assert disclosure.body_en.count(svc.PREVAILING_CLAUSE_EN) == 1
    assert disclosure.body_zh_hant.endswith(svc.PREVAILING_CLAUSE_ZH_HANT)


def test_sha256_covers_the_canonical_content(staff):
    """The hash is sha256 of the canonical JSON of both bodies, every statement and the sections."""
    d = draft(staff, draft_product(staff.curator))
    assert set(d.sections) == {"borrowers", "collateral"}
    canonical = json.dumps({"body_en": d.body_en, "body_zh_hant": d.body_zh_hant,
                            "risk_statements": d.risk_statements, "sections": d.sections}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False)
    assert d.sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    edited = svc.disclosure_update(actor=staff.curator, disclosure=d, body_en="Other text.")
    assert edited.sha256 != d.sha256


def test_author_cannot_approve(staff):
    """SCENARIOS 13 for disclosures: maker ≠ checker (MAKER_CHECKER, 403)."""
    product = draft_product(staff.curator)
    disclosure = draft(staff, product, actor=staff.curator)
    staff.curator.groups.add(*staff.approver.groups.all())
    curator = User.objects.get(pk=staff.curator.pk)  # fresh instance: permissions are cached per object
    with pytest.raises(svc.MakerCheckerViolation) as exc:
        svc.disclosure_approve(actor=curator, disclosure=disclosure)
    assert exc.value.code == "MAKER_CHECKER" and exc.value.status == 403
    svc.disclosure_approve(actor=staff.compliance, disclosure=disclosure)
    disclosure.refresh_from_db()
    assert disclosure.status == DisclosureStatus.CURRENT and disclosure.approved_by == staff.compliance


def test_an_earlier_author_cannot_approve_after_someone_else_edits(staff):
    staff.curator.groups.add(*staff.approver.groups.all())
    curator = User.objects.get(pk=staff.curator.pk)
    disclosure = draft(staff, draft_product(staff.curator2), actor=curator)
    svc.disclosure_update(actor=staff.curator2, disclosure=disclosure, body_en="Edited.")
    with pytest.raises(svc.MakerCheckerViolation):
        svc.disclosure_approve(actor=curator, disclosure=disclosure)


def test_curator_cannot_approve_and_customer_cannot_draft(staff):
    product = draft_product(staff.curator)
    disclosure = draft(staff, product)
    with pytest.raises(ApplicationError) as exc:
        svc.disclosure_approve(actor=staff.curator2, disclosure=disclosure)
    assert exc.value.code == "PERMISSION_DENIED"
    with pytest.raises(ApplicationError) as exc:
        draft(staff, product, actor=staff.customer)
    assert exc.value.status == 403


def test_a_new_version_supersedes_the_old_which_is_kept(staff):
    """Only one current version per product; approving v2 supersedes v1, which stays unchanged."""
    product = product_in_status("live", staff)
    v1 = disclosure_current(product_id=product.pk)
    v2 = draft(staff, product, body_en="Version two.")
    assert v2.version == v1.version + 1
    assert disclosure_current(product_id=product.pk) == v1  # a draft changes nothing
    svc.disclosure_approve(actor=staff.approver, disclosure=v2)
    old = Disclosure.objects.get(pk=v1.pk)
    assert old.status == DisclosureStatus.SUPERSEDED and old.sha256 == v1.sha256 and old.body_en == v1.body_en
    assert disclosure_current(product_id=product.pk) == v2
    assert Disclosure.objects.filter(product=product, status=DisclosureStatus.CURRENT).count() == 1
    actions = list(AuditEvent.objects.filter(object_type="compliance.disclosure").values_list("action", "object_id"))
    assert ("disclosure.supersede", str(v1.pk)) in actions and ("disclosure.approve", str(v2.pk)) in actions


@pytest.mark.parametrize("status", ["current", "superseded", "rejected"])
def test_only_drafts_are_approved_rejected_or_edited(staff, status):
    product = draft_product(staff.curator)
    d = draft(staff, product)
    if status == "rejected":
        svc.disclosure_reject(actor=staff.approver, disclosure=d, reason="Chinese text incomplete.")
    else:
        svc.disclosure_approve(actor=staff.approver, disclosure=d)
        if status == "superseded":
            svc.disclosure_approve(actor=staff.approver, disclosure=draft(staff, product))
    for call in (lambda: svc.disclosure_approve(actor=staff.compliance, disclosure=d),
                 lambda: svc.disclosure_reject(actor=staff.compliance, disclosure=d, reason="x"),
                 lambda: svc.disclosure_update(actor=staff.curator, disclosure=d, body_en="x")):
        with pytest.raises(svc.InvalidTransition):
            call()


def test_reject_needs_a_reason(staff):
    d = draft(staff, draft_product(staff.curator))
    with pytest.raises(ApplicationError) as exc:
        svc.disclosure_reject(actor=staff.approver, disclosure=d, reason="")
    assert exc.value.field == "reason"
    svc.disclosure_reject(actor=staff.approver, disclosure=d, reason="Missing lock-up wording.")
    d.refresh_from_db()
    assert d.status == DisclosureStatus.REJECTED and d.rejection_reason == "Missing lock-up wording."


@pytest.mark.parametrize(("statements", "field"), [
    ([{"key": "Bad Key", "en": "x", "zh-hant": "乙"}], "risk_statements.0.key"),
    ([{"key": "fine", "en": "x", "zh-hant": ""}], "risk_statements.0"),
    ([{"key": "smart_contract", "en": "x", "zh-hant": "乙"}], "risk_statements.0.key"),
    ([{"key": "a_b", "en": "x", "zh-hant": "乙"}, {"key": "a_b", "en": "y", "zh-hant": "丙"}],
     "risk_statements.1.key"),
])
def test_bad_statements_are_refused(staff, statements, field):
    with pytest.raises(svc.InvalidDisclosure) as exc:
        draft(staff, draft_product(staff.curator), risk_statements=statements)
    assert exc.value.field == field


def test_missing_language_is_refused(staff):
    with pytest.raises(svc.InvalidDisclosure) as exc:
        draft(staff, draft_product(staff.curator), body_zh_hant=" ")
    assert exc.value.field == "body_zh_hant"


def test_closed_products_get_no_new_disclosure(staff):
    product = product_in_status("closed", staff)
    with pytest.raises(svc.InvalidTransition):
        draft(staff, product)


def test_text_in_each_language(staff):
    d = draft(staff, draft_product(staff.curator))
    zh = disclosure_text(d, language="zh-hant")
    assert zh["text"] == d.body_zh_hant
    assert zh["risk_statements"][0] == {"key": "counterparty_limit", "text": "每名借款人均設有貸款上限。"}
    assert disclosure_text(d, language="en")["risk_statements"][0]["text"] == "Loans are limited per borrower."
