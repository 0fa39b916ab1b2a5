"""Sign up, sign in (with the two-factor step), sign out, and the language switch."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from accounts.models import User
from accounts.services import profile_update, user_sign_up
from accounts.twofactor import otp_refusal_message, otp_throttled, otp_verify, user_has_2fa
from portal.forms import OtpForm, SignInForm, SignUpForm

PENDING_USER = "portal_2fa_user"
PENDING_NEXT = "portal_2fa_next"
STAFF_2FA_NEXT = "portal_staff_2fa_next"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def safe_next(request: HttpRequest, default: str = "portal:dashboard") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return reverse(default)


def language_cookie(response: HttpResponse, language: str) -> HttpResponse:
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax", httponly=True,
                        secure=settings.SESSION_COOKIE_SECURE, max_age=365 * 24 * 3600)
    return response


def _signed_in(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    if user.is_staff and next_url == reverse("portal:dashboard"):
        next_url = reverse("admin:index")  # staff work in the console; they hold no customer dashboard
    translation.activate(user.language)
    return language_cookie(HttpResponseRedirect(next_url), user.language)


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """Email + password (counted by django-axes); with 2FA on, the code comes next on its own page."""
    form = SignInForm(request.POST or None)
    next_url = safe_next(request)
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, email=form.cleaned_data["email"].strip().lower(),
                            password=form.cleaned_data["password"])
        if user is None:
            form.add_error(None, _("The email or password is not right. After several failed attempts, sign-in is "
                                   "locked for a while."))
        elif user_has_2fa(user):
            request.session.cycle_key()
            request.session[PENDING_USER] = user.pk
            request.session[PENDING_NEXT] = next_url
            return redirect("portal:sign_in_verify")
        else:
            login(request, user)
            return _signed_in(request, user, next_url)
    return render(request, "portal/sign_in.html", {"form": form, "next": next_url})


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_verify(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app (or a recovery code)."""
    pending = request.session.get(PENDING_USER)
    user = User.objects.filter(pk=pending, is_active=True).first() if pending is not None else None
    if user is None:
        return redirect("portal:sign_in")
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        throttled = otp_throttled(user)
        device = otp_verify(user, form.cleaned_data["otp"])
        if device is None:
            form.add_error("otp", otp_refusal_message(throttled=throttled))
        else:
            next_url = request.session.pop(PENDING_NEXT, None) or reverse("portal:dashboard")
            request.session.pop(PENDING_USER, None)
            login(request, user, backend=MODEL_BACKEND)
            otp_login(request, device)
            return _signed_in(request, user, next_url)
    return render(request, "portal/sign_in_verify.html", {"form": form})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("portal:home")


@sensitive_post_parameters("password", "password_again")
@never_cache
@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None, initial={"language": translation.get_language() or "en"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = user_sign_up(email=data["email"], password=data["password"], country=data["country"],
                            display_name=data["display_name"], language=data["language"])
        login(request, user, backend=MODEL_BACKEND)
        messages.success(request, _("Welcome! Your account is ready."))
        messages.info(request, _("We verify every new customer's identity and country of residence before they "
                                 "can subscribe; your profile shows the status."))
        return _signed_in(request, user, reverse("portal:home"))
    return render(request, "portal/sign_up.html", {"form": form})


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; signed-in customers keep it in their profile too."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    if request.user.is_authenticated and request.user.language != language:
        user = request.user
        profile_update(user=user, display_name=user.display_name, language=language)
    translation.activate(language)
    return language_cookie(HttpResponseRedirect(safe_next(request, "portal:home")), language)


def admin_has_permission(request: HttpRequest) -> bool:
    """The admin console: active staff whose session was verified with a one-time code (staff 2FA is mandatory)."""
    user = request.user
    is_verified = getattr(user, "is_verified", None)
    return bool(user.is_active and user.is_staff and callable(is_verified) and is_verified())


def admin_login_redirect(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin console signs in through the portal; signed-in customers are refused (403).

    Staff whose session has no one-time code yet give one (the sign-in's second step); staff without an
    authenticator are sent to set one up, and reach the admin console only after that.
    """
    if request.user.is_authenticated:
        if request.user.is_active and request.user.is_staff:
            next_url = safe_next(request, "admin:index")
            if admin_has_permission(request):
                return redirect(next_url)
            if user_has_2fa(request.user):
                request.session[PENDING_USER] = request.user.pk
                request.session[PENDING_NEXT] = next_url
                return redirect("portal:sign_in_verify")
            request.session[STAFF_2FA_NEXT] = next_url
            messages.warning(request, _("Staff accounts must use two-factor authentication: set it up to continue "
                                        "to the admin console."))
            return redirect("portal:security")
        raise PermissionDenied(_("The admin console is for staff."))
    return redirect(f"{reverse('portal:sign_in')}?{urlencode({'next': request.GET.get('next') or '/admin/'})}")
