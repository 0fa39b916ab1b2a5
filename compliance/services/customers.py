"""Customer compliance facts: risk profile and declared net worth (HK), first view of Earn (GB cooling-off)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import COMPLIANCE_OFFICER, user_has_role
from compliance.models import CustomerProfile, RiskProfile
from core.audit import audit_record
from core.errors import PermissionDenied, ValidationFailed
from core.money import to_decimal


def _profile_locked(user: Any) -> CustomerProfile:
    CustomerProfile.objects.get_or_create(user=user)
    return CustomerProfile.objects.select_for_update().get(user=user)


@transaction.atomic
def risk_profile_record(*, actor: Any, user: Any, risk_profile: str, net_worth_usd: Any,
                        professional_investor: bool | None = None) -> CustomerProfile:
    """Record the customer's risk profile and declared net worth (USD), the inputs of the HK exposure limit.

    `professional_investor` (the investor class, a KYC fact) is set by compliance officers or the system only;
    None (a customer's own declaration) keeps it as it is. A customer never sets it, whatever they send.
    """
    if professional_investor is not None:
        _investor_class_writer_check(actor, user)
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


def _investor_class_writer_check(actor: Any, user: Any) -> None:
    """Compliance officers and the system (actor None: the KYC webhook, seeding) may; nobody else, never oneself."""
    if actor is None:
        return
    if getattr(actor, "pk", None) == getattr(user, "pk", None) or not user_has_role(actor, COMPLIANCE_OFFICER):
        raise PermissionDenied(_("Only compliance can change a customer's investor class."))


def investor_class_set(*, actor: Any, user: Any, professional: bool, via: str = "staff") -> CustomerProfile:
    """Classify the customer as professional or retail investor (a KYC fact: compliance or the KYC provider)."""
    _investor_class_writer_check(actor, user)
    with transaction.atomic():
        profile = _profile_locked(user)
        before = profile.professional_investor
        if before != professional:
            profile.professional_investor = professional
            profile.save(update_fields=["professional_investor"])
            audit_record(actor=actor, action="investor_class.set", obj=profile,
                         before={"user": user.pk, "professional_investor": before},
                         after={"user": user.pk, "professional_investor": professional, "via": via})
    return profile


def investor_class_of(user: Any) -> str:
    """"professional" or "retail", as the gate sees it."""
    professional = CustomerProfile.objects.filter(user=user, professional_investor=True).exists()
    return "professional" if professional else "retail"


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
