"""Staff accounts: who counts as staff, their mandatory two-factor authentication, and fresh codes.

Every staff account (is_staff, superuser, or a member of a role group) must have a confirmed
authenticator: the admin console wants a session verified with a code, the staff API refuses a
staff user without a device (STAFF_2FA_REQUIRED), and every staff money move consumes a fresh
one-time code whatever else happened in the session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django_otp import match_token

from accounts.roles import ROLES
from accounts.twofactor import OtpInvalid, OtpRequired, user_has_2fa
from core.errors import ApplicationError, PermissionDenied

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpRequest

    from accounts.models import User

STAFF_2FA_REQUIRED = "STAFF_2FA_REQUIRED"


class Staff2faRequired(PermissionDenied):
    """A staff account without a confirmed authenticator may do nothing staff-only until it enrols."""

    default_code = STAFF_2FA_REQUIRED


class StaffAccountNotAllowed(ApplicationError):
    """Staff money moves never credit a staff account (the operator's own or a colleague's)."""

    status = 403
    default_code = "STAFF_ACCOUNT_NOT_ALLOWED"


def is_staff_account(user: User | AnonymousUser | None) -> bool:
    """Staff for the purposes of money and 2FA: the staff flag, a superuser, or any role group (fail closed:
    a customer put in a role group by mistake still counts, though roles only grant rights to is_staff)."""
    if user is None:
        return False
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        return True
    if not getattr(user, "pk", None):
        return False
    return user.groups.filter(name__in=ROLES).exists()


def staff_2fa_missing(user: User | AnonymousUser) -> bool:
    """True for a signed-in staff account that has not confirmed an authenticator yet."""
    return bool(getattr(user, "is_authenticated", False)) and is_staff_account(user) and not user_has_2fa(user)


def staff_2fa_require(user: User | AnonymousUser) -> None:
    """Refuse a staff account without a confirmed authenticator (403 STAFF_2FA_REQUIRED)."""
    if staff_2fa_missing(user):
        raise Staff2faRequired(_("Staff accounts must set up two-factor authentication before they can do this "
                                 "(Account, Two-factor authentication)."))


def staff_otp_consume(*, user: User, code: str | None) -> Any:
    """A staff money move's fresh one-time code: always required, used up by this call.

    Runs in its own short transaction (django-otp locks the user's devices, so two requests with one
    code cannot both pass; a TOTP code at or before the last accepted time step is refused, a
    recovery code is deleted), and must not be called inside the money move's transaction: a refused
    move must not roll back the failure count that throttles guessing.
    """
    staff_2fa_require(user)
    code = "".join((code or "").split())
    if not code:
        raise OtpRequired(_("Staff money moves need a current one-time code: send it as `otp` or the X-OTP "
                            "header."), field="otp")
    if len(code) > 16:
        raise OtpInvalid(_("That code is not valid. Use the current code from your app or an unused recovery "
                           "code."), field="otp")
    device = match_token(user, code)
    if device is None:
        raise OtpInvalid(_("That code is not valid or was already used. Wait for the next code from your app."),
                         field="otp")
    return device


def request_otp(request: HttpRequest) -> str | None:
    """The one-time code of an API request: `otp` in the body, else the X-OTP header."""
    data: Any = getattr(request, "data", None)
    code = data.get("otp") if hasattr(data, "get") else None
    if not isinstance(code, str):
        code = None
    return code or request.headers.get("X-OTP")
