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
from compliance.category_selectors import category_access
from compliance.gate import blocking_codes
from compliance.selectors import cooling_off_ends, disclosure_current, disclosure_text, warnings_for
from compliance.services.acknowledgements import acknowledgement_create, blocked_attempt_record
from compliance.services.customers import earn_first_view_record
from core.errors import ApplicationError
from core.money import decimal_text, to_decimal
from core.net import client_ip
from earn.errors import SubscriptionRefused
from earn.models import Category, Product, ProductStatus, Strategy, TermType
from earn.selectors.launch import commitments_of, launch_summary
from earn.selectors.products import catalogue_entries, catalogue_product, catalogue_products
from earn.services.launch import commitment_submit
from earn.services.subscriptions import subscription_quote, subscription_submit
from ledger.selectors import balance_list
from pools.chart import il_chart_svg
from pools.selectors import il_table
from portal.forms import AmountForm, CommitForm
from portal.refusals import LOGGED_AT_PREVIEW, Advice, advise, blocks_of
from portal.views.simulation import simulation_context
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
    out = {**entry, "name": name, "tiered": len(entry.get("apr_tiers") or []) > 1,
           "category_label": Category(entry["category"]).label if entry.get("category") in Category.values else ""}
    if out["tiered"]:  # a tiered rate reads "up to" its best tier
        from earn.apy import apy_for

        best = max(t["apr"] for t in entry["apr_tiers"])
        out.update(apr_best=best, apy_best=apy_for(best, compounding=entry["type"] == TermType.DEMAND))
    return out


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Live products with filters (asset, type, risk), APR and APY labelled, quota left and term."""
    term_type = request.GET.get("type") or None
    asset = (request.GET.get("asset") or "").strip().upper() or None
    risk = request.GET.get("risk") or ""
    products = catalogue_products(term_type=term_type if term_type in TermType.values else None, asset=asset,
                                  access=category_access(request.user))
    if risk.isdigit():
        products = products.filter(risk_rating__lte=int(risk))
    products = products.select_related("asset")
    earn_first_view_record(request.user)
    language = _language(request)
    entries = [_display(e, language) for e in catalogue_entries(products, user=request.user)]
    assets = (Product.objects.filter(status=ProductStatus.LIVE).order_by("asset_id")
              .values_list("asset_id", flat=True).distinct())
    warnings = warnings_for(request.user, language=language)
    return render(request, "portal/home.html", {
        "warnings": [warnings["risk_warning"]] if warnings["risk_warning"] else [],
        "learn_more_url": warnings["learn_more_url"], "entries": entries, "assets": list(assets),
        "filters": {"type": term_type or "", "asset": asset or "", "risk": risk},
        "types": TermType.choices, "risks": range(1, 6),
    })


def _visible_product(product_id: int, user: User | AnonymousUser | None = None, *,
                     offered_only: bool = False) -> Product:
    """The product, or 404; `offered_only`: also 404 where its category is not offered to this customer
    (compliance's category rules), unless they hold it."""
    product = catalogue_product(product_id=product_id, user=user, offered_only=offered_only)
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
        "text": disclosure_text(disclosure, language=shown, country=getattr(request.user, "country", None))
        if disclosure else None,
        "codes": [], "advice": [], "warnings": [], "personal_warnings": [],
    }
    warnings = warnings_for(request.user, product, language=language)
    if warnings["risk_warning"]:
        context["warnings"] = [warnings["risk_warning"]]
        context["personal_warnings"] = [warnings["personalised_warning"]]
        context["learn_more_url"] = warnings["learn_more_url"]
    if request.user.is_authenticated:
        codes = blocking_codes(request.user, product)
        blocks = blocks_of(codes)
        steps = [c for c in codes if c not in blocks]
        ends = cooling_off_ends(request.user) if "COOLING_OFF" in blocks else None
        needs_assessment = any(c in ("ASSESSMENT_REQUIRED", "ASSESSMENT_FAILED") for c in codes)
        # Blocks (restricted, cooling-off, KYC, residence under review) are refusals with what to do; the rest
        # are the next steps of the flow, shown as guidance.
        context.update(codes=codes, blocks=blocks, needs_ack=any(c in ACK_CODES for c in codes),
                       needs_assessment=needs_assessment, assessment_step="current" if needs_assessment else "",
                       block_advice=advise(blocks, product_id=product.pk, cooling_off_ends=ends),
                       advice=advise(steps, product_id=product.pk))
        if "ACK_OUTDATED" in codes:  # what changed since the customer's version, before acknowledging again
            context.update(redline_context(request, product.pk, disclosure, shown))
    return context


