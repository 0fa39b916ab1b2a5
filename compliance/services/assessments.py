"""Marking a customer's knowledge / appropriateness assessment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance import selectors
from compliance.errors import AssessmentUnavailable, RetakeTooSoon
from compliance.models import AssessmentAttempt, ProductKind
from core.audit import audit_record
from core.errors import ValidationFailed

if TYPE_CHECKING:
    from accounts.models import User


@transaction.atomic
def assessment_submit(*, user: User, product_kind: str, answers: Mapping[str, str],
                      language: str = "en") -> AssessmentAttempt:
    """Mark the answers against the customer's jurisdiction bank; stores answers, score and outcome.

    Passing needs the pass mark and every key-risk question right. Every question of the bank for this
    product kind must be answered. A retake waits the
    jurisdiction's retake time after a failed attempt.
    """
    if product_kind not in ProductKind.values:
        raise ValidationFailed(_("Unknown product kind."), field="product_kind")
    rule = selectors.jurisdiction_rule(user.country)
    questions = list(selectors.assessment_question_rows(user.country, product_kind))
    if rule is None or not questions:
        raise AssessmentUnavailable(_("No assessment applies to customers in your country."))
    # One customer's attempts are serialised so two concurrent retakes cannot both skip the wait.
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    now = timezone.now()
    last = (AssessmentAttempt.objects.filter(user=user, jurisdiction=rule.country, product_kind=product_kind)
            .order_by("-created_at", "-id").first())
    if last is not None and not last.passed and last.retake_after and now < last.retake_after:
        when = last.retake_after.isoformat()
        raise RetakeTooSoon(_("You can retake the assessment after %(when)s.") % {"when": when},
                            extra={"retake_after": when})
    keys = {q.key for q in questions}
    missing = sorted(keys - set(answers))
    if missing:
        raise ValidationFailed(_("Please answer every question; missing: %(keys)s") % {"keys": ", ".join(missing)},
                               field="answers", extra={"missing": missing})
    unknown = sorted(set(answers) - keys)
    if unknown:
        raise ValidationFailed(_("Unknown questions: %(keys)s") % {"keys": ", ".join(unknown)}, field="answers")
    score = sum(1 for q in questions if answers[q.key] == q.answer)
    total = len(questions)
    percent = score * 100 // total
    # A question on the product's key risks answered wrongly fails the attempt whatever the score.
    key_risks_missed = [q.key for q in questions if q.key_risk and answers[q.key] != q.answer]
    passed = percent >= rule.pass_mark and not key_risks_missed
    attempt = AssessmentAttempt.objects.create(
        user=user, jurisdiction=rule.country, product_kind=product_kind,
        answers={q.key: answers[q.key] for q in questions}, score=score, total=total, percent=percent,
        passed=passed, language=language, created_at=now,
        retake_after=None if passed else now + dt.timedelta(hours=rule.retake_wait_hours))
    audit_record(actor=user, action="assessment.submit", obj=attempt,
                 after={"jurisdiction": rule.country, "product_kind": product_kind, "score": score, "total": total,
                        "percent": percent, "pass_mark": rule.pass_mark, "passed": passed,
                        "key_risks_missed": key_risks_missed,
                        "retake_after": attempt.retake_after})
    return attempt
