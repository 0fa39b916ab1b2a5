"""Profile, two-factor set-up with recovery codes, and API tokens."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import kyc, twofactor
from accounts.services import profile_update
from accounts.staff import is_staff_account
from accounts.tokens import api_token_create, api_token_revoke, api_tokens_of
from compliance.services.customers import investor_class_of
from core.errors import ApplicationError
from portal.forms import ApiTokenForm, OtpForm, ProfileForm, ResidenceRequestForm
from portal.views.auth import STAFF_2FA_NEXT, language_cookie

if TYPE_CHECKING:
    from accounts.requests import AuthenticatedHttpRequest

# The create forms of API tokens already used in this session: a reload of the page that shows a new key
# posts the same form again, which must neither make a second token nor show any key (it is shown once).
TOKEN_FORMS_USED = "portal_api_token_forms_used"


def _profile_page(request: AuthenticatedHttpRequest, form: ProfileForm,
                  residence_form: ResidenceRequestForm) -> HttpResponse:
    user = request.user
    return render(request, "portal/profile.html", {
        "form": form, "residence_form": residence_form, "has_2fa": twofactor.user_has_2fa(user),
        "pending_request": kyc.residence_request_pending(user), "requests": kyc.residence_requests_of(user)[:5],
        "investor_class": investor_class_of(user)})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Name and language; the country of residence and KYC status are shown, not edited (a posted country is
    ignored: only compliance changes it, on request)."""
    user = request.user
    form = ProfileForm(request.POST or None, initial={"display_name": user.display_name, "language": user.language})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        profile_update(user=user, display_name=data["display_name"], language=data["language"])
        translation.activate(user.language)
        messages.success(request, _("Your profile has been saved."))
        return language_cookie(redirect("portal:profile"), user.language)
    return _profile_page(request, form, ResidenceRequestForm())


@login_required
@require_POST
def residence_request(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Ask compliance to change the country of residence (or investor class); nothing changes until decided."""
    user = request.user
    form = ResidenceRequestForm(request.POST)
    if form.is_valid():
        try:
            kyc.residence_request_create(user=user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Your request was sent to our compliance team. Until it is decided, "
                                        "new subscriptions are paused."))
            return redirect("portal:profile")
    profile_form = ProfileForm(initial={"display_name": user.display_name, "language": user.language})
    return _profile_page(request, profile_form, form)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def security(request: AuthenticatedHttpRequest) -> HttpResponse:
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
                context["form"] = OtpForm()  # the code just used is spent: do not offer it again
                messages.success(request, _("Two-factor authentication is on."))
                if is_staff_account(user):  # the code just given verifies this session for the admin console
                    otp_login(request, TOTPDevice.objects.get(user=user, confirmed=True))
                    context["continue_url"] = request.session.pop(STAFF_2FA_NEXT, None) or reverse("admin:index")
            elif action == "recovery" and form.is_valid():
                context["recovery_codes"] = twofactor.recovery_codes_regenerate(user=user,
                                                                               code=form.cleaned_data["otp"])
                context["form"] = OtpForm()
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
def tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The customer's API tokens: create one with a name (its key shown once), list them, revoke one."""
    user = request.user
    action = request.POST.get("action", "")
    form = ApiTokenForm(request.POST if action == "create" else None)
    new_key = None
    if request.method == "POST":
        try:
            if action == "create" and form.is_valid():
                form_id = request.POST.get("form_id", "")[:64]
                used = request.session.get(TOKEN_FORMS_USED, [])
                if form_id and form_id in used:
                    messages.info(request, _("That token was already created, and its key was shown only once. If you "
                                             "did not copy it, revoke the token and create a new one."))
                    return redirect("portal:tokens")
                twofactor.otp_require(user=user, code=form.cleaned_data["otp"])
                _token, new_key = api_token_create(user=user, name=form.cleaned_data["name"])
                form = ApiTokenForm()  # an empty form under the new key, not an invitation to make it twice
                if form_id:
                    request.session[TOKEN_FORMS_USED] = [*used[-9:], form_id]
                messages.success(request, _("Your new API token is shown below. Copy it now: it is not shown again."))
            elif action == "revoke":
                api_token_revoke(user=user, token_id=request.POST.get("token_id", ""))
                messages.success(request, _("The API token was revoked."))
                return redirect("portal:tokens")
        except ApplicationError as exc:
            if action == "revoke":
                messages.error(request, exc.message)
                return redirect("portal:tokens")
            form.add_error("otp" if exc.field == "otp" else None, exc.message)
    return render(request, "portal/tokens.html", {"tokens": list(api_tokens_of(user)), "new_key": new_key,
                                                  "form": form, "form_id": uuid.uuid4().hex,
                                                  "has_2fa": twofactor.user_has_2fa(user),
                                                  "now": timezone.now(), "ttl_days": settings.API_TOKEN_TTL_DAYS})
