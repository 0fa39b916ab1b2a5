"""Customer switches on a position (auto-renew, auto-compound; pools' reward compounding uses the same helper).

Each switch locks the position row, checks the switch applies, flips one boolean and audits it in the same
transaction.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models, transaction
from django.utils.translation import gettext as _

from core.audit import audit_record
from earn import errors
from earn.lock_objects import position_lock
from earn.models import Position, PositionStatus, TermType

M = TypeVar("M", bound=models.Model)


def switch_set(*, user: Any, position: M, field: str, value: bool, action: str) -> M:
    """Flip one boolean switch on an already locked position row and write its audit event."""
    before = getattr(position, field)
    type(position)._default_manager.filter(pk=position.pk).update(**{field: value})
    setattr(position, field, value)
    audit_record(actor=user, action=action, obj=position, before={field: before}, after={field: value})
    return position


@transaction.atomic
def position_set_auto_renew(*, user: Any, position_id: int, auto_renew: bool) -> Position:
    """Fixed-term positions whose terms allow it: at maturity, renew at the then-current terms."""
    position = position_lock(position_id, user=user)
    if auto_renew and (position.term_type != TermType.FIXED or not position.terms.auto_renew_allowed):
        raise errors.InvalidAmount(_("Auto-renew is not available for this position."), field="auto_renew")
    return switch_set(user=user, position=position, field="auto_renew", value=auto_renew,
                      action="position.auto_renew")


@transaction.atomic
def position_set_auto_compound(*, user: Any, position_id: int, auto_compound: bool) -> Position:
    """Demand positions only: from the next accrual on, the day's interest joins the principal."""
    position = position_lock(position_id, user=user)
    if position.term_type != TermType.DEMAND or position.status != PositionStatus.ACTIVE:
        raise errors.InvalidAmount(_("Auto-compound is only available on active flexible positions."),
                                   field="auto_compound")
    return switch_set(user=user, position=position, field="auto_compound", value=auto_compound,
                      action="position.auto_compound")
