"""Writes of venue and counterparty exposure limits: compliance and operations set them; each change is audited."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import ValidationFailed
from core.money import to_decimal, too_large
from earn.models import ExposureKind, ExposureLimit
from earn.services.curation import plain, require_permission

if TYPE_CHECKING:
    from accounts.models import User


def _snapshot(limit: ExposureLimit) -> dict[str, Any]:
    return {"kind": limit.kind, "name": limit.name, "limit_usd": plain(limit.limit_usd), "note": limit.note}


def _clean(kind: Any, name: Any, limit_usd: Any) -> tuple[str, str, Decimal]:
    if kind not in ExposureKind.values:
        raise ValidationFailed(_("A limit applies to a venue or a counterparty."), field="kind")
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationFailed(_("Name the venue or counterparty."), field="name")
    try:
        amount = to_decimal(limit_usd)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("Enter a decimal number."), field="limit_usd") from exc
    if amount <= 0 or too_large(amount):
        raise ValidationFailed(_("A limit is a positive amount of US dollars."), field="limit_usd")
    return kind, name[:120], amount


@transaction.atomic
def exposure_limit_save(*, actor: User, kind: str, name: str, limit_usd: Any, note: str = "",
                        limit: ExposureLimit | int | None = None) -> ExposureLimit:
    """Create a limit, or change one (`limit`); the before and after are an audit event."""
    kind, name, amount = _clean(kind, name, limit_usd)
    if limit is None:
        require_permission(actor, "earn.add_exposurelimit")
        clash = ExposureLimit.objects.annotate(key=Lower("name")).filter(kind=kind, key=name.lower())
        if clash.exists():
            raise ValidationFailed(_("This venue or counterparty already has a limit; change that one."),
                                   field="name")
        obj, before = ExposureLimit(kind=kind), None
    else:
        require_permission(actor, "earn.change_exposurelimit")
        obj = ExposureLimit.objects.select_for_update().get(pk=getattr(limit, "pk", limit))
        before = _snapshot(obj)
    obj.name, obj.limit_usd, obj.note = name, amount, (note or "").strip()
    obj.kind = kind
    obj.updated_by, obj.updated_at = actor, timezone.now()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # a concurrent create of the same name: the unique index decides
        raise ValidationFailed(_("This venue or counterparty already has a limit; change that one."),
                               field="name") from exc
    audit_record(actor=actor, action="exposure_limit.change" if before else "exposure_limit.create", obj=obj,
                 before=before, after=_snapshot(obj))
    return obj


@transaction.atomic
def exposure_limit_delete(*, actor: User, limit: ExposureLimit | int) -> None:
    """Remove a limit (the venue then shows without one); audited with what it was."""
    require_permission(actor, "earn.delete_exposurelimit")
    obj = ExposureLimit.objects.select_for_update().get(pk=getattr(limit, "pk", limit))
    before = _snapshot(obj)
    pk = obj.pk
    obj.delete()
    audit_record(actor=actor, action="exposure_limit.delete", object_type="earn.exposurelimit", object_id=pk,
                 before=before, after=None)
