"""Reads for disclosures and the audit trail."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from compliance.models import AuditEvent, Disclosure, DisclosureStatus

ENGLISH = "en"
TRADITIONAL_CHINESE = "zh-hant"
LANGUAGES = (ENGLISH, TRADITIONAL_CHINESE)


def disclosure_current(*, product_id: int) -> Disclosure | None:
    """The approved, current disclosure of a product (at most one, enforced by PostgreSQL)."""
    return Disclosure.objects.filter(product_id=product_id, status=DisclosureStatus.CURRENT).first()


def disclosures_current_bulk(*, product_ids: Iterable[int]) -> dict[int, Disclosure]:
    """{product_id: current disclosure} for many products in one query."""
    rows = Disclosure.objects.filter(product_id__in=list(product_ids), status=DisclosureStatus.CURRENT)
    return {d.product_id: d for d in rows}


def disclosure_versions(*, product_id: int) -> QuerySet[Disclosure]:
    """Every version of a product's disclosure, newest first (superseded ones are kept forever)."""
    return Disclosure.objects.filter(product_id=product_id).select_related("author", "approved_by").order_by(
        "-version")


def disclosure_text(disclosure: Disclosure, *, language: str) -> dict:
    """The customer-facing text of one version in one language: body and [{key, text}] statements."""
    lang = TRADITIONAL_CHINESE if language.lower().startswith("zh") else ENGLISH
    body = disclosure.body_zh_hant if lang == TRADITIONAL_CHINESE else disclosure.body_en
    statements = [{"key": s["key"], "text": s.get(lang) or s["en"]} for s in disclosure.risk_statements]
    return {"language": lang, "text": body, "risk_statements": statements}


def audit_events_for(*, obj: object) -> QuerySet[AuditEvent]:
    """The audit trail of one object, oldest first."""
    meta = obj._meta  # type: ignore[attr-defined]
    return AuditEvent.objects.filter(object_type=meta.label_lower, object_id=str(obj.pk)).select_related(  # type: ignore[attr-defined]
        "actor").order_by("sequence")
