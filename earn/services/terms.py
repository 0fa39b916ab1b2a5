"""Writes for terms versions: propose, edit, approve, reject; and the validation of terms and rate tiers.

A change of terms on an approved/live/paused product is a new version needing its own approval; customers
keep the version they subscribed under. Maker ≠ checker: whoever drafted or last edited a version cannot
approve it. Lock order: product row first, then the terms version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import InvalidTransition, MakerCheckerViolation, NotFound, ValidationFailed
from core.money import is_multiple_of_scale, to_decimal
from earn.apy import tier_schedule_errors
from earn.errors import CapBelowSold, InvalidTerms, TermsPendingExists
from earn.models import (
    EarlyRedemption,
    PayoutMode,
    Product,
    ProductStatus,
    ProductTerms,
    RateTier,
    RedemptionMode,
    TermsStatus,
    TermType,
)
from earn.selectors.products import terms_pending
from earn.services.curation import changes, lock_product, makers_of, plain, require_permission
from ledger.models import Asset

if TYPE_CHECKING:
    from accounts.models import User

S = ProductStatus
# Statuses in which a change of terms is a new version needing its own approval.
TERMS_VERSIONED_STATUSES = frozenset({S.APPROVED, S.LIVE, S.PAUSED})

TERMS_FIELDS = ("effective_from", "term_days", "day_count_basis", "payout", "min_amount", "max_amount",
                "per_user_cap", "total_cap", "window_start", "window_end", "early_redemption", "penalty_apr",
                "redemption_modes", "auto_renew_allowed")
MONEY_TERMS = ("min_amount", "max_amount", "per_user_cap", "total_cap")

TierInput = tuple[Any, Any, Any] | Mapping[str, Any]

TERMS_MAKER_ACTIONS = ("product_terms.propose", "product_terms.update")


def _product_of_terms(terms: ProductTerms | int) -> tuple[Product, ProductTerms]:
    """Lock the product, then the terms version (product administration's lock order, earn.lock_objects)."""
    terms_id = terms if isinstance(terms, int) else terms.pk
    product_id = ProductTerms.objects.filter(pk=terms_id).values_list("product_id", flat=True).first()
    if product_id is None:
        raise NotFound(_("No such terms version."))
    product = lock_product(product_id)
    return product, ProductTerms.objects.select_for_update().get(pk=terms_id)



def terms_snapshot(terms: ProductTerms, tiers: Iterable[RateTier] | None = None) -> dict[str, Any]:
    data = {f: getattr(terms, f) for f in TERMS_FIELDS}
    data.update(version=terms.version, status=terms.status)
    rows = tiers if tiers is not None else terms.tiers.all()
    data["tiers"] = [{"lower": plain(t.lower), "upper": plain(t.upper), "apr": plain(t.apr)} for t in rows]
    return {k: plain(v) for k, v in data.items()}



def terms_money(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return to_decimal(value)
    except (TypeError, ValueError) as exc:
        raise InvalidTerms(_("Enter a decimal number."), field=field) from exc


def _tiers(tiers: Sequence[TierInput]) -> list[tuple[Decimal, Decimal | None, Decimal]]:
    rows = []
    for tier in tiers:
        lower, upper, apr = ((tier.get("lower", 0), tier.get("upper"), tier.get("apr"))
                             if isinstance(tier, Mapping) else tier)
        rows.append((terms_money(lower, "tiers") or Decimal(0), terms_money(upper, "tiers"), terms_money(apr, "tiers")))
    if any(apr is None for _l, _u, apr in rows):
        raise InvalidTerms(_("Every tier needs an APR."), field="tiers")
    checked = cast(list[tuple[Decimal, Decimal | None, Decimal]], rows)  # every APR is there (checked above)
    errors = tier_schedule_errors(checked)
    if errors:
        raise InvalidTerms(_("Invalid rate tiers: %(errors)s.") % {"errors": "; ".join(errors)}, field="tiers")
    return sorted(checked, key=lambda r: r[0])


def clean_terms(product: Product, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a terms proposal against the product; returns the model field values."""
    unknown = set(data) - set(TERMS_FIELDS)
    if unknown:
        raise InvalidTerms(_("Unknown terms fields: %(f)s.") % {"f": ", ".join(sorted(unknown))},
                           field=sorted(unknown)[0])
    clean: dict[str, Any] = {f: data.get(f) for f in TERMS_FIELDS}
    for field in (*MONEY_TERMS, "penalty_apr"):
        clean[field] = terms_money(clean[field], field)
    clean["effective_from"] = clean["effective_from"] or timezone.now().date()
    if isinstance(clean["effective_from"], str):
        try:
            clean["effective_from"] = dt.date.fromisoformat(clean["effective_from"])
        except ValueError as exc:
            raise InvalidTerms(_("Enter a date as YYYY-MM-DD."), field="effective_from") from exc
    clean["day_count_basis"] = int(clean["day_count_basis"] or 365)
    clean["payout"] = clean["payout"] or PayoutMode.DAILY
    clean["early_redemption"] = clean["early_redemption"] or EarlyRedemption.NOT_ALLOWED
    clean["redemption_modes"] = list(clean["redemption_modes"] or [])
    clean["auto_renew_allowed"] = bool(clean["auto_renew_allowed"])
    fixed = product.term_type == TermType.FIXED

    def refuse(message: str, field: str) -> None:
        raise InvalidTerms(message, field=field)

    if clean["day_count_basis"] not in (365, 360):
        refuse(_("The day-count basis is 365 or 360."), "day_count_basis")
    if fixed and not clean["term_days"]:
        refuse(_("A fixed-term product needs a term in days."), "term_days")
    if not fixed:
        if clean["term_days"]:
            refuse(_("A flexible product has no term."), "term_days")
        clean["term_days"] = None
        if clean["payout"] != PayoutMode.DAILY:
            refuse(_("A flexible product pays interest daily."), "payout")
        if clean["auto_renew_allowed"]:
            refuse(_("Only fixed-term products renew."), "auto_renew_allowed")
        if not clean["redemption_modes"]:
            refuse(_("A flexible product needs at least one redemption mode."), "redemption_modes")
    if clean["payout"] not in PayoutMode.values:
        refuse(_("Unknown payout mode."), "payout")
    if clean["early_redemption"] not in EarlyRedemption.values:
        refuse(_("Unknown early-redemption rule."), "early_redemption")
    if (clean["early_redemption"] == EarlyRedemption.PENALTY_RATE) != (clean["penalty_apr"] is not None):
        refuse(_("A penalty APR is given with, and only with, the penalty-rate rule."), "penalty_apr")
    if clean["penalty_apr"] is not None and not Decimal(0) <= clean["penalty_apr"] < 10:
        refuse(_("The penalty APR is a fraction between 0 and 10."), "penalty_apr")
    modes = clean["redemption_modes"]
    if len(set(modes)) != len(modes) or not set(modes) <= set(RedemptionMode.values):
        refuse(_("Redemption modes are fast and/or standard."), "redemption_modes")
    scale = Asset.objects.values_list("scale", flat=True).get(pk=product.asset_id)
    for field in MONEY_TERMS:
        value = clean[field]
        if value is None:
            continue
        if value <= 0:
            refuse(_("Must be greater than zero."), field)
        if not is_multiple_of_scale(value, scale):
            refuse(_("Has more decimal places than the asset allows (%(scale)s).") % {"scale": scale}, field)
    if clean["min_amount"] is None:
        refuse(_("A minimum subscription amount is required."), "min_amount")
    for field in ("max_amount", "per_user_cap", "total_cap"):
        if clean[field] is not None and clean[field] < clean["min_amount"]:
            refuse(_("Must not be below the minimum subscription amount."), field)
    if clean["window_start"] and clean["window_end"] and clean["window_end"] <= clean["window_start"]:
        refuse(_("The subscription window must close after it opens."), "window_end")
    return clean



def _write_tiers(terms: ProductTerms, tiers: list[tuple[Decimal, Decimal | None, Decimal]]) -> list[RateTier]:
    terms.tiers.all().delete()
    return RateTier.objects.bulk_create(
        [RateTier(terms=terms, lower=lower, upper=upper, apr=apr) for lower, upper, apr in tiers])


def terms_create(*, product: Product, actor: User, data: Mapping[str, Any],
                  tiers: Sequence[TierInput]) -> ProductTerms:
    clean = clean_terms(product, data)
    rows = _tiers(tiers)
    version = (product.terms_versions.aggregate(v=Max("version"))["v"] or 0) + 1
    terms = ProductTerms.objects.create(product=product, version=version, status=TermsStatus.PENDING,
                                        drafted_by=actor, **clean)
    _write_tiers(terms, rows)
    return terms


@transaction.atomic
def product_terms_propose(*, actor: User, product: Product | int, terms: Mapping[str, Any],
                          tiers: Sequence[TierInput]) -> ProductTerms:
    """A new terms version (pending). For approved/live/paused products it needs approval again;
    customers keep the version they subscribed under. A draft without terms gets its v1 here.
    """
    require_permission(actor, "earn.add_productterms")
    product = lock_product(product)
    if product.status not in TERMS_VERSIONED_STATUSES | {ProductStatus.DRAFT}:
        raise InvalidTransition(_("Terms cannot be proposed while the product is %(status)s.")
                                % {"status": product.get_status_display().lower()},
                                extra={"status": product.status, "action": "propose_terms"})
    pending = terms_pending(product)
    if pending is not None:
        raise TermsPendingExists(_("Terms version %(v)s is already waiting for approval; edit or reject it first.")
                                 % {"v": pending.version})
    if product.status in TERMS_VERSIONED_STATUSES:
        effective_from = terms.get("effective_from") or timezone.now().date()
        if isinstance(effective_from, str):
            effective_from = dt.date.fromisoformat(effective_from)
        if effective_from < timezone.now().date():
            raise InvalidTerms(_("New terms cannot take effect in the past."), field="effective_from")
    version = terms_create(product=product, actor=actor, data=terms, tiers=tiers)
    if product.status == ProductStatus.DRAFT:
        product.drafted_by = actor
        product.updated_at = timezone.now()
        product.save(update_fields=["drafted_by", "updated_at"])
    audit_record(actor=actor, action="product_terms.propose", obj=version, before=None,
                 after={"product": product.pk, **terms_snapshot(version)})
    return version


@transaction.atomic
def product_terms_update(*, actor: User, terms: ProductTerms | int, data: Mapping[str, Any],
                         tiers: Sequence[TierInput] | None = None) -> ProductTerms:
    """Edit a pending terms version (not while its product is in review); the editor becomes its maker."""
    require_permission(actor, "earn.change_productterms")
    product, version = _product_of_terms(terms)
    if version.status != TermsStatus.PENDING or product.status in {ProductStatus.IN_REVIEW, ProductStatus.CLOSED}:
        raise InvalidTransition(_("Only pending terms of a product not in review can be edited."),
                                extra={"status": version.status, "action": "edit_terms"})
    before = terms_snapshot(version)
    merged = {f: getattr(version, f) for f in TERMS_FIELDS} | dict(data)
    clean = clean_terms(product, merged)
    if product.status in TERMS_VERSIONED_STATUSES and clean["effective_from"] < timezone.now().date():
        raise InvalidTerms(_("New terms cannot take effect in the past."), field="effective_from")
    for name, value in clean.items():
        setattr(version, name, value)
    version.drafted_by = actor
    version.save()
    if tiers is not None:
        _write_tiers(version, _tiers(tiers))
    if product.status == ProductStatus.DRAFT:
        product.drafted_by = actor
        product.updated_at = timezone.now()
        product.save(update_fields=["drafted_by", "updated_at"])
    old, new = changes(before, terms_snapshot(version))
    audit_record(actor=actor, action="product_terms.update", obj=version, before=old,
                 after={**new, "edited_by": actor.pk})
    return version


def _apply_total_cap(product: Product, cap: Decimal | None) -> None:
    """Copy the approved cap to the product's counter row; refuse a cap below what is already sold."""
    updated = Product.objects.filter(pk=product.pk).filter(
        Q(sold_amount__lte=cap) if cap is not None else Q()).update(total_cap=cap, updated_at=timezone.now())
    if not updated:
        raise CapBelowSold(_("The total cap %(cap)s is below the amount already sold (%(sold)s).")
                           % {"cap": cap, "sold": product.sold_amount}, field="total_cap")
    product.total_cap = cap


def approve_terms_version(version: ProductTerms, actor: User, product: Product) -> None:
    if actor.pk == version.drafted_by_id or actor.pk in makers_of(version, TERMS_MAKER_ACTIONS):
        raise MakerCheckerViolation(_("The user who drafted or last edited these terms cannot approve them."))
    version.status = TermsStatus.APPROVED
    version.approved_by = actor
    version.approved_at = timezone.now()
    version.rejection_reason = ""
    version.save(update_fields=["status", "approved_by", "approved_at", "rejection_reason"])
    _apply_total_cap(product, version.total_cap)


@transaction.atomic
def product_terms_approve(*, actor: User, terms: ProductTerms | int) -> ProductTerms:
    """Approve a new terms version of an approved/live/paused product (maker ≠ checker)."""
    require_permission(actor, "earn.approve_product")
    product, version = _product_of_terms(terms)
    if version.status != TermsStatus.PENDING:
        raise InvalidTransition(_("Only pending terms can be approved."),
                                extra={"status": version.status, "action": "approve_terms"})
    if product.status not in TERMS_VERSIONED_STATUSES:
        raise InvalidTransition(_("The first terms are approved together with the product."),
                                extra={"status": product.status, "action": "approve_terms"})
    if version.effective_from < timezone.now().date():
        raise InvalidTerms(_("These terms would take effect in the past; set a new effective date first."),
                           field="effective_from")
    before_cap = product.total_cap
    approve_terms_version(version, actor, product)
    audit_record(actor=actor, action="product_terms.approve", obj=version,
                 before={"status": TermsStatus.PENDING, "product_total_cap": before_cap},
                 after={"status": version.status, "product_total_cap": product.total_cap,
                        "drafted_by": version.drafted_by_id, "effective_from": version.effective_from})
    return version


@transaction.atomic
def product_terms_reject(*, actor: User, terms: ProductTerms | int, reason: str) -> ProductTerms:
    """Refuse a pending terms version of an approved/live/paused product, with a reason."""
    require_permission(actor, "earn.approve_product")
    if not (reason or "").strip():
        raise ValidationFailed(_("Give a reason for the rejection."), field="reason")
    product, version = _product_of_terms(terms)
    if version.status != TermsStatus.PENDING or product.status not in TERMS_VERSIONED_STATUSES:
        raise InvalidTransition(_("Only pending terms of an approved product can be rejected here."),
                                extra={"status": version.status, "action": "reject_terms"})
    if actor.pk == version.drafted_by_id or actor.pk in makers_of(version, TERMS_MAKER_ACTIONS):
        raise MakerCheckerViolation(_("The user who drafted these terms cannot review them."))
    version.status = TermsStatus.REJECTED
    version.rejection_reason = reason.strip()
    version.save(update_fields=["status", "rejection_reason"])
    audit_record(actor=actor, action="product_terms.reject", obj=version, before={"status": TermsStatus.PENDING},
                 after={"status": version.status, "reason": version.rejection_reason})
    return version
