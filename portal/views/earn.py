"""Earn home, product pages and the subscribe flow (acknowledge → amount → preview → confirm)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts.twofactor import otp_require, user_has_2fa
from compliance.gate import blocking_codes
from compliance.selectors import disclosure_current, disclosure_text, warnings_for
from compliance.services.acknowledgements import acknowledgement_create
from compliance.services.customers import earn_first_view_record
from core.errors import ApplicationError
from core.money import to_decimal
from core.net import client_ip
from earn.errors import SubscriptionRefused
from earn.models import Product, ProductStatus, Strategy, TermType
from earn.selectors.launch import commitments_of, launch_summary
from earn.selectors.products import catalogue_entries, catalogue_product, catalogue_products
from earn.services.launch import commitment_submit
from earn.services.subscriptions import subscription_quote, subscription_submit
from ledger.selectors import balance_list
from pools.chart import il_chart_svg
from pools.selectors import il_table
from portal.forms import AmountForm, CommitForm
from portal.refusals import advise
from portal.views.transparency import redline_context

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User
    from accounts.requests import AuthenticatedHttpRequest

ACK_CODES = ("NO_ACK", "ACK_OUTDATED")
LANGS = ("en", "zh-hant")


def _language(request: HttpRequest) -> str:
    return "zh-hant" if (translation.get_language() or "en").lower().startswith("zh") else "en"


def _display(entry: dict[str, Any], language: str) -> dict[str, Any]:
    name = entry["name_zh_hant"] if language == "zh-hant" and entry.get("name_zh_hant") else entry["name_en"]
    return {**entry, "name": name}


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Live products with filters (asset, type, risk), APR and APY labelled, quota left and term."""
    term_type = request.GET.get("type") or None
    asset = (request.GET.get("asset") or "").strip().upper() or None
    risk = request.GET.get("risk") or ""
    products = catalogue_products(term_type=term_type if term_type in TermType.values else None, asset=asset)
    if risk.isdigit():
        products = products.filter(risk_rating__lte=int(risk))
    products = products.select_related("asset")
    earn_first_view_record(request.user)
    language = _language(request)
    entries = [_display(e, language) for e in catalogue_entries(products, user=request.user)]
    assets = (Product.objects.filter(status=ProductStatus.LIVE).order_by("asset_id")
              .values_list("asset_id", flat=True).distinct())
    return render(request, "portal/home.html", {
        "entries": entries, "assets": list(assets), "filters": {"type": term_type or "", "asset": asset or "",
                                                                "risk": risk},
        "types": TermType.choices, "risks": range(1, 6),
    })


def _visible_product(product_id: int, user: User | AnonymousUser | None = None) -> Product:
    product = catalogue_product(product_id=product_id, user=user)
    if product is None:
        raise Http404
    return Product.objects.select_related("asset").get(pk=product.pk)


def _product_context(request: HttpRequest, product: Product) -> dict[str, Any]:
    """What the product and subscribe pages share: terms, disclosure in the chosen language, blockers."""
    language = _language(request)
    shown = request.GET.get("lang") or request.POST.get("language") or language
    shown = shown if shown in LANGS else language
    entry = _display(catalogue_entries([product], user=request.user)[0], language)
    disclosure = disclosure_current(product_id=product.pk)
    context: dict[str, Any] = {
        "product": product, "entry": entry, "disclosure": disclosure, "shown_language": shown,
        "other_language": "en" if shown == "zh-hant" else "zh-hant",
        "text": disclosure_text(disclosure, language=shown) if disclosure else None,
        "codes": [], "advice": [], "warnings": [], "personal_warnings": [],
    }
    warnings = warnings_for(request.user, product, language=language)
    if warnings["risk_warning"]:
        context["warnings"] = [warnings["risk_warning"]]
        context["personal_warnings"] = [warnings["personalised_warning"]]
        context["learn_more_url"] = warnings["learn_more_url"]
    if request.user.is_authenticated:
        codes = blocking_codes(request.user, product)
        needs_assessment = any(c in ("ASSESSMENT_REQUIRED", "ASSESSMENT_FAILED") for c in codes)
        context.update(codes=codes, needs_ack=any(c in ACK_CODES for c in codes), needs_assessment=needs_assessment,
                       assessment_step="current" if needs_assessment else "",
                       advice=advise(codes, product_id=product.pk))
        if "ACK_OUTDATED" in codes:  # what changed since the customer's version, before acknowledging again
            context.update(redline_context(request, product.pk, disclosure, shown))
    return context


@require_safe
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    """Terms, tiers, rules, vetting summary and the disclosure (with a switch to the other language)."""
    product = _visible_product(product_id, request.user)
    earn_first_view_record(request.user)
    context = _product_context(request, product)
    if product.strategy == Strategy.LIQUIDITY_MINING:
        context.update(_pool_context(request, product))
    if product.is_launch:
        context.update(_launch_context(request, product))
    return render(request, "portal/product.html", context)


