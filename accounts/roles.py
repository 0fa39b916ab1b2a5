"""Staff roles are groups with permissions; this module is their single definition."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

CURATOR = "curator"
APPROVER = "approver"
COMPLIANCE_OFFICER = "compliance_officer"
OPERATIONS = "operations"

# Venue and counterparty exposure limits: set by compliance and operations (each change audited).
EXPOSURE_LIMIT_PERMISSIONS = [("earn", "view_exposurelimit"), ("earn", "add_exposurelimit"),
                              ("earn", "change_exposurelimit"), ("earn", "delete_exposurelimit")]

# role -> (app_label, codename) pairs. Custom permissions are declared on the models' Meta.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    CURATOR: [
        ("earn", "add_product"), ("earn", "change_product"), ("earn", "view_product"), ("earn", "submit_product"),
        ("earn", "add_productterms"), ("earn", "change_productterms"), ("earn", "view_productterms"),
        ("earn", "add_ratetier"), ("earn", "change_ratetier"), ("earn", "delete_ratetier"), ("earn", "view_ratetier"),
        ("compliance", "add_disclosure"), ("compliance", "change_disclosure"), ("compliance", "view_disclosure"),
    ],
    APPROVER: [
        ("earn", "view_product"), ("earn", "approve_product"), ("earn", "view_productterms"),
        ("earn", "view_ratetier"), ("compliance", "view_disclosure"), ("compliance", "approve_disclosure"),
    ],
    COMPLIANCE_OFFICER: [
        ("earn", "view_product"), ("earn", "view_productterms"), ("earn", "view_ratetier"),
        ("compliance", "view_disclosure"), ("compliance", "approve_disclosure"), ("compliance", "view_auditevent"),
        ("compliance", "view_jurisdictionrule"), ("compliance", "change_jurisdictionrule"),
        ("compliance", "view_categoryrule"), ("compliance", "add_categoryrule"), ("compliance", "change_categoryrule"),
        ("compliance", "delete_categoryrule"),
        ("compliance", "view_assessmentquestion"), ("compliance", "add_assessmentquestion"),
        ("compliance", "change_assessmentquestion"), ("compliance", "view_assessmentattempt"),
        ("compliance", "view_customerprofile"), ("compliance", "add_customerprofile"),
        ("compliance", "change_customerprofile"), ("compliance", "view_acknowledgement"),
        ("compliance", "view_refusal"), ("compliance", "view_complaint"), ("compliance", "change_complaint"),
        ("accounts", "view_kyccustomer"), ("accounts", "view_residencechangerequest"),
        ("accounts", "view_kycwebhookevent"),
        *EXPOSURE_LIMIT_PERMISSIONS,
    ],
    OPERATIONS: [
        ("earn", "view_product"), ("earn", "operate_product"), ("earn", "view_productterms"),
        ("earn", "view_ratetier"), ("compliance", "view_disclosure"),
        ("ledger", "view_asset"),
        ("ledger", "view_ledgeraccount"),
        ("ledger", "view_journalentry"),
        ("ledger", "view_posting"),
        ("ledger", "post_deposit"),
        ("ledger", "view_pendingdeposit"),
        *EXPOSURE_LIMIT_PERMISSIONS,
    ],
}
ROLES = list(ROLE_PERMISSIONS)


def user_has_role(user: User | AnonymousUser, role: str) -> bool:
    """True for an active staff user in the role's group (superusers hold every role)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    return bool(getattr(user, "is_staff", False)) and user.groups.filter(name=role).exists()
