"""Writes for product curation: draft, edit, submit, approve/reject, go live, pause, close.

Every function checks the actor's permission, locks the product row, re-reads its status, applies
one explicit transition and writes its audit event in the same transaction. Maker ≠ checker: the
user who drafted or last edited a product cannot approve it. Terms versions: `earn.services.terms`.
Lock order (product administration, earn.lock_objects): product row first, then anything hanging off it
(never positions or ledger accounts, which the money paths lock before the product row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.selectors import disclosure_current
from core.audit import audit_record
from core.errors import InvalidTransition, MakerCheckerViolation, ValidationFailed
from core.money import is_multiple_of_scale
from earn.errors import InvalidTerms, NoApprovedDisclosure, NoTermsInForce, VettingIncomplete
from earn.models import Category, LaunchMethod, Product, ProductStatus, Strategy, TermType
from earn.selectors.products import terms_in_force, terms_pending, vetting_missing
from earn.services.curation import changes, lock_product, makers_of, plain, require_permission
from earn.services.terms import (
    TERMS_FIELDS,
    TierInput,
    approve_terms_version,
    clean_terms,
    terms_create,
    terms_money,
    terms_snapshot,
)
from ledger.models import Asset

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

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

PRODUCT_FIELDS = ("name_en", "name_zh_hant", "asset", "term_type", "strategy", "risk_rating", "category")
VETTING_FIELDS = ("venue", "chain", "contract_address", "audit_reports", "tvl_usd", "yield_source",
                  "risk_rationale", "reviewer_notes", "yield_source_zh_hant", "risk_rationale_zh_hant",
                  "counterparty", "il_alert_threshold")
# Launch mode (earn.services.launch): set in the draft, so the checker approves them with the product.
LAUNCH_FIELDS = ("launch_method", "launch_window_start", "launch_window_end", "launch_quota", "launch_min_lot",
                 "launch_user_cap")

PRODUCT_MAKER_ACTIONS = ("product.create", "product.update")


def can_transition(actor: User | AnonymousUser, action: str) -> bool:
    """Whether `actor` holds the permission for a lifecycle action (for showing buttons)."""
    perm = TRANSITIONS[action][2]
    return bool(getattr(actor, "is_active", False) and getattr(actor, "is_staff", False) and actor.has_perm(perm))


def _check_transition(product: Product, action: str) -> str:
    sources, target, _perm = TRANSITIONS[action]
    if product.status not in sources:
        raise InvalidTransition(
            _("Cannot %(action)s a product that is %(status)s.")
            % {"action": action.replace("_", " "), "status": product.get_status_display().lower()},
            extra={"status": product.status, "action": action},
        )
    return target


def _snapshot(product: Product) -> dict[str, Any]:
    data = {f: getattr(product, f) for f in (*PRODUCT_FIELDS[:2], "term_type", "strategy", "risk_rating", "category",
                                              *VETTING_FIELDS, *LAUNCH_FIELDS, "status", "total_cap")}
    data["asset"] = product.asset_id
    return {k: plain(v) for k, v in data.items()}


def _clean_product(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    unknown = set(data) - set(PRODUCT_FIELDS) - set(VETTING_FIELDS) - set(LAUNCH_FIELDS)
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
    if "category" in clean and clean["category"] not in Category.values:
        raise ValidationFailed(_("The category is one of: %(c)s.") % {"c": ", ".join(Category.values)},
                               field="category")
    if "risk_rating" in clean and (clean["risk_rating"] is None or not 1 <= int(clean["risk_rating"]) <= 5):
        raise ValidationFailed(_("The risk rating is 1 to 5."), field="risk_rating")
    if "tvl_usd" in clean:
        clean["tvl_usd"] = terms_money(clean["tvl_usd"], "tvl_usd")
    if "il_alert_threshold" in clean:
        threshold = clean["il_alert_threshold"] = terms_money(clean["il_alert_threshold"], "il_alert_threshold")
        if threshold is not None and not 0 < threshold < 1:
            raise ValidationFailed(_("The impermanent-loss alert threshold is a fraction between 0 and 1 "
                                     "(0.05 = 5 %)."), field="il_alert_threshold")
    for money in ("launch_quota", "launch_min_lot", "launch_user_cap"):
        if money in clean:
            clean[money] = terms_money(clean[money], money)
    if "launch_method" in clean:
        clean["launch_method"] = clean["launch_method"] or ""
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
    for text in ("venue", "chain", "contract_address", "yield_source", "risk_rationale", "reviewer_notes",
                 "yield_source_zh_hant", "risk_rationale_zh_hant", "counterparty"):
        if text in clean:
            clean[text] = (clean[text] or "").strip()
    if not partial:
        for required in ("name_en", "name_zh_hant", "asset_id", "term_type", "risk_rating"):
            if not clean.get(required):
                raise ValidationFailed(_("This field is required."), field=required.removesuffix("_id"))
    return clean



def category_check(values: Mapping[str, Any]) -> None:
    """A pool is liquidity mining whatever else it says (the database holds the same rule)."""
    if values.get("strategy") == Strategy.LIQUIDITY_MINING and values.get("category") != Category.LIQUIDITY_MINING:
        raise ValidationFailed(_("A liquidity-mining pool is in the liquidity mining category."), field="category")
    # The database holds these two as well (constraints product_counterparty_lending_structured and
    # product_il_threshold_pool_fraction).
    if values.get("counterparty") and values.get("category", Category.LENDING) not in (Category.LENDING,
                                                                                        Category.STRUCTURED):
        raise ValidationFailed(_("A counterparty (borrower or issuer) is named for lending and structured products "
                                 "only."), field="counterparty")
    if values.get("il_alert_threshold") is not None and values.get("category") != Category.LIQUIDITY_MINING:
        raise ValidationFailed(_("An impermanent-loss alert threshold is for liquidity-mining products only."),
                               field="il_alert_threshold")


def launch_settings_check(values: Mapping[str, Any]) -> None:
    """A launch needs its window (opening before closing), a quota, a minimum lot within the quota and a
    per-user cap of at least a lot, all at the asset's scale; a product that is not a launch needs none."""
    method = values.get("launch_method") or ""
    given = [f for f in LAUNCH_FIELDS[1:] if values.get(f) is not None]
    if not method:
        if given:
            raise ValidationFailed(_("Choose the launch allocation, or leave every launch field empty."),
                                   field="launch_method")
        return
    if method not in LaunchMethod.values:
        raise ValidationFailed(_("The launch allocation is pro_rata or fcfs."), field="launch_method")
    for required in LAUNCH_FIELDS[1:5]:
        if values.get(required) is None:
            raise ValidationFailed(_("A launch needs this field."), field=required)
    if values["launch_window_end"] <= values["launch_window_start"]:
        raise ValidationFailed(_("The launch window must close after it opens."), field="launch_window_end")
    quota, lot, cap = values["launch_quota"], values["launch_min_lot"], values.get("launch_user_cap")
    if quota <= 0 or lot <= 0 or lot > quota:
        raise ValidationFailed(_("The quota and the minimum lot are positive, and the lot is within the quota."),
                               field="launch_min_lot")
    if cap is not None and cap < lot:
        raise ValidationFailed(_("The per-user cap is at least the minimum lot."), field="launch_user_cap")
    code = values.get("asset_id")
    scale = Asset.objects.filter(pk=code).values_list("scale", flat=True).first() if code else None
    if scale is not None and any(not is_multiple_of_scale(v, scale) for v in (quota, lot, cap) if v is not None):
        raise ValidationFailed(_("Launch amounts have at most the asset's decimals."), field="launch_quota")


