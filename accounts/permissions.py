"""DRF permissions built on the staff roles of accounts.roles."""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.roles import user_has_role


class HasRole(BasePermission):
    """Allows an active staff user in `role` (set by `role_required`); everyone else gets 403."""

    role = ""
    message = "This action needs a staff role."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_has_role(request.user, self.role)


def role_required(role: str) -> type[HasRole]:
    """A permission class for one role: `permission_classes = [IsAuthenticated, role_required(OPERATIONS)]`."""
    return type(f"HasRole_{role}", (HasRole,), {"role": role, "message": f"This action needs the {role} role."})
