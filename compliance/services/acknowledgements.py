"""Recording a customer's acknowledgement of a product's current disclosure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.catalogue import catalogue
from compliance.errors import AcknowledgementInvalid, AcknowledgementOutdated
from compliance.models import Acknowledgement, Disclosure, DisclosureStatus, Refusal
from compliance.selectors import acknowledgement_latest
from core.audit import audit_record, audit_record_inserting
from core.errors import NotFound
from core.idempotency import IdempotentRequest

if TYPE_CHECKING:
    from accounts.models import User

LANGUAGES = ("en", "zh-hant")


@transaction.atomic
def acknowledgement_create(*, user: User, product_id: int, disclosure_version: int, statements: Sequence[str],
                           language: str, ip_address: str | None = None, user_agent: str = "") -> Acknowledgement:
    """Acknowledge the current disclosure; every risk statement must be ticked, the version current."""
    if catalogue().visible_product(product_id=product_id, user=user) is None:
        raise NotFound(_("No such product."), field="product")
    disclosure = (Disclosure.objects.select_for_update()
                  .filter(product_id=product_id, status=DisclosureStatus.CURRENT).first())
    if disclosure is None:
        raise NotFound(_("This product has no current disclosure."), field="product")
    if disclosure_version != disclosure.version:
        raise AcknowledgementOutdated(
            _("Disclosure version %(given)s is not the current version %(current)s; please read the current one.")
            % {"given": disclosure_version, "current": disclosure.version},
            field="disclosure_version", extra={"current_version": disclosure.version},
        )
    if language not in LANGUAGES:
        raise AcknowledgementInvalid(_("Language must be one of: en, zh-hant."), field="language")
    required = [s["key"] for s in disclosure.risk_statements]
    given = list(dict.fromkeys(statements))
    unknown = sorted(set(given) - set(required))
    if unknown:
        raise AcknowledgementInvalid(_("Unknown risk statements: %(keys)s") % {"keys": ", ".join(unknown)},
                                     field="statements")
    missing = [key for key in required if key not in given]
    if missing:
        raise AcknowledgementInvalid(
            _("Every risk statement must be ticked; missing: %(keys)s") % {"keys": ", ".join(missing)},
            field="statements", extra={"missing": missing},
        )
    previous = acknowledgement_latest(user_id=user.pk, product_id=product_id, other_than_disclosure=disclosure.pk)
    ack = Acknowledgement.objects.create(
        user=user, product_id=product_id, disclosure=disclosure, disclosure_version=disclosure.version,
        sha256=disclosure.sha256, statements=required, language=language, ip_address=ip_address,
        user_agent=(user_agent or "")[:500],
        previous_version=previous.disclosure_version if previous else None,
        previous_sha256=previous.sha256 if previous else "",
    )
    audit_record(actor=user, action="acknowledgement.create", obj=ack,
                 after={"product": product_id, "disclosure": disclosure.pk, "version": disclosure.version,
                        "sha256": disclosure.sha256, "language": language, "ip": ip_address,
                        "previous_version": ack.previous_version, "previous_sha256": ack.previous_sha256})
    return ack


def refusal_record(*, user: User, product_id: int | None, amount: Any, codes: Sequence[str], detail: str = "",
                   action: str = "subscribe", claim: IdempotentRequest | None = None) -> Refusal | None:
    """Store a refusal and its audit event (the refused operation itself was rolled back, or never began).

    One statement (`audit_record_inserting`): atomic by itself, so outside a transaction it needs no BEGIN and
    COMMIT — the refusal path runs on every refused money request, most of a full product's traffic. With
    `claim` the same statement claims the request's Idempotency-Key first, and records nothing (None) when the
    key already holds an answer: the caller replays that answer instead (core.idempotency)."""
    codes = list(codes)
    refusal = Refusal(user=user, product_id=product_id, amount=amount, codes=codes, detail=detail[:500], action=action,
                      created_at=timezone.now())
    written = audit_record_inserting(
        insert_sql=f"""INSERT INTO {Refusal._meta.db_table} (user_id, product_id, action, amount, codes, detail,
                                                             created_at, reason, day)
                       SELECT %s, %s, %s, %s, %s::jsonb, %s, %s, '', NULL {"FROM claim" if claim else ""}
                       RETURNING id""",
        insert_params=[user.pk, product_id, action, amount, json.dumps(codes), refusal.detail, refusal.created_at],
        actor=user, action=f"refusal.{action}", object_type=Refusal._meta.label_lower,
        after={"product": product_id, "amount": amount, "codes": codes},
        claim=claim.claim_sql() if claim else None)
    if written is None:
        return None
    refusal.pk = written[0]
    refusal._state.adding = False
    refusal._state.db = connection.alias
    return refusal


def blocked_attempt_record(*, user: Any, product_id: int, codes: Sequence[str], step: str,
                           amount: Any = None) -> list[Refusal]:
    """A customer the gate blocks tried a subscribe step (the first page, a preview or a confirm): one refusal per
    reason, kept once per customer, product, reason and UTC day (PostgreSQL's unique constraint decides, so
    concurrent attempts cannot log twice). Returns the rows this call added."""
    day = timezone.now().date()
    added = []
    for code in dict.fromkeys(codes):
        try:
            with transaction.atomic():
                refusal = Refusal.objects.create(user=user, product_id=product_id, amount=amount, codes=[code],
                                                 reason=code, day=day, detail=f"blocked at {step}"[:500])
                audit_record(actor=user, action="refusal.subscribe", obj=refusal,
                             after={"product": product_id, "amount": amount, "codes": [code], "step": step,
                                    "day": day})
        except IntegrityError:
            continue  # already logged today for this customer, product and reason
        added.append(refusal)
    return added
