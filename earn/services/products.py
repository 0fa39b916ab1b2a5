"""Writes for product curation: draft, edit, submit, approve/reject, go live, pause, close, terms versions.

Every function checks the actor's permission, locks the product row, re-reads its status, applies
one explicit transition and writes its audit event in the same transaction. Maker ≠ checker: the
user who drafted or last edited a product (or a terms version) cannot approve it.
Lock order (shared with subscriptions): product row first, then anything hanging off it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.audit import audit_record
from compliance.models import AuditEvent
from compliance.selectors import disclosure_current
from core.errors import Conflict, InvalidTransition, MakerCheckerViolation, NotFound, PermissionDenied, ValidationFailed
from core.money import is_multiple_of_scale, to_decimal
from earn.apy import tier_schedule_errors
from earn.lock_objects import product_lock
from earn.models import (
    EarlyRedemption,
    PayoutMode,
    Product,
    ProductStatus,
    ProductTerms,
    RateTier,
    RedemptionMode,
    Strategy,
    TermsStatus,
    TermType,
)
from earn.selectors.products import terms_in_force, terms_pending, vetting_missing
from ledger.models import Asset

# --- Errors --------------------------------------------------------------------------------------




class NoApprovedDisclosure(Conflict):
    default_code = "NO_APPROVED_DISCLOSURE"


class NoTermsInForce(Conflict):
    default_code = "NO_TERMS_IN_FORCE"


class VettingIncomplete(Conflict):
    default_code = "VETTING_INCOMPLETE"


class TermsPendingExists(Conflict):
    default_code = "TERMS_PENDING"


class CapBelowSold(Conflict):
    default_code = "CAP_BELOW_SOLD"


class InvalidTerms(ValidationFailed):
    default_code = "INVALID_TERMS"


# --- Lifecycle table ------------------------------------------------------------------------------

S = ProductStatus
# action -> (statuses it may start from, status it leads to, permission needed)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "submit": (frozenset({S.DRAFT}), S.IN_REVIEW, "earn.submit_product"),
    "approve": (frozenset({S.IN_REVIEW}), S.APPROVED, "earn.approve_product"),
    "reject": (frozenset({S.IN_REVIEW}), S.DRAFT, "earn.approve_product"),
    "go_live": (frozenset({S.APPROVED, S.PAUSED}), S.LIVE, "earn.operate_product"),
    "pause": (frozenset({S.LIVE}), S.PAUSED, "earn.operate_product"),
    "close": (frozenset({S.APPROVED, S.LIVE, S.PAUSED}), S.CLOSED, "earn.operate_product"),
}
# Statuses in which a change of terms is a new version needing its own approval.
TERMS_VERSIONED_STATUSES = frozenset({S.APPROVED, S.LIVE, S.PAUSED})

PRODUCT_FIELDS = ("name_en", "name_zh_hant", "asset", "term_type", "strategy", "risk_rating")
VETTING_FIELDS = ("venue", "chain", "contract_address", "audit_reports", "tvl_usd", "yield_source",
                  "risk_rationale", "reviewer_notes")
TERMS_FIELDS = ("effective_from", "term_days", "day_count_basis", "payout", "min_amount", "max_amount",
                "per_user_cap", "total_cap", "window_start", "window_end", "early_redemption", "penalty_apr",
                "redemption_modes", "auto_renew_allowed")
MONEY_TERMS = ("min_amount", "max_amount", "per_user_cap", "total_cap")

TierInput = tuple[Any, Any, Any] | Mapping[str, Any]


def require_permission(actor: Any, perm: str) -> None:
    """Refuse (403) unless `actor` is active staff holding `perm` (through a role group or superuser)."""
    if not (getattr(actor, "is_active", False) and getattr(actor, "is_staff", False) and actor.has_perm(perm)):
        raise PermissionDenied(_("You do not have permission to do this."))


def can_transition(actor: Any, action: str) -> bool:
    """Whether `actor` holds the permission for a lifecycle action (for showing buttons)."""
    perm = TRANSITIONS[action][2]
    return bool(getattr(actor, "is_active", False) and getattr(actor, "is_staff", False) and actor.has_perm(perm))


def _lock(product: Product | int) -> Product:
    return product_lock(product if isinstance(product, int) else product.pk)


def _product_of_terms(terms: ProductTerms | int) -> tuple[Product, ProductTerms]:
    """Lock the product, then the terms version (the service-wide lock order)."""
    terms_id = terms if isinstance(terms, int) else terms.pk
    product_id = ProductTerms.objects.filter(pk=terms_id).values_list("product_id", flat=True).first()
    if product_id is None:
        raise NotFound(_("No such terms version."))
    product = _lock(product_id)
    return product, ProductTerms.objects.select_for_update().get(pk=terms_id)


def makers_of(obj: Product | ProductTerms, actions: Iterable[str]) -> set[int]:
    """Everyone who drafted or edited `obj`, from its audit trail (the last editor is on the row too)."""
    return set(AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk), action__in=list(
        actions), actor__isnull=False).values_list("actor_id", flat=True))


PRODUCT_MAKER_ACTIONS = ("product.create", "product.update")
TERMS_MAKER_ACTIONS = ("product_terms.propose", "product_terms.update")


def _check_transition(product: Product, action: str) -> str:
    sources, target, _perm = TRANSITIONS[action]
    if product.status not in sources:
        raise InvalidTransition(
            _("Cannot %(action)s a product that is %(status)s.")
            % {"action": action.replace("_", " "), "status": product.get_status_display().lower()},
            extra={"status": product.status, "action": action},
        )
    return target


def _plain(value: Any) -> Any:
    """Decimals without trailing zeros ("0.05", not "0.050000000000000000") so audit diffs read well."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    return value