# --- Drafting ------------------------------------------------------------------------------------

@transaction.atomic
def product_create(*, actor: User, terms: Mapping[str, Any] | None = None,
                   tiers: Sequence[TierInput] | None = None, **fields: Any) -> Product:
    """Draft a product (status draft) with its vetting data and, optionally, terms v1 + tiers."""
    require_permission(actor, "earn.add_product")
    clean = _clean_product(fields)
    clean.setdefault("category", Category.LIQUIDITY_MINING if clean.get("strategy") == Strategy.LIQUIDITY_MINING
                     else Category.LENDING)
    category_check(clean)
    launch_settings_check(clean)
    now = timezone.now()
    product = Product.objects.create(status=ProductStatus.DRAFT, drafted_by=actor, created_at=now,
                                     updated_at=now, **clean)
    after = _snapshot(product)
    if terms is not None or tiers is not None:
        version = terms_create(product=product, actor=actor, data=terms or {}, tiers=tiers or [])
        after["terms"] = terms_snapshot(version)
    audit_record(actor=actor, action="product.create", obj=product, before=None, after=after)
    return product


@transaction.atomic
def product_update(*, actor: User, product: Product | int, **fields: Any) -> Product:
    """Edit a draft's product and vetting fields; the editor becomes its maker (may not approve)."""
    require_permission(actor, "earn.change_product")
    product = lock_product(product)
    if product.status != ProductStatus.DRAFT:
        raise InvalidTransition(_("Only a draft can be edited; propose new terms for an approved product."),
                                extra={"status": product.status, "action": "edit"})
    clean = _clean_product(fields, partial=True)
    before = _snapshot(product)
    for name, value in clean.items():
        setattr(product, name, value)
    category_check({f: getattr(product, f) for f in ("strategy", "category", "counterparty", "il_alert_threshold")})
    launch_settings_check({f: getattr(product, f) for f in (*LAUNCH_FIELDS, "asset_id")})
    product.drafted_by = actor
    product.updated_at = timezone.now()
    product.save()
    old, new = changes(before, _snapshot(product))
    audit_record(actor=actor, action="product.update", obj=product, before=old, after={**new, "edited_by": actor.pk})
    return product


