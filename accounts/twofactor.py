"""Two-factor authentication: TOTP (authenticator app) with one-time recovery codes.

Built on django-otp: a confirmed `TOTPDevice` means 2FA is on; a `StaticDevice` named
"recovery" holds the recovery codes (each works once). Once 2FA is on, signing in and every
money move (portal confirmations, the subscription and redemption API) need a current code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import segno
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.tokens import api_tokens_revoke_all
from core.audit import audit_record
from core.errors import ApplicationError

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User
    from accounts.requests import AuthenticatedRequest

RECOVERY_DEVICE_NAME = "recovery"
RECOVERY_CODE_COUNT = 10
OTP_REQUIRED = "OTP_REQUIRED"
OTP_INVALID = "OTP_INVALID"


class OtpRequired(ApplicationError):
    """2FA is on and no one-time code came with a request that needs one."""

    status = 403
    default_code = OTP_REQUIRED


class OtpInvalid(ApplicationError):
    """The one-time code was wrong, already used or throttled."""

    status = 403
    default_code = OTP_INVALID


def axes_username(request: HttpRequest | None, credentials: dict | None) -> str | None:
    """The login name django-axes counts failures under: the email, whichever form field carried it."""
    for source in (credentials or {}, getattr(request, "POST", None) or {}):
        for key in ("email", "username"):
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip().lower()
    return None


# --- Reads ---------------------------------------------------------------------------------------

def user_has_2fa(user: User | AnonymousUser) -> bool:
    """True when the user has confirmed an authenticator app."""
    if not user.is_authenticated:
        return False
    loaded = getattr(user, "has_2fa_loaded", None)  # read with the API token (accounts.tokens)
    if loaded is not None:
        return bool(loaded)
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_DEVICE_NAME).count()


def totp_pending(user: User) -> TOTPDevice | None:
    """The authenticator being set up (created, not yet confirmed with a code)."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def totp_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code (no image files, no external service)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#1f2937", light="#ffffff", omitsize=True)


def totp_secret_text(device: TOTPDevice) -> str:
    """The base32 secret for typing into an app, in groups of four."""
    import base64

    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


# --- Checks --------------------------------------------------------------------------------------

def otp_verify(user: User, code: str | None) -> Any | None:
    """The device that accepts `code` (TOTP or an unused recovery code), or None."""
    code = "".join((code or "").split())
    if not code:
        return None
    return match_token(user, code)


def otp_throttled(user: User) -> bool:
    """True while the back-off after a wrong code runs (django-otp then refuses every code, right or wrong, for
    1, 2, 4, ... seconds); asked before verifying, so that the refusal can say "wait" instead of "not valid"."""
    return any(not device.verify_is_allowed()[0] for device in TOTPDevice.objects.filter(user=user, confirmed=True))


def otp_refusal_message(*, throttled: bool) -> str:
    if throttled:
        return _("Too many wrong codes in a row: wait a few seconds, then enter the current code from your app.")
    return _("That code is not valid. Use the current code from your app or an unused recovery code.")


def otp_require(*, user: User, code: str | None) -> None:
    """For money moves: nothing to do without 2FA; with it, a valid code or OTP_REQUIRED/OTP_INVALID."""
    if not user_has_2fa(user):
        return
    if not (code or "").strip():
        raise OtpRequired(_("Two-factor authentication is on: enter the 6-digit code from your authenticator app."),
                          field="otp")
    throttled = otp_throttled(user)
    if otp_verify(user, code) is None:
        raise OtpInvalid(otp_refusal_message(throttled=throttled), field="otp")


def otp_require_for_request(request: AuthenticatedRequest) -> None:
    """The money-moving API views' check: the code comes as `otp` in the body or as the X-OTP header."""
    data: Any = getattr(request, "data", None)
    code = data.get("otp") if hasattr(data, "get") else None
    otp_require(user=request.user, code=code or request.headers.get("X-OTP"))


# --- Writes --------------------------------------------------------------------------------------

@transaction.atomic
def totp_setup_begin(*, user: User) -> TOTPDevice:
    """Start (or restart) setting up an authenticator: a fresh unconfirmed device with a new secret."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@transaction.atomic
def totp_setup_confirm(*, user: User, code: str) -> list[str]:
    """Confirm the pending authenticator with a code from it; returns new recovery codes (shown once)."""
    device = totp_pending(user)
    if device is None:
        raise ApplicationError(_("Start the set-up again: no authenticator is waiting for confirmation."),
                               code="OTP_SETUP_MISSING")
    if not device.verify_token("".join((code or "").split())):
        raise OtpInvalid(_("That code is not valid. Check the time on your phone and try the current code."),
                         field="otp")
    api_tokens_revoke_all(user=user, reason="2fa_enable")  # tokens made without the second factor end
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    user.__dict__.pop("has_2fa_loaded", None)
    codes = _recovery_codes_replace(user)
    audit_record(actor=user, action="account.2fa_enable", obj=user, after={"device": device.pk})
    return codes


@transaction.atomic
def recovery_codes_regenerate(*, user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working); needs a current code."""
    otp_require(user=user, code=code)
    codes = _recovery_codes_replace(user)
    audit_record(actor=user, action="account.recovery_codes", obj=user, after={"count": len(codes)})
    return codes


@transaction.atomic
def totp_disable(*, user: User, code: str) -> None:
    """Turn 2FA off; needs a current code (or a recovery code). Staff accounts cannot: it is mandatory for them."""
    from accounts.staff import Staff2faRequired, is_staff_account

    if is_staff_account(user):
        raise Staff2faRequired(_("Two-factor authentication is mandatory for staff accounts."), field="otp")
    otp_require(user=user, code=code)
    api_tokens_revoke_all(user=user, reason="2fa_disable")
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user.__dict__.pop("has_2fa_loaded", None)
    audit_record(actor=user, action="account.2fa_disable", obj=user, after={})


def _recovery_codes_replace(user: User) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE_NAME,
                                                          defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes
