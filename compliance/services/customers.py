"""Customer compliance facts: risk profile and declared net worth (HK), first view of Earn (GB cooling-off)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.audit import audit_record
from compliance.models import CustomerProfile, RiskProfile
from core.errors import ValidationFailed
from core.money import to_decimal


def _profile_locked(user: Any) -> CustomerProfile:
    CustomerProfile.objects.get_or_create(user=user)
    return CustomerProfile.objects.select_for_update().get(user=user)


@transaction.atomic
def risk_profile_record(*, actor: Any, user: Any, risk_profile: str, net_worth_usd: Any,
                        professional_investor: bool | None = None) -> CustomerProfile:
    """Record the customer's risk profile and declared net worth (USD), the inputs of the HK exposure limit.

    `professional_investor` is set by staff only; None (a customer's own declaration) keeps it as it is.
    """
    if risk_profile not in RiskProfile.values:
        raise ValidationFailed(_("Risk profile must be conservative, moderate or high."), field="risk_profile")
    try:
        net_worth = to_decimal(net_worth_usd)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("Net worth must be a decimal number."), field="net_worth_usd") from exc
    if net_worth < 0:
        raise ValidationFailed(_("Net worth cannot be negative."), field="net_worth_usd")
    profile = _profile_locked(user)
    before = {"risk_profile": profile.risk_profile, "net_worth_usd": profile.net_worth_usd,
              "professional_investor": profile.professional_investor}
    profile.risk_profile, profile.net_worth_usd, profile.profiled_at = risk_profile, net_worth, timezone.now()
    if professional_investor is not None:
        profile.professional_investor = professional_investor
    profile.save(update_fields=["risk_profile", "net_worth_usd", "professional_investor", "profiled_at"])
    audit_record(actor=actor, action="risk_profile.record", obj=profile, before=before,
                 after={"user": user.pk, "risk_profile": risk_profile, "net_worth_usd": Decimal(net_worth),
                        "professional_investor": profile.professional_investor})
    return profile


def earn_first_view_record(user: Any) -> CustomerProfile | None:
    """Remember when a customer first viewed Earn (the start of the GB cooling-off); later views change nothing.

    Call it from every place a customer first sees Earn: the portal's Earn pages and `GET /api/v1/products`.
    Anonymous users are ignored. Costs one query once the view is recorded.
    """
    if not getattr(user, "is_authenticated", False):
        return None
    profile = CustomerProfile.objects.filter(user=user).only("id", "earn_first_viewed_at").first()
    if profile is not None and profile.earn_first_viewed_at is not None:
        return profile
    with transaction.atomic():
        profile = _profile_locked(user)
        if profile.earn_first_viewed_at is None:
            profile.earn_first_viewed_at = timezone.now()
            profile.save(update_fields=["earn_first_viewed_at"])
            audit_record(actor=user, action="earn.first_view", obj=profile,
                         after={"user": user.pk, "first_viewed_at": profile.earn_first_viewed_at})
    return profile
