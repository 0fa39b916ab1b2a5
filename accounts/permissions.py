"""DRF permissions built on the staff roles of accounts.roles."""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts import roles as staff_role_names
from accounts.roles import user_has_role
from accounts.staff import staff_2fa_require


class HasRole(BasePermission):
    """Allows an active staff user in one of `roles` (set by `role_required`); everyone else gets 403.

    A staff user in the role but without a confirmed authenticator gets 403 STAFF_2FA_REQUIRED: two-factor
    authentication is mandatory for staff, and this class guards every staff endpoint.
    """

    roles: tuple[str, ...] = ()
    message = "This action needs a staff role."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not any(user_has_role(request.user, role) for role in self.roles):
            return False
        staff_2fa_require(request.user)
        return True


def role_required(*roles: str) -> type[HasRole]:
    """A permission class for one role (or any of several):
    `permission_classes = [IsAuthenticated, role_required(OPERATIONS)]`."""
    return type(f"HasRole_{'_'.join(roles)}", (HasRole,),
                {"roles": roles, "message": f"This action needs the {' or '.join(roles)} role."})


ANY_STAFF = role_required(staff_role_names.CURATOR, staff_role_names.APPROVER, staff_role_names.COMPLIANCE_OFFICER,
                          staff_role_names.OPERATIONS)
"""Any of the four staff roles: read-only staff views (a product's full record, disclosure versions)."""
