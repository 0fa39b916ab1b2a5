"""Reads: disclosures, the audit trail, jurisdiction rules, assessments, risk warnings and complaints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import DateTimeField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from compliance.disclosure_templates import ordered_keys, section_title
from compliance.models import (
    Acknowledgement,
    AcknowledgementKey,
    AssessmentAttempt,
    AssessmentQuestion,
    Complaint,
    CustomerProfile,
    Disclosure,
    DisclosureStatus,
    JurisdictionRule,
    RiskProfile,
)
from core.models import AuditEvent, DetachedPartition

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

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


def disclosure_text(disclosure: Disclosure, *, language: str, country: str | None = None) -> dict:
    """The customer-facing text of one version in one language: body and [{key, text}] statements; a statement
    with wording for the customer's country of residence (its jurisdiction section) reads in that wording."""
    lang = TRADITIONAL_CHINESE if language.lower().startswith("zh") else ENGLISH
    body = disclosure.body_zh_hant if lang == TRADITIONAL_CHINESE else disclosure.body_en
    country = (country or "").upper()

    def wording(s: dict) -> dict:
        return (s.get("jurisdictions") or {}).get(country) or s

    statements = [{"key": s["key"], "text": wording(s).get(lang) or wording(s)["en"]}
                  for s in disclosure.risk_statements]
    return {"language": lang, "text": body, "risk_statements": statements,
            "sections": disclosure_sections(disclosure, language=lang)}


def disclosure_sections(disclosure: Disclosure, *, language: str) -> list[dict[str, str]]:
    """The version's sections as customers read them: [{key, title, text}] in the order of the category's
    template, titles translated; a section empty in this language reads in English."""
    lang = TRADITIONAL_CHINESE if language.lower().startswith("zh") else ENGLISH
    sections = disclosure.sections or {}
    out = []
    with translation.override(lang):
        for key in ordered_keys(disclosure.category, sections):
            text = (sections[key].get(lang) or sections[key].get(ENGLISH) or "").strip()
            if text:
                out.append({"key": key, "title": str(section_title(key, disclosure.category)), "text": text})
    return out


def audit_events_for(*, obj: object) -> QuerySet[AuditEvent]:
    """The audit trail of one object, oldest first."""
    meta = obj._meta  # type: ignore[attr-defined]
    return AuditEvent.objects.filter(object_type=meta.label_lower, object_id=str(obj.pk)).select_related(  # type: ignore[attr-defined]
        "actor").order_by("sequence")


# --- Jurisdiction rules, assessments, warnings, complaints --------------------------------------------


def jurisdiction_rule(country: str | None) -> JurisdictionRule | None:
    """The rule row for a country of residence, or None (only the rules every customer meets apply)."""
    return JurisdictionRule.objects.filter(country=(country or "").upper()).first()


def exposure_limit_text(shares: dict[str, Any] | None) -> str:
    """{"conservative": "0.10", "moderate": "0.30"} → "conservative 10 %, moderate 30 % of declared net worth"."""
    order = {profile: i for i, profile in enumerate(RiskProfile.values)}
    parts = []
    for profile, share in sorted((shares or {}).items(), key=lambda item: (order.get(item[0], len(order)), item[0])):
        try:
            text = f"{(Decimal(str(share)) * 100).normalize():f} %"
        except (InvalidOperation, ValueError):
            text = str(share)
        parts.append(f"{profile} {text}")
    if not parts:
        return "—"
    return str(gettext_lazy("%(shares)s of declared net worth") % {"shares": ", ".join(parts)})


def rules_summary() -> list[dict[str, Any]]:
    """What applies to whom, for compliance officers: every configured country plus the restricted list."""
    from compliance.gate import restricted_countries

    rows = [{"country": r.country, "restricted": r.country in restricted_countries(),
             "assessment_from_risk": r.assessment_min_risk, "pass_mark": r.pass_mark,
             "retake_wait_hours": r.retake_wait_hours, "exposure_limit": r.exposure_limit,
             "exposure_shares": r.exposure_shares,
             "exposure_text": exposure_limit_text(r.exposure_shares) if r.exposure_limit else "—",
             "cooling_off_hours": r.cooling_off_hours,
             "risk_warnings": r.risk_warnings} for r in JurisdictionRule.objects.order_by("country")]
    configured = {r["country"] for r in rows}
    rows += [{"country": c, "restricted": True} for c in sorted(restricted_countries() - configured)]
    return rows


def assessment_question_rows(country: str | None, product_kind: str) -> QuerySet[AssessmentQuestion]:
    """Active questions of a country's bank that a product kind needs: general ones and the kind's own."""
    qs = AssessmentQuestion.objects.filter(jurisdiction=(country or "").upper(), active=True)
    return qs.filter(Q(product_kinds=[]) | Q(product_kinds__contains=[product_kind])).order_by("position", "id")


def _lang(language: str | None) -> str:
    return TRADITIONAL_CHINESE if (language or "").lower().startswith("zh") else ENGLISH


def assessment_questions(user: User, product_kind: str, *, language: str | None = None) -> list[dict[str, Any]]:
    """The questions a customer answers for a product kind, in their language, without the answers."""
    lang = _lang(language or getattr(user, "language", ""))
    return [{"key": q.key, "topic": q.topic, "key_risk": q.key_risk,
             "text": q.text_zh_hant if lang == TRADITIONAL_CHINESE else q.text_en,
             "choices": [{"key": c["key"], "text": c.get(lang) or c["en"]} for c in q.choices]}
            for q in assessment_question_rows(user.country, product_kind)]


