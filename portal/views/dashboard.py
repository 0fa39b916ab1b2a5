"""Dashboard, positions (auto-renew, redemption with the exact amount first), history and the inbox."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.twofactor import otp_require, user_has_2fa
from compliance.selectors import warnings_for
from core.dates import day_end, day_start
from core.errors import ApplicationError
from earn.interest import blended_apr
from earn.models import Accrual, PositionStatus, Redemption, TermType
from earn.selectors.positions import tiers_of
from earn.selectors.products import terms_in_force
from earn.services.position_switches import position_set_auto_compound, position_set_auto_renew
from earn.services.redemptions import redemption_plan, redemption_submit
from ledger.selectors import balance_list, posting_list
from notifications.selectors import inbox as inbox_rows
from notifications.services import notification_mark_read
from pools.models import PoolPositionStatus
from pools.selectors import pool_positions_for, position_value
from portal.charts import Series, cumulative, line_chart
from portal.forms import HistoryForm, RedeemForm
from portal.refusals import advise
from portal.selectors import (
    closed_positions,
    dashboard_positions,
    earnings_by_asset,
    next_payout,
    portfolio_usd,
    position_for_user,
    prices_with_time,
    yesterday_accruals,
)
from pricing.selectors import latest_prices

if TYPE_CHECKING:
    from accounts.models import User
    from accounts.requests import AuthenticatedHttpRequest
    from earn.models import Position

CHART_DAYS = 90
POSITIONS_PER_PAGE = 50  # a page of 50 rows renders in ~40 ms; 1 000 rows took ~0.5 s (bench/portal_bench.py)


def _today() -> dt.date:
    return timezone.localtime(timezone.now(), dt.UTC).date()


def _name(product: Any, request: HttpRequest) -> str:
    return product.name_for(getattr(request, "LANGUAGE_CODE", "en") or "en")


def earnings_charts(user: User, *, today: dt.date, days: int = CHART_DAYS) -> list[str]:
    """One chart per asset (amounts of different assets share no axis): cumulative interest by day."""
    start = today - dt.timedelta(days=days)
    by_asset = earnings_by_asset(user, start=start, end=today)
    title = _("Interest earned over the last %(days)s days") % {"days": days}
    return [line_chart([Series(asset, cumulative(points))], title=f"{title} ({asset})", empty_text="",
                       y_label=_("cumulative interest, %(asset)s") % {"asset": asset})
            for asset, points in sorted(by_asset.items())]


@login_required
@require_safe
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Balances, positions (principal, accrued, paid, next payout, maturity, auto-renew), earnings chart."""
    user = request.user
    today = _today()
    page = Paginator(dashboard_positions(user), POSITIONS_PER_PAGE).get_page(request.GET.get("page"))
    positions: list[Any] = list(page)  # decorated below for the template
    yesterday = yesterday_accruals(user, today - dt.timedelta(days=1))
    for position in positions:
        position.next_payout = next_payout(position, today)
        position.display_name = _name(position.product, request)
        # What people read first: the rate it earns now, yesterday's interest and everything earned so far.
        position.apr = blended_apr(position.principal, tiers_of(position.terms))
        position.yesterday = yesterday.get(position.pk, (None, None))[0]
        position.earned = position.paid_interest + position.accrued_interest
    closed: list[Any] = list(closed_positions(user))
    for position in closed:
        position.display_name = _name(position.product, request)
    balances = list(balance_list(user_id=user.pk))
    pools = _pool_rows(request)
    prices, priced_at = prices_with_time(sorted({b["asset_code"] for b in balances}))
    total_usd, unpriced = portfolio_usd(balances, pools, prices)
    return render(request, "portal/dashboard.html", {
        "balances": balances, "any_committed": any(b["committed"] for b in balances),
        "positions": positions, "page": page, "closed": closed,
        "pool_positions": pools, "total_usd": total_usd, "priced_at": priced_at, "unpriced": unpriced,
        "charts": earnings_charts(user, today=today), "notifications": list(inbox_rows(user)[:5]),
        **_rate_warnings(request),
    })


def _pool_rows(request: AuthenticatedHttpRequest) -> list[Any]:
    """Active pool positions valued at the latest prices (one price query for all of them)."""
    rows: list[Any] = list(pool_positions_for(request.user).filter(status=PoolPositionStatus.ACTIVE))
    codes = sorted({code for row in rows for code in (row.pool.asset_a_id, row.pool.asset_b_id)})
    prices = latest_prices(codes) if codes else {}
    for row in rows:
        row.value = position_value(row, prices)
        row.display_name = _name(row.product, request)
    return rows


def _rate_warnings(request: AuthenticatedHttpRequest) -> dict[str, Any]:
    """The prescribed risk warning where the customer's country needs one (FCA: every page showing rates)."""
    warnings = warnings_for(request.user, language=getattr(request, "LANGUAGE_CODE", None))
    return {"warnings": [warnings["risk_warning"]] if warnings["risk_warning"] else [],
            "learn_more_url": warnings["learn_more_url"]}


def _position_or_404(request: AuthenticatedHttpRequest, position_id: int) -> Any:
    position: Any = position_for_user(request.user, position_id)
    if position is None:
        raise Http404
    position.display_name = _name(position.product, request)
    return position