def _launch_context(request: HttpRequest, product: Product, form: CommitForm | None = None) -> dict[str, Any]:
    """A launch's facts and state, how allocation works, the customer's commitments and the commit form."""
    user = request.user if request.user.is_authenticated else None
    return {
        "launch": launch_summary(product, user=user),
        "commitments": list(commitments_of(user, product_id=product.pk)[:50]) if user else [],
        "commit_form": form or CommitForm(initial={"idempotency_key": uuid.uuid4().hex}),
        "has_2fa": bool(user) and user_has_2fa(user),
    }


@login_required
@require_http_methods(["POST"])
def commit(request: HttpRequest, product_id: int) -> HttpResponse:
    """Commit an amount to a launch (the money moves to the committed balance now); back to the product page."""
    product = _visible_product(product_id, request.user)
    form = CommitForm(request.POST)
    if form.is_valid():
        amount = form.cleaned_data["amount"].strip()
        try:
            otp_require(user=request.user, code=form.cleaned_data["otp"])
            commitment_submit(user=request.user, product_id=product.pk, amount=amount,
                              idempotency_key=form.cleaned_data["idempotency_key"] or uuid.uuid4().hex,
                              render=lambda c: {"id": c.pk})
        except SubscriptionRefused as exc:
            for advice in advise(exc.codes, product_id=product.pk, message=exc.message):
                messages.error(request, f"{advice.message} {advice.next_step}".strip())
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Committed: %(amount)s %(asset)s to %(product)s. Your allocation and "
                                        "refund are shown here once the window closes.")
                             % {"amount": amount, "asset": product.asset_id,
                                "product": product.name_for(_language(request))})
    else:
        messages.error(request, _("Enter the amount to commit."))
    return redirect("portal:product", product_id=product.pk)


def _pool_context(request: HttpRequest, product: Product) -> dict[str, Any]:
    """The impermanent-loss chart and table of a pool product, personalised for an amount in USD."""
    raw = (request.GET.get("amount_usd") or "1000").strip()
    try:
        amount = to_decimal(raw)
    except (TypeError, ValueError):
        amount = Decimal(1000)
    if not Decimal(0) < amount < Decimal(10) ** 12:
        amount = Decimal(1000)
    table = il_table(product, amount)
    if not table:
        return {}
    return {"il_table": table, "il_chart": il_chart_svg(table, title=_("Impermanent loss, %(pair)s, on %(amount)s USD")
                                                          % {"pair": table["pair"], "amount": table["amount_usd"]}),
            "il_amount": table["amount_usd"]}


def _available(user: User, asset: str) -> Any:
    row = next((b for b in balance_list(user_id=user.pk) if b["asset_code"] == asset), None)
    return row["available"] if row else 0


@login_required
@require_http_methods(["GET", "POST"])
def subscribe(request: AuthenticatedHttpRequest, product_id: int) -> HttpResponse:
    """One page per step: acknowledge the disclosure, enter the amount, preview, confirm (with a code)."""
    product = _visible_product(product_id, request.user)
    user = request.user
    step = request.POST.get("step", "")
    if step == "acknowledge":
        try:
            acknowledgement_create(user=user, product_id=product.pk,
                                   disclosure_version=int(request.POST.get("disclosure_version") or 0),
                                   statements=request.POST.getlist("statements"),
                                   language=request.POST.get("language") or "en",
                                   ip_address=client_ip(request),
                                   user_agent=request.headers.get("User-Agent", ""))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Thank you: your acknowledgement is recorded."))
        return redirect("portal:subscribe", product_id=product.pk)
    context = _product_context(request, product)
    form = AmountForm(request.POST if step in ("preview", "confirm") else None)
    context.update(form=form, has_2fa=user_has_2fa(user), available=_available(user, product.asset_id),
                   fixed=product.term_type == TermType.FIXED)
    if step in ("preview", "confirm") and form.is_valid():
        amount, auto_renew = form.cleaned_data["amount"].strip(), form.cleaned_data["auto_renew"]
        if step == "confirm":
            try:
                otp_require(user=user, code=request.POST.get("otp"))
                _status, body, _replayed = subscription_submit(
                    user=user, product_id=product.pk, amount=amount, auto_renew=auto_renew,
                    idempotency_key=request.POST.get("idempotency_key"),
                    render=lambda sub: {"id": sub.pk, "position": sub.position_id})
            except SubscriptionRefused as exc:
                context["refusal"] = advise(exc.codes, product_id=product.pk, message=exc.message)
            except ApplicationError as exc:
                context["refusal"] = advise([exc.code], product_id=product.pk, message=exc.message)
            else:
                messages.success(request, _("Subscribed: %(amount)s %(asset)s to %(product)s.")
                                 % {"amount": amount, "asset": product.asset_id, "product": context["entry"]["name"]})
                if "position" not in body:  # a pool product answers with its pool position
                    return redirect("portal:dashboard")
                return redirect("portal:position", position_id=body["position"])
        try:
            quote = subscription_quote(user=user, product=product, amount=amount)
        except ApplicationError as exc:
            form.add_error("amount", exc.message)
        else:
            context.update(quote=quote, quote_advice=advise(quote.blocking, product_id=product.pk),
                           idempotency_key=request.POST.get("idempotency_key") if step == "confirm"
                           else uuid.uuid4().hex, auto_renew=auto_renew)
            return render(request, "portal/subscribe_preview.html", context)
    return render(request, "portal/subscribe.html", context)
