"""Terms versions: editing a live product's terms is a new version needing approval; history is kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from accounts.models import User
from core.errors import ApplicationError, InvalidTransition, MakerCheckerViolation
from core.models import AuditEvent
from earn.errors import CapBelowSold, InvalidTerms, TermsPendingExists
from earn.models import Product, ProductStatus, TermsStatus
from earn.selectors.products import terms_in_force, terms_in_force_bulk
from earn.services import terms as svc
from tests.earn.factories import Staff, draft_product, live_product, product_in_status

TODAY = dt.date(2026, 3, 1)


@pytest.fixture
def staff(db, assets):
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=False):
        yield Staff()


@pytest.fixture
def live(staff):
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=False):
        return product_in_status("live", staff, tiers=[(0, 10000, "0.06"), (10000, None, "0.03")])


def propose(staff, product, *, effective_from="2026-03-05", apr="0.04", actor=None, **terms):
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC), tick=False):
        return svc.product_terms_propose(
            actor=actor or staff.curator2, product=product,
            terms={"min_amount": "1", "total_cap": "2000000", "redemption_modes": ["fast"],
                   "effective_from": effective_from, **terms},
            tiers=[{"lower": "0", "upper": None, "apr": apr}])


def test_editing_live_terms_creates_a_pending_version(staff, live):
    """The live product keeps running on v1 while v2 waits for approval."""
    v2 = propose(staff, live)
    live.refresh_from_db()
    assert v2.version == 2 and v2.status == TermsStatus.PENDING
    assert live.status == ProductStatus.LIVE
    assert terms_in_force(live, dt.date(2026, 3, 10)).version == 1
    event = AuditEvent.objects.get(action="product_terms.propose", object_id=str(v2.pk))
    assert event.actor_id == staff.curator2.pk and event.after["tiers"][0]["apr"] == "0.04"


def test_new_terms_version_approved_by_someone_else_takes_effect_on_its_date(staff, live):
    v2 = propose(staff, live)
    with pytest.raises(ApplicationError) as exc:
        svc.product_terms_approve(actor=staff.curator2, terms=v2)  # a curator holds no approve permission
    assert exc.value.status == 403
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC), tick=False):
        svc.product_terms_approve(actor=staff.approver, terms=v2)
    v1 = live.terms_versions.get(version=1)
    assert v1.status == TermsStatus.APPROVED and [t.apr for t in v1.tiers.all()] == [Decimal("0.06"),
                                                                                      Decimal("0.03")]
    assert terms_in_force(live, dt.date(2026, 3, 4)).version == 1
    assert terms_in_force(live, dt.date(2026, 3, 5)).version == 2
    live.refresh_from_db()
    assert live.total_cap == Decimal("2000000")


def test_maker_cannot_approve_terms_even_as_approver(staff, live):
    staff.approver.groups.add(*staff.curator.groups.all())
    both = User.objects.get(pk=staff.approver.pk)  # a fresh instance: Django caches permissions per object
    v2 = propose(staff, live, actor=both)
    with time_machine.travel(dt.datetime(2026, 3, 1, 11, tzinfo=dt.UTC), tick=False):
        with pytest.raises(MakerCheckerViolation):
            svc.product_terms_approve(actor=both, terms=v2)
        svc.product_terms_approve(actor=staff.approver2, terms=v2)


def test_one_pending_version_at_a_time(staff, live):
    propose(staff, live)
    with pytest.raises(TermsPendingExists):
        propose(staff, live)


def test_rejected_terms_keep_the_reason_and_allow_a_new_proposal(staff, live):
    v2 = propose(staff, live)
    svc.product_terms_reject(actor=staff.approver, terms=v2, reason="Rate too high for this risk.")
    v2.refresh_from_db()
    assert v2.status == TermsStatus.REJECTED and v2.rejection_reason == "Rate too high for this risk."
    assert propose(staff, live).version == 3


def test_terms_cannot_take_effect_in_the_past(staff, live):
    with pytest.raises(InvalidTerms) as exc:
        propose(staff, live, effective_from="2026-02-28")
    assert exc.value.field == "effective_from"


def test_approval_after_the_effective_date_is_refused(staff, live):
    """Approving late would rewrite history (days already accrued at the old rate)."""
    v2 = propose(staff, live, effective_from="2026-03-02")
    with time_machine.travel(dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC), tick=False), \
            pytest.raises(InvalidTerms):
        svc.product_terms_approve(actor=staff.approver, terms=v2)


def test_a_cap_below_the_sold_amount_is_refused(staff, live):
    Product.objects.filter(pk=live.pk).update(sold_amount=Decimal("500000"))
    v2 = propose(staff, live, total_cap="100000")
    with time_machine.travel(dt.datetime(2026, 3, 1, 11, tzinfo=dt.UTC), tick=False), \
            pytest.raises(CapBelowSold) as exc:
        svc.product_terms_approve(actor=staff.approver, terms=v2)
    assert exc.value.status == 409
    v2.refresh_from_db()
    assert v2.status == TermsStatus.PENDING


def test_terms_cannot_change_while_in_review(staff):
    product = product_in_status("in_review", staff)
    pending = product.terms_versions.get()
    with pytest.raises(InvalidTransition):
        svc.product_terms_update(actor=staff.curator, terms=pending, data={"min_amount": "2"})
    with pytest.raises(InvalidTransition):
        propose(staff, product)


def test_editing_draft_terms_makes_the_editor_the_maker(staff):
    product = draft_product(staff.curator)
    terms = product.terms_versions.get()
    svc.product_terms_update(actor=staff.curator2, terms=terms, data={"min_amount": "5"},
                             tiers=[(0, 100, "0.07"), (100, None, "0.02")])
    product.refresh_from_db()
    terms.refresh_from_db()
    assert terms.min_amount == 5 and terms.tiers.count() == 2
    assert product.drafted_by == staff.curator2 and terms.drafted_by == staff.curator2


@pytest.mark.parametrize(("term_type", "terms", "field"), [
    ("fixed", {"term_days": None}, "term_days"),
    ("demand", {"term_days": 30}, "term_days"),
    ("demand", {"payout": "at_maturity"}, "payout"),
    ("demand", {"auto_renew_allowed": True}, "auto_renew_allowed"),
    ("demand", {"redemption_modes": []}, "redemption_modes"),
    ("demand", {"redemption_modes": ["instant"]}, "redemption_modes"),
    ("fixed", {"early_redemption": "penalty_rate"}, "penalty_apr"),
    ("fixed", {"penalty_apr": "0.01"}, "penalty_apr"),
    ("demand", {"min_amount": "0"}, "min_amount"),
    ("demand", {"min_amount": "0.000000001"}, "min_amount"),
    ("demand", {"min_amount": "10", "max_amount": "5"}, "max_amount"),
    ("demand", {"day_count_basis": 366}, "day_count_basis"),
    ("demand", {"window_start": dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
                "window_end": dt.datetime(2026, 3, 1, tzinfo=dt.UTC)}, "window_end"),
    ("demand", {"unknown": 1}, "unknown"),
])
def test_invalid_terms_are_refused_with_the_field(staff, term_type, terms, field):
    with pytest.raises(ApplicationError) as exc:
        draft_product(staff.curator, term_type=term_type, terms=terms)
    assert exc.value.status == 400 and exc.value.field == field


def test_invalid_tiers_are_refused(staff):
    with pytest.raises(InvalidTerms) as exc:
        draft_product(staff.curator, tiers=[(0, 10, "0.05"), (20, None, "0.03")])
    assert exc.value.field == "tiers"


def test_terms_in_force_picks_the_latest_effective_approved_version(staff, live):
    """Approved, latest effective_from <= D; pending and rejected versions never count."""
    v2 = propose(staff, live, effective_from="2026-03-05")
    assert terms_in_force(live, dt.date(2026, 3, 6)).version == 1  # v2 still pending
    with time_machine.travel(dt.datetime(2026, 3, 1, 11, tzinfo=dt.UTC), tick=False):
        svc.product_terms_approve(actor=staff.approver, terms=v2)
    assert terms_in_force(live, dt.date(2026, 2, 28)) is None
    assert terms_in_force(live, dt.date(2026, 3, 1)).version == 1
    assert terms_in_force(live, dt.date(2026, 3, 5)).version == 2


def test_terms_in_force_bulk_matches_single_and_uses_two_queries(staff, live, django_assert_num_queries):
    other = live_product("BTC", "fixed", term_days=90)
    with django_assert_num_queries(2):
        bulk = terms_in_force_bulk([live.pk, other.pk], dt.date(2026, 3, 10))
        [list(t.tiers.all()) for t in bulk.values()]
    assert bulk[live.pk].pk == terms_in_force(live, dt.date(2026, 3, 10)).pk
    assert bulk[other.pk].pk == other.terms.pk
