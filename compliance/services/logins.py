"""Staff logins are audit events (who, when, from where)."""

from __future__ import annotations

from typing import Any

from core.audit import audit_record
from core.net import client_ip


def staff_login_record(sender: Any = None, *, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """`user_logged_in` receiver: record a staff member's login; customers' logins are not audit events."""
    if user is None or not (getattr(user, "is_staff", False) or getattr(user, "is_superuser", False)):
        return
    meta = getattr(request, "META", {}) if request is not None else {}
    ip = client_ip(request) if request is not None else None
    audit_record(actor=user, action="staff.login", object_type="accounts.user", object_id=user.pk,
                 after={"ip": ip, "user_agent": (meta.get("HTTP_USER_AGENT") or "")[:200],
                        "path": getattr(request, "path", "")})