def assessment_latest(user: User, product_kind: str) -> AssessmentAttempt | None:
    """The customer's newest attempt for a product kind in their jurisdiction (the one the gate uses)."""
    return (AssessmentAttempt.objects.filter(user=user, jurisdiction=(user.country or "").upper(),
                                             product_kind=product_kind).order_by("-created_at", "-id").first())


def assessment_review(attempt: AssessmentAttempt, *, language: str | None = None) -> list[dict[str, Any]]:
    """The questions an attempt got wrong, in the customer's language: the answer given, the right one, why, and
    whether it tested a key risk (which fails the attempt on its own)."""
    lang = _lang(language)
    rows = AssessmentQuestion.objects.filter(jurisdiction=attempt.jurisdiction, key__in=list(attempt.answers))
    out = []
    for q in sorted(rows, key=lambda r: (r.position, r.id)):
        given = attempt.answers.get(q.key)
        if given == q.answer:
            continue
        choices = {c["key"]: c.get(lang) or c["en"] for c in q.choices}
        out.append({"key": q.key, "text": q.text_zh_hant if lang == TRADITIONAL_CHINESE else q.text_en,
                    "given": choices.get(given, ""), "correct": choices.get(q.answer, ""), "key_risk": q.key_risk,
                    "explanation": (q.explanation_zh_hant if lang == TRADITIONAL_CHINESE else q.explanation_en)
                    or q.explanation_en})
    return out


def cooling_off_ends(user: Any) -> dt.datetime | None:
    """When a customer's cooling-off ends (their first view of Earn plus the country's hours); None when none
    applies or it is already over."""
    rule = jurisdiction_rule(getattr(user, "country", None))
    if rule is None or not rule.cooling_off_hours:
        return None
    first = CustomerProfile.objects.filter(user=user).values_list("earn_first_viewed_at", flat=True).first()
    if first is None:
        return None
    ends = first + dt.timedelta(hours=rule.cooling_off_hours)
    return ends if ends > timezone.now() else None


# SCENARIOS.md 12: the FCA's prescribed wording (COBS 4.12A), word for word.
PRESCRIBED_WARNING = gettext_lazy(
    "Don't invest unless you're prepared to lose all the money you invest. This is a high-risk investment and "
    "you should not expect to be protected if something goes wrong. Take 2 mins to learn more.")
PERSONALISED_WARNING = gettext_lazy(
    "%(name)s, this is a high-risk investment. How would you feel if you lost the money you're about to invest? "
    "Take 2 mins to learn more.")


def first_name(user: User) -> str:
    display = (getattr(user, "display_name", "") or "").strip()
    return display.split()[0] if display else user.email.split("@")[0]


def warnings_for(user: User | AnonymousUser, product: Any = None, *, language: str | None = None) -> dict[str, Any]:
    """Risk warnings a customer must see: `risk_warning` on every product page and API answer,
    `personalised_warning` before subscribing; both None where the customer's country needs none.

    `learn_more_url` is where "Take 2 mins to learn more" links (settings.EARN_RISK_SUMMARY_URL).
    """
    rule = jurisdiction_rule(user.country) if user.is_authenticated else None
    if rule is None or not rule.risk_warnings or not user.is_authenticated:
        return {"risk_warning": None, "personalised_warning": None, "learn_more_url": None}
    with translation.override(_lang(language or getattr(user, "language", ""))):
        return {"risk_warning": str(PRESCRIBED_WARNING),
                "personalised_warning": str(PERSONALISED_WARNING) % {"name": first_name(user)},
                "learn_more_url": getattr(settings, "EARN_RISK_SUMMARY_URL", "/risk-summary/")}


def complaints_for(user: User) -> QuerySet[Complaint]:
    """A customer's own complaints, newest first."""
    return Complaint.objects.filter(user=user).select_related("product").order_by("-received_at", "-id")


# The first instant of the acknowledgements still in the live table: months are detached for retention
# oldest first (core.partitions.detach_before), so everything from the month after the last detached one.
ACKNOWLEDGEMENTS_LIVE_FROM_SQL = (
    f"(SELECT coalesce(max(d.month) + interval '1 month', '-infinity')::timestamptz"
    f" FROM \"{DetachedPartition._meta.db_table}\" d WHERE d.parent = '{Acknowledgement._meta.db_table}')")


def acknowledgements_live_from() -> RawSQL:
    """When the live acknowledgements begin, as an expression for a filter (no query of its own); the key
    table keeps the ids of detached ones too."""
    return RawSQL(ACKNOWLEDGEMENTS_LIVE_FROM_SQL, [], output_field=DateTimeField())  # noqa: S611 (a constant)


def acknowledgement_latest_key(*, user_id: int, product_id: int,
                               other_than_disclosure: int | None = None) -> AcknowledgementKey | None:
    """The key row (id, month, disclosure) of the customer's newest acknowledgement of a product's disclosure,
    optionally of a disclosure other than the one given; only a live one (not of a month detached for
    retention). Read from the plain key table: the partitioned acknowledgements have no month to prune by
    here, and would lock every month's partition and index."""
    keys = AcknowledgementKey.objects.filter(user_id=user_id, product_id=product_id,
                                             accepted_at__gte=acknowledgements_live_from())
    if other_than_disclosure is not None:
        keys = keys.exclude(disclosure_id=other_than_disclosure)
    return keys.order_by("-accepted_at", "-id").first()


def acknowledgement_latest(*, user_id: int, product_id: int,
                           other_than_disclosure: int | None = None) -> Acknowledgement | None:
    """The customer's newest acknowledgement itself: found by its key, then read from its month only."""
    key = acknowledgement_latest_key(user_id=user_id, product_id=product_id,
                                     other_than_disclosure=other_than_disclosure)
    if key is None:
        return None
    return Acknowledgement.objects.filter(pk=key.pk, accepted_at=key.accepted_at).first()
