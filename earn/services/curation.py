"""Shared by the product curation services (lifecycle, terms versions): permission check, product lock,
maker lookup and audit diffs. Lock order (product administration, earn.lock_objects): product row first, then
anything hanging off it.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from core.errors import PermissionDenied
from core.models import AuditEvent
from earn.lock_objects import product_lock
from earn.models import Product, ProductTerms

if TYPE_CHECKING:
    from accounts.models import User


def require_permission(actor: User, perm: str) -> None:
    """Refuse (403) unless `actor` is active staff holding `perm` (through a role group or superuser)."""
    if not (getattr(actor, "is_active", False) and getattr(actor, "is_staff", False) and actor.has_perm(perm)):
        raise PermissionDenied(_("You do not have permission to do this."))



def lock_product(product: Product | int) -> Product:
    return product_lock(product if isinstance(product, int) else product.pk)


def makers_of(obj: Product | ProductTerms, actions: Iterable[str]) -> set[int]:
    """Everyone who drafted or edited `obj`, from its audit trail (the last editor is on the row too)."""
    return set(AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk), action__in=list(
        actions), actor__isnull=False).values_list("actor_id", flat=True))



def plain(value: Any) -> Any:
    """Decimals without trailing zeros ("0.05", not "0.050000000000000000") so audit diffs read well."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    return value



def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}