@login_required
@require_safe
def position_detail(request: AuthenticatedHttpRequest, position_id: int) -> HttpResponse:
    position = _position_or_404(request, position_id)
    position.next_payout = next_payout(position, _today())
    return render(request, "portal/position.html", {
        "position": position,
        "accruals": list(Accrual.objects.filter(position=position).order_by("-date")[:30]),
        "redemptions": list(Redemption.objects.filter(position=position).order_by("-id")[:20]),
        "redeemable": position.status == PositionStatus.ACTIVE and position.principal > 0,
        **_rate_warnings(request),
    })


# The position switches the dashboard offers: auto-renew (fixed) and auto-compound (flexible).
SWITCHES: dict[str, tuple[Callable[..., Position], str, str]] = {
    "auto_renew": (position_set_auto_renew, _("Auto-renew is on."), _("Auto-renew is off.")),
    "auto_compound": (position_set_auto_compound, _("Auto-compound is on: interest joins your principal daily."),
                      _("Auto-compound is off: interest is paid to your balance daily.")),
}


@login_required
@require_POST
def position_switch(request: AuthenticatedHttpRequest, position_id: int, switch: str = "auto_renew") -> HttpResponse:
    _position_or_404(request, position_id)
    service, on_message, off_message = SWITCHES[switch]
    wanted = request.POST.get(switch) == "on"
    try:
        service(user=request.user, position_id=position_id, **{switch: wanted})
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, on_message if wanted else off_message)
    next_url = request.POST.get("next")
    return redirect(next_url if next_url in (reverse("portal:dashboard"),) else
                    reverse("portal:position", args=[position_id]))


def _modes(position: Any) -> list[str]:
    if position.term_type == TermType.FIXED:
        return ["fast", "standard"]
    terms = terms_in_force(position.product, _today()) or position.terms
    return list(terms.redemption_modes) or ["fast", "standard"]


@login_required
@require_http_methods(["GET", "POST"])
def redeem(request: AuthenticatedHttpRequest, position_id: int) -> HttpResponse:
    """Fast, standard or early redemption: the exact amount returned is shown before confirming."""
    position = _position_or_404(request, position_id)
    step = request.POST.get("step", "")
    form = RedeemForm(request.POST if step else None)
    modes = _modes(position)
    mode_field = cast(forms.ChoiceField, form.fields["mode"])
    pairs = cast(list[tuple[str, str]], mode_field.choices)  # read back normalised: (value, label) pairs
    mode_field.choices = [c for c in pairs if c[0] in modes]
    context: dict[str, Any] = {"position": position, "form": form, "has_2fa": user_has_2fa(request.user),
                               "fixed": position.term_type == TermType.FIXED}
    if step in ("preview", "confirm") and form.is_valid():
        amount = (form.cleaned_data["amount"] or "").strip() or None
        mode = form.cleaned_data["mode"]
        if step == "confirm":
            try:
                otp_require(user=request.user, code=request.POST.get("otp"))
                _status, body, _replayed = redemption_submit(
                    user=request.user, position_id=position.pk, amount=amount, mode=mode,
                    idempotency_key=request.POST.get("idempotency_key"), render=lambda r: {"id": r.pk})
            except ApplicationError as exc:
                context["refusal"] = advise([exc.code], message=exc.message)
            else:
                messages.success(request, _("Redemption confirmed."))
                return redirect("portal:position", position_id=position.pk)
        try:
            plan = redemption_plan(position=position, amount=amount, mode=mode)
        except ApplicationError as exc:
            context["refusal"] = advise([exc.code], message=exc.message)
        else:
            context.update(plan=plan, amount=amount or "", mode=mode,
                           idempotency_key=request.POST.get("idempotency_key") if step == "confirm"
                           else uuid.uuid4().hex)
            return render(request, "portal/redeem_preview.html", context)
    return render(request, "portal/redeem.html", context)


@login_required
@require_safe
def history(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every posting in any date range, 50 a page; the CSV link streams the same rows from the API."""
    form = HistoryForm(request.GET or None)
    start = end = None
    asset = None
    if form.is_valid():
        start, end, asset = form.cleaned_data["start"], form.cleaned_data["end"], form.cleaned_data["asset"]
    postings = posting_list(
        user_id=request.user.pk,
        start=day_start(start) if start else None,
        end=day_end(end) if end else None,  # to=9999-12-31 overflowed (500)
        asset=(asset or "").upper() or None)
    page = Paginator(postings, 50).get_page(request.GET.get("page"))
    query = {k: v for k, v in {"from": start and start.isoformat(), "to": end and end.isoformat(),
                               "asset": (asset or "").upper()}.items() if v}
    csv_url = f"{reverse('ledger-entry-list')}?{urlencode({**query, 'format': 'csv'})}"
    # QueryDict.items() gives each key's last value, a str (the stubs allow MultiValueDict's empty list)
    filters = urlencode({k: v for k, v in request.GET.items() if k != "page"})  # type: ignore[arg-type]
    return render(request, "portal/history.html", {"form": form, "page": page, "csv_url": csv_url,
                                                   "filters": filters})


@login_required
@require_http_methods(["GET", "POST"])
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        notification_mark_read(user=request.user)
        return redirect("portal:inbox")
    page = Paginator(inbox_rows(request.user), 25).get_page(request.GET.get("page"))
    return render(request, "portal/inbox.html", {"page": page})


@login_required
@require_POST
def inbox_read(request: AuthenticatedHttpRequest, notification_id: int) -> HttpResponse:
    rows = inbox_rows(request.user).filter(pk=notification_id)
    notification = rows.first()
    if notification is None:
        raise Http404
    notification_mark_read(user=request.user, notification_id=notification.pk)
    return redirect(notification.link or "portal:inbox")