# --- Lifecycle -----------------------------------------------------------------------------------

def _finish(actor: User, product: Product, action: str, target: str, extra_after: dict | None = None,
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
def product_submit(*, actor: User, product: Product | int) -> Product:
    """draft → in_review, once the vetting checklist is complete and a pending terms version exists."""
    require_permission(actor, TRANSITIONS["submit"][2])
    product = lock_product(product)
    target = _check_transition(product, "submit")
    missing = vetting_missing(product)
    if missing:
        raise VettingIncomplete(_("Complete the vetting checklist first: %(items)s.") % {"items": ", ".join(missing)},
                                field=missing[0], extra={"missing": missing})
    pending = terms_pending(product)
    if pending is None or not pending.tiers.all():
        raise InvalidTerms(_("Draft the terms and rate tiers before submitting."), field="terms")
    # Terms may have been drafted before the product's type changed: check them again.
    clean_terms(product, {f: getattr(pending, f) for f in TERMS_FIELDS})
    return _finish(actor, product, "submit", target, {"terms_version": pending.version})


@transaction.atomic
def product_approve(*, actor: User, product: Product | int, notes: str = "") -> Product:
    """in_review → approved with its pending terms; the drafter or last editor cannot approve."""
    require_permission(actor, TRANSITIONS["approve"][2])
    product = lock_product(product)
    target = _check_transition(product, "approve")
    pending = terms_pending(product)
    if pending is None:
        raise InvalidTerms(_("There are no terms to approve."), field="terms")
    makers = {product.drafted_by_id, pending.drafted_by_id} | makers_of(product, PRODUCT_MAKER_ACTIONS)
    if actor.pk in makers:
        raise MakerCheckerViolation(_("The user who drafted or last edited this product cannot approve it."))
    approve_terms_version(pending, actor, product)
    product.approved_by = actor
    product.approved_at = timezone.now()
    product.rejection_reason = ""
    if notes.strip():
        product.reviewer_notes = "\n\n".join(filter(None, [product.reviewer_notes, notes.strip()]))
    return _finish(actor, product, "approve", target,
                   {"drafted_by": product.drafted_by_id, "terms_version": pending.version,
                    "total_cap": product.total_cap, "notes": notes.strip()})


@transaction.atomic
def product_reject(*, actor: User, product: Product | int, reason: str) -> Product:
    """in_review → draft with the reason; the drafter edits and submits again."""
    require_permission(actor, TRANSITIONS["reject"][2])
    if not (reason or "").strip():
        raise ValidationFailed(_("Give a reason for the rejection."), field="reason")
    product = lock_product(product)
    target = _check_transition(product, "reject")
    if actor.pk == product.drafted_by_id or actor.pk in makers_of(product, PRODUCT_MAKER_ACTIONS):
        raise MakerCheckerViolation(_("The user who drafted this product cannot review it."))
    product.rejection_reason = reason.strip()
    return _finish(actor, product, "reject", target, {"reason": product.rejection_reason,
                                                      "drafted_by": product.drafted_by_id})


@transaction.atomic
def product_go_live(*, actor: User, product: Product | int) -> Product:
    """approved → live (or paused → live: resume); needs a current disclosure and terms in force today."""
    require_permission(actor, TRANSITIONS["go_live"][2])
    product = lock_product(product)
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
def product_pause(*, actor: User, product: Product | int, reason: str = "") -> Product:
    """live → paused: no new subscriptions; existing positions keep running."""
    require_permission(actor, TRANSITIONS["pause"][2])
    product = lock_product(product)
    target = _check_transition(product, "pause")
    return _finish(actor, product, "pause", target, {"reason": reason.strip()})


@transaction.atomic
def product_close(*, actor: User, product: Product | int, reason: str = "") -> Product:
    """approved, live or paused → closed, for good."""
    require_permission(actor, TRANSITIONS["close"][2])
    product = lock_product(product)
    target = _check_transition(product, "close")
    return _finish(actor, product, "close", target, {"reason": reason.strip()})


TRANSITION_SERVICES: dict[str, Callable[..., Product]] = {
    "submit": product_submit, "approve": product_approve, "reject": product_reject,
    "go_live": product_go_live, "pause": product_pause, "close": product_close,
}


def product_transition(*, actor: User, product: Product | int, action: str, reason: str = "") -> Product:
    """Dispatch a lifecycle action by name (admin actions and the staff API share this)."""
    service = TRANSITION_SERVICES[action]
    if action == "reject":
        return product_reject(actor=actor, product=product, reason=reason)
    if action == "approve":
        return product_approve(actor=actor, product=product, notes=reason)
    if action in {"pause", "close"}:
        return service(actor=actor, product=product, reason=reason)
    return service(actor=actor, product=product)
