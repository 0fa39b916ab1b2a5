"""Complaints: filed by customers, handled by compliance officers within the 8-week deadline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.catalogue import catalogue
from compliance.models import Complaint, ComplaintStatus
from core.audit import audit_record
from core.errors import InvalidTransition, NotFound, ValidationFailed

# FCA DISP 1.6: a final response within eight weeks of receipt.
RESPONSE_DEADLINE = dt.timedelta(weeks=8)
CLOSED = (ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED)


@transaction.atomic
def complaint_file(*, user: Any, subject: str, body: str, product_id: int | None = None,
                   position_id: int | None = None) -> Complaint:
    """A customer's complaint about one of the catalogue's products or one of their own positions."""
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject:
        raise ValidationFailed(_("Please give the complaint a subject."), field="subject")
    if not body:
        raise ValidationFailed(_("Please describe the complaint."), field="body")
    if position_id is not None:
        position_product_id = catalogue().own_position_product(position_id, user)
        if position_product_id is None:
            raise NotFound(_("No such position."), field="position")
        product_id = product_id or position_product_id
    if product_id is None:
        raise ValidationFailed(_("Say which product or position the complaint is about."), field="product")
    if catalogue().visible_product(product_id=product_id, user=user) is None:  # published, or one they hold
        raise NotFound(_("No such product."), field="product")
    now = timezone.now()
    complaint = Complaint.objects.create(user=user, product_id=product_id, position_id=position_id,
                                         subject=subject[:200], body=body, received_at=now,
                                         deadline_at=now + RESPONSE_DEADLINE)
    audit_record(actor=user, action="complaint.file", obj=complaint,
                 after={"product": product_id, "position": position_id, "subject": complaint.subject,
                        "deadline_at": complaint.deadline_at})
    return complaint


@transaction.atomic
def complaint_update(*, actor: Any, complaint: int, status: str | None = None, owner: Any = None,
                     note: str = "", final_response: str | None = None) -> Complaint:
    """Change status or owner, add a dated note; closing needs a final response. Closed complaints stay closed."""
    row = Complaint.objects.select_for_update().filter(pk=complaint).first()
    if row is None:
        raise NotFound(_("No such complaint."))
    before = {"status": row.status, "owner": row.owner_id, "final_response": row.final_response}
    if row.status in CLOSED and status not in (None, row.status):
        raise InvalidTransition(_("A closed complaint cannot be reopened; file a new one."), field="status")
    if status is not None:
        if status not in ComplaintStatus.values:
            raise ValidationFailed(_("Unknown status."), field="status")
        row.status = status
    if owner is not None:
        row.owner_id = getattr(owner, "pk", owner)
    if final_response is not None:
        row.final_response = final_response.strip()
    if row.status in CLOSED:
        if not row.final_response:
            raise ValidationFailed(_("Closing a complaint needs the final response sent to the customer."),
                                   field="final_response")
        row.closed_at = row.closed_at or timezone.now()
    if note.strip():
        stamp = timezone.now().strftime("%Y-%m-%d %H:%M UTC")
        row.notes = f"{row.notes}\n[{stamp}] {getattr(actor, 'email', actor)}: {note.strip()}".strip()
    row.save()
    audit_record(actor=actor, action="complaint.update", obj=row, before=before,
                 after={"status": row.status, "owner": row.owner_id, "final_response": row.final_response,
                        "note": note.strip() or None})
    return row