@require_safe
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    """Terms, tiers, rules, vetting summary and the disclosure (with a switch to the other language)."""
    product = _visible_product(product_id, request.user, offered_only=True)
    earn_first_view_record(request.user)
    context = _product_context(request, product)
    chinese = _language(request) == "zh-hant"
    context["vetting"] = {  # Traditional Chinese where the curator wrote it, else the English
        "yield_source": (chinese and product.yield_source_zh_hant) or product.yield_source,
        "risk_rationale": (chinese and product.risk_rationale_zh_hant) or product.risk_rationale,
    }
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
        "has_2fa": user is not None and user_has_2fa(user),
    }


@login_required
@require_http_methods(["POST"])
def commit(request: AuthenticatedHttpRequest, product_id: int) -> HttpResponse:
    """Commit an amount to a launch (the money moves to the committed balance now); back to the product page."""
    product = _visible_product(product_id, request.user, offered_only=True)
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
            "il_amount": table["amount_usd"], **simulation_context(request, product)}


def _available(user: User, asset: str) -> Any:
    row = next((b for b in balance_list(user_id=user.pk) if b["asset_code"] == asset), None)
    return row["available"] if row else 0


def _safe_amount(raw: Any) -> Decimal | None:
    try:
        value = to_decimal((raw or "").strip())
    except (TypeError, ValueError, AttributeError):
        return None
    return value if value.is_finite() and abs(value) < Decimal(10) ** 20 else None


def _shortfalls(user: Any, needs: list[tuple[str, Decimal, int]]) -> list[Advice]:
    """Which asset is short for a subscription taking `needs` [(asset, amount, scale)], in plain words."""
    balances = {b["asset_code"]: b["available"] for b in balance_list(user_id=user.pk)}
    out = []
    for asset, need, scale in needs:
        have = balances.get(asset, Decimal(0))
        if have < need:
            out.append(Advice("INSUFFICIENT_BALANCE", _(
                "Not enough %(asset)s: this takes %(need)s %(asset)s and %(have)s %(asset)s is available.")
                % {"asset": asset, "need": decimal_text(need, scale), "have": decimal_text(have, scale)},
                _("Deposit %(missing)s %(asset)s more, or choose a smaller amount.")
                % {"missing": decimal_text(need - have, scale), "asset": asset}))
    return out


def _quote_advice(user: Any, product: Product, codes: list[str], needs: list[tuple[str, Decimal, int]]) -> list[Advice]:
    """Advice for a preview's blockers; a short balance names the asset (and a pool deposit both legs)."""
    advice = advise([c for c in codes if c != "INSUFFICIENT_BALANCE"], product_id=product.pk)
    if "INSUFFICIENT_BALANCE" in codes:
        advice += _shortfalls(user, needs) or advise(["INSUFFICIENT_BALANCE"], product_id=product.pk)
    return advice


