"""Jurisdiction rules and question banks: installing the defaults, and officers' changes (audited)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from compliance import defaults
from compliance.models import AssessmentQuestion, JurisdictionRule
from core.audit import audit_record


@transaction.atomic
def rules_install_defaults() -> int:
    """Create the default rules and questions that are missing (existing rows are left as officers set them)."""
    created = 0
    for rule in defaults.RULES:
        created += JurisdictionRule.objects.get_or_create(country=rule["country"], defaults=rule)[1]
    for jurisdiction, bank in defaults.questions().items():
        for question in bank:
            created += AssessmentQuestion.objects.get_or_create(jurisdiction=jurisdiction, key=question["key"],
                                                                defaults=question)[1]
    return created


def _snapshot(obj: Any) -> dict:
    return {k: v for k, v in model_to_dict(obj).items() if k != "id"}


@transaction.atomic
def jurisdiction_rule_save(*, actor: Any, rule: JurisdictionRule, before: dict | None) -> JurisdictionRule:
    """Save an officer's edit of a country's rules; the change (before/after) is an audit event."""
    rule.updated_at = timezone.now()
    rule.save()
    audit_record(actor=actor, action="jurisdiction_rule.change" if before else "jurisdiction_rule.create", obj=rule,
                 before=before, after=_snapshot(rule))
    return rule


@transaction.atomic
def assessment_question_save(*, actor: Any, question: AssessmentQuestion, before: dict | None) -> AssessmentQuestion:
    """Save an officer's edit of a question; audited so past attempts can be read against the bank they met."""
    question.save()
    audit_record(actor=actor, action="assessment_question.change" if before else "assessment_question.create",
                 obj=question, before=before, after=_snapshot(question))
    return question


def snapshot(obj: Any) -> dict:
    """The audit payload of a rule or question as it is now (for `before`)."""
    return _snapshot(obj)
