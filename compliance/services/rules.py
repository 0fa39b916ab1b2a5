"""Jurisdiction rules and question banks: installing the defaults, and officers' changes (audited)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance import defaults
from compliance.category_rules import DEFAULT_JURISDICTION
from compliance.models import AssessmentQuestion, CategoryRule, JurisdictionRule
from core.audit import audit_record
from core.errors import Conflict, ValidationFailed

if TYPE_CHECKING:
    from accounts.models import User


@transaction.atomic
def rules_install_defaults(*, categories: bool = True) -> int:
    """Create the default rules and questions that are missing (existing rows are left as officers set them)."""
    created = 0
    for rule in defaults.RULES:
        created += JurisdictionRule.objects.get_or_create(country=rule["country"], defaults=rule)[1]
    if categories:
        created += category_rules_install_defaults()
    for jurisdiction, bank in defaults.questions().items():
        for question in bank:
            created += AssessmentQuestion.objects.get_or_create(jurisdiction=jurisdiction, key=question["key"],
                                                                defaults=question)[1]
    return created


def category_rules_install_defaults(model: Any = CategoryRule) -> int:
    """The default category rules that are missing (`model`: the migration's historical model)."""
    created = 0
    for row in defaults.CATEGORY_RULES:
        key = {k: row[k] for k in ("jurisdiction", "category", "investor_class")}
        key["effective_from"] = dt.datetime.fromisoformat(row["effective_from"])
        values = {k: v for k, v in row.items() if k not in key}
        created += model.objects.get_or_create(**key, defaults=values)[1]
    return created


def _snapshot(obj: Any) -> dict:
    return {k: v for k, v in model_to_dict(obj).items() if k != "id"}


@transaction.atomic
def jurisdiction_rule_save(*, actor: User, rule: JurisdictionRule, before: dict | None) -> JurisdictionRule:
    """Save an officer's edit of a country's rules; the change (before/after) is an audit event."""
    rule.updated_at = timezone.now()
    rule.save()
    audit_record(actor=actor, action="jurisdiction_rule.change" if before else "jurisdiction_rule.create", obj=rule,
                 before=before, after=_snapshot(rule))
    return rule


@transaction.atomic
def assessment_question_save(*, actor: User, question: AssessmentQuestion, before: dict | None) -> AssessmentQuestion:
    """Save an officer's edit of a question; audited so past attempts can be read against the bank they met."""
    question.save()
    audit_record(actor=actor, action="assessment_question.change" if before else "assessment_question.create",
                 obj=question, before=before, after=_snapshot(question))
    return question


def snapshot(obj: Any) -> dict:
    """The audit payload of a rule or question as it is now (for `before`)."""
    return _snapshot(obj)


# --- Product-category rules: versions, edited by compliance officers, every change audited ------------------

class CategoryRuleInForce(Conflict):
    default_code = "CATEGORY_RULE_IN_FORCE"


def _category_rule_check(rule: CategoryRule, now: dt.datetime) -> None:
    if rule.effective_from < now:
        raise ValidationFailed(_("A rule cannot take effect in the past; leave the time empty for now."),
                               field="effective_from")
    if not rule.permitted and (rule.max_risk_rating is not None or rule.requires_assessment):
        raise ValidationFailed(_("Conditions apply only to a category that may be offered."), field="permitted")
    if rule.requires_assessment:
        banked = (rule.jurisdiction != DEFAULT_JURISDICTION and AssessmentQuestion.objects.filter(
            jurisdiction=rule.jurisdiction, active=True).exists())
        if not banked:  # customers could never pass it: that is a refusal, say so with "may be offered" off
            raise ValidationFailed(_("This jurisdiction has no assessment question bank: no customer could pass."),
                                   field="requires_assessment")


@transaction.atomic
def category_rule_save(*, actor: User | None, rule: CategoryRule) -> CategoryRule:
    """Save a new version of a category rule, or edit one not yet in force; audited with before and after.

    A version in force is never edited (what applied stays readable): the change is a new version from now or
    later. An empty `effective_from` means now. Positions already held are never touched by a rule. `actor` is
    None only for seeding (the demo)."""
    now = timezone.now()
    before = None
    if rule.pk is not None:
        stored = CategoryRule.objects.select_for_update().get(pk=rule.pk)
        if stored.effective_from <= now:
            raise CategoryRuleInForce(_("This rule is in force: add a new version from a later time instead."))
        before = _snapshot(stored)
    if rule.effective_from is None:
        rule.effective_from = now
    rule.jurisdiction = rule.jurisdiction.upper()
    _category_rule_check(rule, now)
    if CategoryRule.objects.filter(jurisdiction=rule.jurisdiction, category=rule.category,
                                   investor_class=rule.investor_class,
                                   effective_from=rule.effective_from).exclude(pk=rule.pk).exists():
        raise ValidationFailed(_("A version of this rule already takes effect at that time."),
                               field="effective_from")
    if rule.pk is None:
        rule.created_by = actor
    rule.updated_at = now
    rule.save()
    audit_record(actor=actor, action="category_rule.change" if before else "category_rule.create", obj=rule,
                 before=before, after=_snapshot(rule))
    return rule


@transaction.atomic
def category_rule_withdraw(*, actor: User, rule: int) -> None:
    """Withdraw a version that has not taken effect yet (audited); versions in force stay for ever."""
    stored = CategoryRule.objects.select_for_update().get(pk=rule)
    if stored.effective_from <= timezone.now():
        raise CategoryRuleInForce(_("This rule is in force: add a new version from a later time instead."))
    before = _snapshot(stored)
    audit_record(actor=actor, action="category_rule.withdraw", obj=stored, before=before, after=None)
    stored.delete()