def _pool_preview(request: AuthenticatedHttpRequest, product: Product, context: dict[str, Any],
                  amount: str) -> HttpResponse:
    """A pool deposit's preview: both legs, the pool share it buys, fee and swap, estimated income, blockers."""
    from pools.services.deposits import deposit_quote

    quote = deposit_quote(user=request.user, product=product, amount=amount)
    plan, pool, yields = quote["plan"], quote["pool"], quote["yield"]
    needs = [(pool.asset_a_id, plan.amount_a, pool.asset_a.scale), (pool.asset_b_id, plan.amount_b, pool.asset_b.scale)]
    daily = quote["est_daily_fees_usd"] + quote["est_daily_rewards_usd"]
    _log_compliance_refusal(request.user, product, quote["blocking"], "preview", plan.product_equivalent)
    context.update(pool_quote=quote, plan=plan, pool=pool, yields=yields, legs=needs,
                   share_percent=quote["share_of_pool"] * 100, est_daily_usd=daily,
                   est_yearly_usd=(plan.value_usd * yields.apr).quantize(Decimal("0.01")),
                   quote_advice=_quote_advice(request.user, product, quote["blocking"], needs),
                   blocking=quote["blocking"], idempotency_key=uuid.uuid4().hex,
                   deposit_amount=plan.amount_a if plan.asset_in == pool.asset_a_id else plan.amount_b)
    return render(request, "portal/pool_subscribe_preview.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def subscribe(request: AuthenticatedHttpRequest, product_id: int) -> HttpResponse:
    """One page per step: acknowledge the disclosure, enter the amount, preview, confirm (with a code).

    A customer the gate blocks outright (restricted country, cooling-off, …) is refused at the first step with the
    reason and what to do, whatever step they post; the attempt is logged once per product, reason and day."""
    product = _visible_product(product_id, request.user, offered_only=True)
    user = request.user
    step = request.POST.get("step", "")
    context = _product_context(request, product)
    if context.get("blocks"):
        blocked_attempt_record(user=user, product_id=product.pk, codes=context["blocks"],
                               step=step if step in ("acknowledge", "preview", "confirm") else "start",
                               amount=_safe_amount(request.POST.get("amount")))
        return render(request, "portal/subscribe_blocked.html", context)
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
    form = AmountForm(request.POST if step in ("preview", "confirm") else None)
    pool = product.strategy == Strategy.LIQUIDITY_MINING
    context.update(form=form, has_2fa=user_has_2fa(user), available=_available(user, product.asset_id),
                   fixed=product.term_type == TermType.FIXED, is_pool=pool)
    if pool:
        context.update(_pool_pair(product))
    else:
        context.update(_estimate_inputs(user, product, context["entry"], context["available"]))
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
                # subscription_submit has logged the refusal (every confirm refused is kept).
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
            if pool:
                return _pool_preview(request, product, context, amount)
            quote = subscription_quote(user=user, product=product, amount=amount)
        except ApplicationError as exc:
            form.add_error("amount", exc.message)
        else:
            _log_compliance_refusal(user, product, quote.blocking, "preview", quote.amount)
            context.update(quote=quote, quote_advice=_quote_advice(
                               user, product, quote.blocking, [(product.asset_id, quote.amount, product.asset.scale)]),
                           idempotency_key=request.POST.get("idempotency_key") if step == "confirm"
                           else uuid.uuid4().hex, auto_renew=auto_renew)
            return render(request, "portal/subscribe_preview.html", context)
    return render(request, "portal/subscribe.html", context)


def _estimate_inputs(user: Any, product: Product, entry: dict[str, Any], available: Any) -> dict[str, Any]:
    """What the subscribe form's live estimate and Max button need: tiers, day count, what is held, the most
    the customer can subscribe now (balance, maximum and quotas, at the asset's scale)."""
    import json

    from earn.selectors.positions import user_principal

    tiers = entry.get("apr_tiers") or []
    held = user_principal(user, product) if product.term_type == TermType.DEMAND else Decimal(0)
    limits = [Decimal(str(available or 0))] + [Decimal(str(entry[k])) for k in ("max_amount", "user_left_quota")
                                               if entry.get(k) is not None]
    most = max(min(limits), Decimal(0))
    from portal.templatetags.portal_tags import display_places

    places = display_places(product.asset_id, product.asset.scale)
    return {"max_amount": decimal_text(most, product.asset.scale) if most > 0 else "",
            "estimate": {"tiers": json.dumps([[str(t["min"]), None if t["max"] is None else str(t["max"]),
                                               str(t["apr"])] for t in tiers]),
                         "basis": entry.get("day_count_basis") or 365, "held": str(held),
                         "days": (entry.get("term_days") or 0) if product.term_type == TermType.FIXED else 0,
                         "places": places}}


def _log_compliance_refusal(user: Any, product: Product, codes: list[str], step: str, amount: Any) -> None:
    """A preview or confirm stopped by a compliance reason (e.g. the exposure limit) goes to the refusals log,
    once per product, reason and day."""
    logged = [c for c in codes if c in LOGGED_AT_PREVIEW]
    if logged:
        blocked_attempt_record(user=user, product_id=product.pk, codes=logged, step=step,
                               amount=_safe_amount(str(amount)))


def _pool_pair(product: Product) -> dict[str, Any]:
    from pools.selectors import pool_for_product

    pool = pool_for_product(product)
    if pool is None:
        return {}
    other = pool.asset_b_id if pool.asset_a_id == product.asset_id else pool.asset_a_id
    return {"pool_other_asset": other}