def _snapshot(product: Product) -> dict[str, Any]:
    data = {f: getattr(product, f) for f in (*PRODUCT_FIELDS[:2], "term_type", "strategy", "risk_rating",
                                              *VETTING_FIELDS, "status", "total_cap")}
    data["asset"] = product.asset_id
    return {k: _plain(v) for k, v in data.items()}


def _terms_snapshot(terms: ProductTerms, tiers: Iterable[RateTier] | None = None) -> dict[str, Any]:
    data = {f: getattr(terms, f) for f in TERMS_FIELDS}
    data.update(version=terms.version, status=terms.status)
    rows = tiers if tiers is not None else terms.tiers.all()
    data["tiers"] = [{"lower": _plain(t.lower), "upper": _plain(t.upper), "apr": _plain(t.apr)} for t in rows]
    return {k: _plain(v) for k, v in data.items()}


def _changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


# --- Input checks --------------------------------------------------------------------------------

def _money(value: Any, field: str) -> Decimal | None:
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
        rows.append((_money(lower, "tiers") or Decimal(0), _money(upper, "tiers"), _money(apr, "tiers")))
    if any(apr is None for _l, _u, apr in rows):
        raise InvalidTerms(_("Every tier needs an APR."), field="tiers")
    errors = tier_schedule_errors(rows)  # type: ignore[arg-type]
    if errors:
        raise InvalidTerms(_("Invalid rate tiers: %(errors)s.") % {"errors": "; ".join(errors)}, field="tiers")
    return sorted(rows, key=lambda r: r[0])  # type: ignore[return-value]


