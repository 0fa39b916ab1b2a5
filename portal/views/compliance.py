"""Compliance steps in the portal: assessment, risk profile (HK exposure limit), complaints, risk summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import LazyObject
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from compliance.gate import product_kind
from compliance.models import RiskProfile
from compliance.selectors import assessment_latest, assessment_questions, assessment_review, complaints_for
from compliance.services.assessments import assessment_submit
from compliance.services.complaints import complaint_file
from compliance.services.customers import risk_profile_record
from core.errors import ApplicationError
from earn.models import Position
from earn.selectors.products import catalogue_products
from portal.views.earn import _language, _visible_product

if TYPE_CHECKING:
    from accounts.requests import AuthenticatedHttpRequest


def _concrete(user: Any) -> Any:
    """The User behind request.user's lazy wrapper (services that look at type(user) need the model)."""
    while isinstance(user, LazyObject):
        user.__class__  # noqa: B018 - evaluates the wrapper
        user = user._wrapped  # type: ignore[attr-defined]  # private to Django, so not in the stubs
    return user


@login_required
@require_http_methods(["GET", "POST"])
def assessment(request: AuthenticatedHttpRequest, product_id: int) -> HttpResponse:
    """The knowledge / appropriateness questions for this product's kind; passing lets the customer subscribe."""
    product = _visible_product(product_id, request.user)
    kind = product_kind(product)
    language = _language(request)
    questions = assessment_questions(request.user, kind, language=language)
    error = ""
    if request.method == "POST":
        answers = {q["key"]: request.POST.get(q["key"], "") for q in questions}
        answers = {k: v for k, v in answers.items() if v}
        try:
            attempt = assessment_submit(user=_concrete(request.user), product_kind=kind, answers=answers,
                                        language=language)
        except ApplicationError as exc:
            error = exc.message
        else:
            review = assessment_review(attempt, language=language)
            if attempt.passed:
                messages.success(request, _("You passed the assessment (%(score)s of %(total)s).")
                                 % {"score": attempt.score, "total": attempt.total})
                for item in review:  # passed, but she is still told what she got wrong and why
                    messages.warning(request, _("Not quite: “%(question)s” The answer is “%(correct)s”, not "
                                                "“%(given)s”. %(why)s")
                                     % {"question": item["text"], "correct": item["correct"], "given": item["given"],
                                        "why": item["explanation"]})
                return redirect("portal:subscribe", product_id=product.pk)
            when = attempt.retake_after.strftime("%Y-%m-%d %H:%M") if attempt.retake_after else "-"
            if any(item["key_risk"] for item in review) and attempt.percent >= _pass_mark(request.user):
                messages.error(request, _("You scored %(score)s of %(total)s, but a question on a key risk of this "
                                          "product was answered wrongly: every key-risk question must be right to "
                                          "pass. You can try again after %(when)s UTC.")
                               % {"score": attempt.score, "total": attempt.total, "when": when})
            else:
                messages.error(request, _("You scored %(score)s of %(total)s, below the pass mark. You can try "
                                          "again after %(when)s UTC.")
                               % {"score": attempt.score, "total": attempt.total, "when": when})
            return redirect("portal:assessment", product_id=product.pk)
    latest = assessment_latest(request.user, kind)
    return render(request, "portal/assessment.html", {
        "product": product, "questions": questions, "error": error, "latest": latest,
        "review": assessment_review(latest, language=language) if latest is not None else [],
        "answers": request.POST if request.method == "POST" else {},
    })


def _pass_mark(user: Any) -> int:
    from compliance.selectors import jurisdiction_rule

    rule = jurisdiction_rule(user.country)
    return rule.pass_mark if rule is not None else 100


class RiskProfileForm(forms.Form):
    risk_profile = forms.ChoiceField(label=gettext_lazy("How much risk are you prepared to take?"),
                                     choices=RiskProfile.choices)
    net_worth_usd = forms.DecimalField(label=gettext_lazy("Your net worth (USD)"), min_value=0, max_digits=30,
                                       decimal_places=2,
                                       help_text=gettext_lazy("Used to keep your virtual-asset holdings within a "
                                                              "share of your net worth."))


@login_required
@require_http_methods(["GET", "POST"])
def risk_profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Risk profile and declared net worth: the inputs of the exposure limit (Hong Kong)."""
    profile = getattr(request.user, "compliance_profile", None)
    initial = {"risk_profile": getattr(profile, "risk_profile", ""), "net_worth_usd": getattr(profile, "net_worth_usd",
                                                                                              None)}
    form = RiskProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            risk_profile_record(actor=request.user, user=request.user, risk_profile=form.cleaned_data["risk_profile"],
                                net_worth_usd=str(form.cleaned_data["net_worth_usd"]))
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Your risk profile is saved."))
            back = request.POST.get("next", "")
            return redirect(back if back.startswith("/") and not back.startswith("//") else "portal:dashboard")
    return render(request, "portal/risk_profile.html", {"form": form, "next": request.GET.get("next", "")})


class ComplaintForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    body = forms.CharField(label=gettext_lazy("What happened?"), widget=forms.Textarea(attrs={"rows": 6}))
    target = forms.ChoiceField(label=gettext_lazy("About"))


@login_required
@require_http_methods(["GET", "POST"])
def complaints(request: AuthenticatedHttpRequest) -> HttpResponse:
    """File a complaint about a position (or its product) and follow the ones already filed."""
    positions = list(Position.objects.filter(user=request.user).select_related("product").order_by("-id")[:50])
    language = _language(request)
    choices = [(f"position:{p.pk}", _("Your position #%(id)s in %(product)s")
                % {"id": p.pk, "product": p.product.name_for(language)}) for p in positions]
    choices += [(f"product:{p.pk}", p.name_for(language)) for p in catalogue_products()]
    form = ComplaintForm(request.POST or None)
    cast(forms.ChoiceField, form.fields["target"]).choices = choices
    if request.method == "POST" and form.is_valid():
        kind, _sep, target_id = form.cleaned_data["target"].partition(":")
        try:
            complaint_file(user=request.user, subject=form.cleaned_data["subject"], body=form.cleaned_data["body"],
                           position_id=int(target_id) if kind == "position" else None,
                           product_id=int(target_id) if kind == "product" else None)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Your complaint is received. We answer within eight weeks."))
            return redirect("portal:complaints")
    return render(request, "portal/complaints.html", {"form": form, "complaints": list(complaints_for(request.user))})


@require_safe
def risk_summary(request: HttpRequest) -> HttpResponse:
    """The "Take 2 mins to learn more" page linked from the risk warnings."""
    return render(request, "portal/risk_summary.html")
