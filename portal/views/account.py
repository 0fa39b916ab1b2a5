"""Profile, two-factor set-up with recovery codes, and API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from accounts import twofactor
from accounts.services import api_token_revoke, api_token_rotate, profile_update
from accounts.staff import is_staff_account
from core.errors import ApplicationError
from portal.forms import OtpForm, ProfileForm
from portal.views.auth import STAFF_2FA_NEXT, language_cookie


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(request.POST or None, initial={"display_name": user.display_name, "country": user.country,
                                                      "language": user.language})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        profile_update(user=user, display_name=data["display_name"], country=data["country"],
                       language=data["language"])
        translation.activate(user.language)
        messages.success(request, _("Your profile has been saved."))
        return language_cookie(redirect("portal:profile"), user.language)
    return render(request, "portal/profile.html", {"form": form, "has_2fa": twofactor.user_has_2fa(user)})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """2FA status and actions: set up (QR code + confirm), new recovery codes, turn off."""
    user = request.user
    action = request.POST.get("action", "")
    form = OtpForm(request.POST or None)
    context: dict = {"has_2fa": twofactor.user_has_2fa(user), "form": form, "staff": is_staff_account(user)}
    if request.method == "POST":
        try:
            if action == "begin":
                twofactor.totp_setup_begin(user=user)
                return redirect("portal:security")
            if action == "confirm" and form.is_valid():
                context["recovery_codes"] = twofactor.totp_setup_confirm(user=user, code=form.cleaned_data["otp"])
                messages.success(request, _("Two-factor authentication is on."))
                if is_staff_account(user):  # the code just given verifies this session for the admin console
                    otp_login(request, TOTPDevice.objects.get(user=user, confirmed=True))
                    context["continue_url"] = request.session.pop(STAFF_2FA_NEXT, None) or reverse("admin:index")
            elif action == "recovery" and form.is_valid():
                context["recovery_codes"] = twofactor.recovery_codes_regenerate(user=user,
                                                                               code=form.cleaned_data["otp"])
                messages.success(request, _("New recovery codes were made; the old ones no longer work."))
            elif action == "disable" and form.is_valid():
                twofactor.totp_disable(user=user, code=form.cleaned_data["otp"])
                messages.success(request, _("Two-factor authentication is off."))
                return redirect("portal:security")
        except ApplicationError as exc:
            form.add_error("otp", exc.message)
        context["has_2fa"] = twofactor.user_has_2fa(user)
    pending = None if context["has_2fa"] else twofactor.totp_pending(user)
    if pending is not None:
        context.update(pending=pending, qr_svg=twofactor.totp_qr_svg(pending),
                       secret=twofactor.totp_secret_text(pending))
    if context["has_2fa"]:
        context["codes_left"] = twofactor.recovery_codes_left(user)
    return render(request, "portal/security.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """The customer's API token: create or replace (shown once), or revoke."""
    user = request.user
    form = OtpForm(request.POST or None)
    new_key = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            twofactor.otp_require(user=user, code=request.POST.get("otp"))
            if action == "rotate":
                new_key = api_token_rotate(user=user).key
                messages.success(request, _("Your new API token is shown below. Copy it now: it is not shown again."))
            elif action == "revoke":
                api_token_revoke(user=user)
                messages.success(request, _("Your API token was revoked."))
                return redirect("portal:tokens")
        except ApplicationError as exc:
            form.add_error("otp", exc.message)
    token = Token.objects.filter(user=user).first()
    return render(request, "portal/tokens.html", {"token": token, "new_key": new_key, "form": form,
                                                  "has_2fa": twofactor.user_has_2fa(user)})