def _clean_terms(product: Product, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a terms proposal against the product; returns the model field values."""
    unknown = set(data) - set(TERMS_FIELDS)
    if unknown:
        raise InvalidTerms(_("Unknown terms fields: %(f)s.") % {"f": ", ".join(sorted(unknown))},
                           field=sorted(unknown)[0])
    clean: dict[str, Any] = {f: data.get(f) for f in TERMS_FIELDS}
    for field in (*MONEY_TERMS, "penalty_apr"):
        clean[field] = _money(clean[field], field)
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


def _clean_product(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    unknown = set(data) - set(PRODUCT_FIELDS) - set(VETTING_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown product fields: %(f)s.") % {"f": ", ".join(sorted(unknown))},
                               field=sorted(unknown)[0])
    clean = dict(data)
    if "asset" in clean:
        code = str(getattr(clean.pop("asset"), "pk", None) or data["asset"]).upper()
        if not Asset.objects.filter(pk=code).exists():
            raise ValidationFailed(_("Unknown asset."), field="asset")
        clean["asset_id"] = code
    if "term_type" in clean and clean["term_type"] not in TermType.values:
        raise ValidationFailed(_("The term type is demand or fixed."), field="term_type")
    if "strategy" in clean and clean["strategy"] not in Strategy.values:
        raise ValidationFailed(_("The strategy is simple or liquidity_mining."), field="strategy")
    if "risk_rating" in clean and (clean["risk_rating"] is None or not 1 <= int(clean["risk_rating"]) <= 5):
        raise ValidationFailed(_("The risk rating is 1 to 5."), field="risk_rating")
    if "tvl_usd" in clean:
        clean["tvl_usd"] = _money(clean["tvl_usd"], "tvl_usd")
    if "audit_reports" in clean:
        reports = clean["audit_reports"] or []
        if not isinstance(reports, list) or not all(isinstance(r, dict) and r.get("url") for r in reports):
            raise ValidationFailed(_('Audit reports are a list of {"url", "date", "auditor"}.'),
                                   field="audit_reports")
        for report in reports:
            try:
                dt.date.fromisoformat(str(report.get("date", "")))
            except ValueError as exc:
                raise ValidationFailed(_("Each audit report needs a date (YYYY-MM-DD)."),
                                       field="audit_reports") from exc
        clean["audit_reports"] = reports
    for text in ("venue", "chain", "contract_address", "yield_source", "risk_rationale", "reviewer_notes"):
        if text in clean:
            clean[text] = (clean[text] or "").strip()
    if not partial:
        for required in ("name_en", "name_zh_hant", "asset_id", "term_type", "risk_rating"):
            if not clean.get(required):
                raise ValidationFailed(_("This field is required."), field=required.removesuffix("_id"))
    return clean


def _write_tiers(terms: ProductTerms, tiers: list[tuple[Decimal, Decimal | None, Decimal]]) -> list[RateTier]:
    terms.tiers.all().delete()
    return RateTier.objects.bulk_create(
        [RateTier(terms=terms, lower=lower, upper=upper, apr=apr) for lower, upper, apr in tiers])


# --- Drafting ------------------------------------------------------------------------------------

@transaction.atomic
def product_create(*, actor: Any, terms: Mapping[str, Any] | None = None,
                   tiers: Sequence[TierInput] | None = None, **fields: Any) -> Product:
    """Draft a product (status draft) with its vetting data and, optionally, terms v1 + tiers."""
    require_permission(actor, "earn.add_product")
    clean = _clean_product(fields)
    now = timezone.now()
    product = Product.objects.create(status=ProductStatus.DRAFT, drafted_by=actor, created_at=now,
                                     updated_at=now, **clean)
    after = _snapshot(product)
    if terms is not None or tiers is not None:
        version = _terms_create(product=product, actor=actor, data=terms or {}, tiers=tiers or [])
        after["terms"] = _terms_snapshot(version)
    audit_record(actor=actor, action="product.create", obj=product, before=None, after=after)
    return product


@transaction.atomic
def product_update(*, actor: Any, product: Product | int, **fields: Any) -> Product:
    """Edit a draft's product and vetting fields; the editor becomes its maker (may not approve)."""
    require_permission(actor, "earn.change_product")
    product = _lock(product)
    if product.status != ProductStatus.DRAFT:
        raise InvalidTransition(_("Only a draft can be edited; propose new terms for an approved product."),
                                extra={"status": product.status, "action": "edit"})
    clean = _clean_product(fields, partial=True)
    before = _snapshot(product)
    for name, value in clean.items():
        setattr(product, name, value)
    product.drafted_by = actor
    product.updated_at = timezone.now()
    product.save()
    old, new = _changes(before, _snapshot(product))
    audit_record(actor=actor, action="product.update", obj=product, before=old, after={**new, "edited_by": actor.pk})
    return product


def _terms_create(*, product: Product, actor: Any, data: Mapping[str, Any],
                  tiers: Sequence[TierInput]) -> ProductTerms:
    clean = _clean_terms(product, data)
    rows = _tiers(tiers)
    version = (product.terms_versions.aggregate(v=Max("version"))["v"] or 0) + 1
    terms = ProductTerms.objects.create(product=product, version=version, status=TermsStatus.PENDING,
                                        drafted_by=actor, **clean)
    _write_tiers(terms, rows)
    return terms


@transaction.atomic
def product_terms_propose(*, actor: Any, product: Product | int, terms: Mapping[str, Any],
                          tiers: Sequence[TierInput]) -> ProductTerms:
    """A new terms version (pending). For approved/live/paused products it needs approval again;
    customers keep the version they subscribed under. A draft without terms gets its v1 here.
    """
    require_permission(actor, "earn.add_productterms")
    product = _lock(product)
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
    version = _terms_create(product=product, actor=actor, data=terms, tiers=tiers)
    if product.status == ProductStatus.DRAFT:
        product.drafted_by = actor
        product.updated_at = timezone.now()
        product.save(update_fields=["drafted_by", "updated_at"])
    audit_record(actor=actor, action="product_terms.propose", obj=version, before=None,
                 after={"product": product.pk, **_terms_snapshot(version)})
    return version


@transaction.atomic
def product_terms_update(*, actor: Any, terms: ProductTerms | int, data: Mapping[str, Any],
                         tiers: Sequence[TierInput] | None = None) -> ProductTerms:
    """Edit a pending terms version (not while its product is in review); the editor becomes its maker."""
    require_permission(actor, "earn.change_productterms")
    product, version = _product_of_terms(terms)
    if version.status != TermsStatus.PENDING or product.status in {ProductStatus.IN_REVIEW, ProductStatus.CLOSED}:
        raise InvalidTransition(_("Only pending terms of a product not in review can be edited."),
                                extra={"status": version.status, "action": "edit_terms"})
    before = _terms_snapshot(version)
    merged = {f: getattr(version, f) for f in TERMS_FIELDS} | dict(data)
    clean = _clean_terms(product, merged)
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
    old, new = _changes(before, _terms_snapshot(version))
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


def _approve_terms_version(version: ProductTerms, actor: Any, product: Product) -> None:
    if actor.pk == version.drafted_by_id or actor.pk in makers_of(version, TERMS_MAKER_ACTIONS):
        raise MakerCheckerViolation(_("The user who drafted or last edited these terms cannot approve them."))
    version.status = TermsStatus.APPROVED
    version.approved_by = actor
    version.approved_at = timezone.now()
    version.rejection_reason = ""
    version.save(update_fields=["status", "approved_by", "approved_at", "rejection_reason"])
    _apply_total_cap(product, version.total_cap)


@transaction.atomic
def product_terms_approve(*, actor: Any, terms: ProductTerms | int) -> ProductTerms:
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
    _approve_terms_version(version, actor, product)
    audit_record(actor=actor, action="product_terms.approve", obj=version,
                 before={"status": TermsStatus.PENDING, "product_total_cap": before_cap},
                 after={"status": version.status, "product_total_cap": product.total_cap,
                        "drafted_by": version.drafted_by_id, "effective_from": version.effective_from})
    return version


@transaction.atomic
def product_terms_reject(*, actor: Any, terms: ProductTerms | int, reason: str) -> ProductTerms:
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


# --- Lifecycle -----------------------------------------------------------------------------------

def _finish(actor: Any, product: Product, action: str, target: str, extra_after: dict | None = None,
            extra_before: dict | None = None) -> Product:
    before = {"status": product.status, **(extra_before or {})}
    product.status = target
    product.updated_at = timezone.now()
    product.save(update_fields=["status", "updated_at", "approved_by", "approved_at", "rejection_reason",
                                "reviewer_notes"])
    audit_record(actor=actor, action=f"product.{action}", obj=product, before=before,
                 after={"status": target, **(extra_after or {})})
    return product


@transaction.atomic
def product_submit(*, actor: Any, product: Product | int) -> Product:
    """draft → in_review, once the vetting checklist is complete and a pending terms version exists."""
    require_permission(actor, TRANSITIONS["submit"][2])
    product = _lock(product)
    target = _check_transition(product, "submit")
    missing = vetting_missing(product)
    if missing:
        raise VettingIncomplete(_("Complete the vetting checklist first: %(items)s.") % {"items": ", ".join(missing)},
                                field=missing[0], extra={"missing": missing})
    pending = terms_pending(product)
    if pending is None or not pending.tiers.all():
        raise InvalidTerms(_("Draft the terms and rate tiers before submitting."), field="terms")
    # Terms may have been drafted before the product's type changed: check them again.
    _clean_terms(product, {f: getattr(pending, f) for f in TERMS_FIELDS})
    return _finish(actor, product, "submit", target, {"terms_version": pending.version})


@transaction.atomic
def product_approve(*, actor: Any, product: Product | int, notes: str = "") -> Product:
    """in_review → approved with its pending terms; the drafter or last editor cannot approve."""
    require_permission(actor, TRANSITIONS["approve"][2])
    product = _lock(product)
    target = _check_transition(product, "approve")
    pending = terms_pending(product)
    if pending is None:
        raise InvalidTerms(_("There are no terms to approve."), field="terms")
    makers = {product.drafted_by_id, pending.drafted_by_id} | makers_of(product, PRODUCT_MAKER_ACTIONS)
    if actor.pk in makers:
        raise MakerCheckerViolation(_("The user who drafted or last edited this product cannot approve it."))
    _approve_terms_version(pending, actor, product)
    product.approved_by = actor
    product.approved_at = timezone.now()
    product.rejection_reason = ""
    if notes.strip():
        product.reviewer_notes = "\n\n".join(filter(None, [product.reviewer_notes, notes.strip()]))
    return _finish(actor, product, "approve", target,
                   {"drafted_by": product.drafted_by_id, "terms_version": pending.version,
                    "total_cap": product.total_cap, "notes": notes.strip()})


@transaction.atomic
def product_reject(*, actor: Any, product: Product | int, reason: str) -> Product:
    """in_review → draft with the reason; the drafter edits and submits again."""
    require_permission(actor, TRANSITIONS["reject"][2])
    if not (reason or "").strip():
        raise ValidationFailed(_("Give a reason for the rejection."), field="reason")
    product = _lock(product)
    target = _check_transition(product, "reject")
    if actor.pk == product.drafted_by_id or actor.pk in makers_of(product, PRODUCT_MAKER_ACTIONS):
        raise MakerCheckerViolation(_("The user who drafted this product cannot review it."))
    product.rejection_reason = reason.strip()
    return _finish(actor, product, "reject", target, {"reason": product.rejection_reason,
                                                      "drafted_by": product.drafted_by_id})


@transaction.atomic
def product_go_live(*, actor: Any, product: Product | int) -> Product:
    """approved → live (or paused → live: resume); needs a current disclosure and terms in force today."""
    require_permission(actor, TRANSITIONS["go_live"][2])
    product = _lock(product)
    resumed = product.status == ProductStatus.PAUSED
    target = _check_transition(product, "go_live")
    disclosure = disclosure_current(product_id=product.pk)
    if disclosure is None:
        raise NoApprovedDisclosure(_("The product has no approved risk disclosure."))
    terms = terms_in_force(product, timezone.now().date())
    if terms is None:
        raise NoTermsInForce(_("No approved terms are in force today."))
    return _finish(actor, product, "resume" if resumed else "go_live", target,
                   {"disclosure": disclosure.pk, "disclosure_version": disclosure.version,
                    "terms_version": terms.version})


@transaction.atomic
def product_pause(*, actor: Any, product: Product | int, reason: str = "") -> Product:
    """live → paused: no new subscriptions; existing positions keep running."""
    require_permission(actor, TRANSITIONS["pause"][2])
    product = _lock(product)
    target = _check_transition(product, "pause")
    return _finish(actor, product, "pause", target, {"reason": reason.strip()})


@transaction.atomic
def product_close(*, actor: Any, product: Product | int, reason: str = "") -> Product:
    """approved, live or paused → closed, for good."""
    require_permission(actor, TRANSITIONS["close"][2])
    product = _lock(product)
    target = _check_transition(product, "close")
    return _finish(actor, product, "close", target, {"reason": reason.strip()})


TRANSITION_SERVICES = {
    "submit": product_submit, "approve": product_approve, "reject": product_reject,
    "go_live": product_go_live, "pause": product_pause, "close": product_close,
}


def product_transition(*, actor: Any, product: Product | int, action: str, reason: str = "") -> Product:
    """Dispatch a lifecycle action by name (admin actions and the staff API share this)."""
    service = TRANSITION_SERVICES[action]
    if action == "reject":
        return product_reject(actor=actor, product=product, reason=reason)
    if action == "approve":
        return product_approve(actor=actor, product=product, notes=reason)
    if action in {"pause", "close"}:
        return service(actor=actor, product=product, reason=reason)  # type: ignore[operator]
    return service(actor=actor, product=product)  # type: ignore[operator]
