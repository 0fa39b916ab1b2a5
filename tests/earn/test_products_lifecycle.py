"""Product lifecycle: every transition, every refused one, maker ≠ checker, audit events."""

from __future__ import annotations

from itertools import pairwise

import pytest

from accounts import roles
from compliance.services.disclosures import disclosure_approve, disclosure_draft
from core.audit import audit_chain
from core.errors import ApplicationError, InvalidTransition, MakerCheckerViolation
from core.models import AuditEvent
from earn.errors import InvalidTerms, NoApprovedDisclosure, VettingIncomplete
from earn.models import ProductStatus, TermsStatus
from earn.services import product_lifecycle as svc
from tests.earn.factories import Staff, complete_sections, draft_product, product_in_status, staff_user

ALL_STATUSES = [s.value for s in ProductStatus]
ALLOWED = {
    ("submit", "draft"): "in_review",
    ("approve", "in_review"): "approved",
    ("reject", "in_review"): "draft",
    ("go_live", "approved"): "live",
    ("go_live", "paused"): "live",
    ("pause", "live"): "paused",
    ("close", "approved"): "closed",
    ("close", "live"): "closed",
    ("close", "paused"): "closed",
}
REFUSED = [(a, s) for a in svc.TRANSITIONS for s in ALL_STATUSES if (a, s) not in ALLOWED]


@pytest.fixture
def staff(db, assets):
    return Staff()


def actor_for(action, staff):
    return {"submit": staff.curator, "approve": staff.approver, "reject": staff.approver}.get(action, staff.operations)


def with_disclosure(product, staff):
    disclosure = disclosure_draft(actor=staff.curator, product=product, body_en="Risks.", body_zh_hant="風險。",
                                  sections=complete_sections(product.category))
    return disclosure_approve(actor=staff.compliance, disclosure=disclosure)


def test_the_transition_table_matches_the_design():
    """The service's table is exactly the lifecycle of DESIGN.md §6 plus reject and resume."""
    table = {(a, s): t for a, (sources, t, _p) in svc.TRANSITIONS.items() for s in sources}
    assert table == ALLOWED


@pytest.mark.parametrize(("action", "status"), sorted(ALLOWED))
def test_allowed_transition(staff, action, status):
    """Each allowed transition moves the product to its target status and records who did it."""
    product = product_in_status(status, staff)
    if action == "go_live" and status == "approved":
        with_disclosure(product, staff)
    svc.product_transition(actor=actor_for(action, staff), product=product, action=action, reason="A reason.")
    product.refresh_from_db()
    assert product.status == ALLOWED[(action, status)]
    event = AuditEvent.objects.filter(object_type="earn.product", object_id=str(product.pk)).last()
    expected = "product.resume" if (action, status) == ("go_live", "paused") else f"product.{action}"
    assert event.action == expected
    assert event.actor_id == actor_for(action, staff).pk
    assert event.before["status"] == status and event.after["status"] == ALLOWED[(action, status)]


@pytest.mark.parametrize(("action", "status"), REFUSED)
def test_refused_transition(staff, action, status):
    """Any other (action, status) pair is refused with INVALID_TRANSITION (409) and nothing changes."""
    product = product_in_status(status, staff)
    events = AuditEvent.objects.count()
    with pytest.raises(InvalidTransition) as exc:
        svc.product_transition(actor=actor_for(action, staff), product=product, action=action, reason="why")
    assert exc.value.code == "INVALID_TRANSITION" and exc.value.status == 409
    product.refresh_from_db()
    assert product.status == status
    assert AuditEvent.objects.count() == events


def test_drafter_cannot_approve_own_product(staff):
    """SCENARIOS 13: the drafter, even holding the approver role, cannot approve; another approver can."""
    both = staff_user(roles.CURATOR, email="both@test.example")
    both.groups.add(*staff.approver.groups.all())
    product = draft_product(both)
    svc.product_submit(actor=both, product=product)
    with pytest.raises(MakerCheckerViolation) as exc:
        svc.product_approve(actor=both, product=product)
    assert exc.value.code == "MAKER_CHECKER" and exc.value.status == 403
    svc.product_approve(actor=staff.approver, product=product)
    product.refresh_from_db()
    assert product.status == ProductStatus.APPROVED and product.approved_by == staff.approver


def test_last_editor_cannot_approve(staff):
    """Whoever edited the draft last becomes its maker, and the original drafter stays one too."""
    both = staff_user(roles.CURATOR, email="both@test.example")
    both.groups.add(*staff.approver.groups.all())
    product = draft_product(staff.curator)
    svc.product_update(actor=both, product=product, risk_rating=3)
    svc.product_submit(actor=staff.curator, product=product)
    with pytest.raises(MakerCheckerViolation):
        svc.product_approve(actor=both, product=product)
    product.refresh_from_db()
    assert product.drafted_by == both
    svc.product_approve(actor=staff.approver, product=product)


def test_drafter_cannot_reject_own_product(staff):
    both = staff_user(roles.CURATOR, email="both@test.example")
    both.groups.add(*staff.approver.groups.all())
    product = draft_product(both)
    svc.product_submit(actor=both, product=product)
    with pytest.raises(MakerCheckerViolation):
        svc.product_reject(actor=both, product=product, reason="no")


def test_reject_needs_a_reason_and_returns_to_draft(staff):
    """Reject sends the product back to draft with the reason; after edits it is submitted again."""
    product = product_in_status("in_review", staff)
    with pytest.raises(ApplicationError) as exc:
        svc.product_reject(actor=staff.approver, product=product, reason="  ")
    assert exc.value.field == "reason"
    svc.product_reject(actor=staff.approver, product=product, reason="Audit report is two years old.")
    product.refresh_from_db()
    assert product.status == ProductStatus.DRAFT
    assert product.rejection_reason == "Audit report is two years old."
    svc.product_update(actor=staff.curator, product=product, audit_reports=[
        {"url": "https://audits.example/2026.pdf", "date": "2026-06-01", "auditor": "Example Audit"}])
    svc.product_submit(actor=staff.curator, product=product)
    svc.product_approve(actor=staff.approver, product=product)
    product.refresh_from_db()
    assert product.status == ProductStatus.APPROVED and product.rejection_reason == ""


def test_cannot_go_live_without_an_approved_disclosure(staff):
    """A draft disclosure is not enough: NO_APPROVED_DISCLOSURE (409) until one is approved."""
    product = product_in_status("approved", staff)
    with pytest.raises(NoApprovedDisclosure) as exc:
        svc.product_go_live(actor=staff.operations, product=product)
    assert exc.value.status == 409
    draft = disclosure_draft(actor=staff.curator, product=product, body_en="Risks.", body_zh_hant="風險。",
                             sections=complete_sections(product.category))
    with pytest.raises(NoApprovedDisclosure):
        svc.product_go_live(actor=staff.operations, product=product)
    disclosure_approve(actor=staff.approver, disclosure=draft)
    svc.product_go_live(actor=staff.operations, product=product)
    product.refresh_from_db()
    assert product.status == ProductStatus.LIVE


def test_submit_needs_complete_vetting(staff):
    """Submitting with the vetting checklist incomplete is refused, naming what is missing."""
    product = draft_product(staff.curator, yield_source="", strategy="liquidity_mining")
    with pytest.raises(VettingIncomplete) as exc:
        svc.product_submit(actor=staff.curator, product=product)
    assert set(exc.value.extra["missing"]) == {"yield_source", "chain", "contract_address", "audit_reports",
                                               "tvl_usd"}


def test_submit_needs_terms(staff):
    product = svc.product_create(actor=staff.curator, name_en="X", name_zh_hant="乙", asset="USDT",
                                 term_type="demand", risk_rating=2, venue="Desk", yield_source="Loans",
                                 risk_rationale="Low")
    with pytest.raises(InvalidTerms):
        svc.product_submit(actor=staff.curator, product=product)


def test_approval_approves_terms_and_copies_total_cap(staff):
    product = product_in_status("approved", staff, terms={"total_cap": "250000"})
    terms = product.terms_versions.get()
    assert terms.status == TermsStatus.APPROVED and terms.approved_by == staff.approver
    assert str(product.total_cap.normalize()) == "2.5E+5"


@pytest.mark.parametrize(("who", "action"), [("curator", "approve"), ("curator", "go_live"),
                                             ("approver", "submit"), ("operations", "approve"),
                                             ("compliance", "approve"), ("customer", "submit"),
                                             ("approver", "close")])
def test_roles_limit_transitions(staff, who, action):
    """A curator cannot approve, an approver cannot operate, a customer can do nothing: 403."""
    status = {"approve": "in_review", "go_live": "approved", "submit": "draft", "close": "live"}[action]
    product = product_in_status(status, staff)
    with pytest.raises(ApplicationError) as exc:
        svc.product_transition(actor=getattr(staff, who), product=product, action=action, reason="r")
    assert exc.value.code == "PERMISSION_DENIED" and exc.value.status == 403


def test_customer_cannot_draft(staff):
    with pytest.raises(ApplicationError) as exc:
        draft_product(staff.customer)
    assert exc.value.status == 403


def test_only_drafts_are_edited(staff):
    product = product_in_status("in_review", staff)
    with pytest.raises(InvalidTransition):
        svc.product_update(actor=staff.curator, product=product, risk_rating=4)


def test_every_state_change_is_audited_with_before_and_after(staff):
    """The walk draft → closed leaves one chained audit event per change, each naming the actor."""
    product = product_in_status("closed", staff)
    events = list(AuditEvent.objects.filter(object_type="earn.product", object_id=str(product.pk)))
    assert [e.action for e in events] == ["product.create", "product.submit", "product.approve",
                                          "product.go_live", "product.pause", "product.close"]
    assert events[2].actor_id == staff.approver.pk and events[2].after["drafted_by"] == staff.curator.pk
    assert events[0].after["terms"]["tiers"] == [{"lower": "0", "upper": None, "apr": "0.05"}]
    audit_chain()
    chain = list(AuditEvent.objects.order_by("chain_position"))
    assert chain and all(event.hash for event in chain)
    assert all(b.prev_hash == a.hash for a, b in pairwise(chain))
