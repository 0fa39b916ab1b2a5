"""Redeeming pool shares in the portal: both assets back at today's reserves, shown before confirming."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.twofactor import otp_require, user_has_2fa
from core.errors import ApplicationError
from pools.selectors import business_day, pool_positions_for
from pools.services.redemptions import pool_redeem_submit, withdrawal_plan
from portal.refusals import advise

if TYPE_CHECKING:
    from accounts.requests import AuthenticatedHttpRequest


class PoolRedeemForm(forms.Form):
    shares = forms.CharField(label=gettext_lazy("Pool shares"), max_length=64, required=False,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))


@login_required
@require_http_methods(["GET", "POST"])
def pool_redeem(request: AuthenticatedHttpRequest, position_id: int) -> HttpResponse:
    """Burn (some of) the customer's pool shares; the preview shows both amounts and the result against holding."""
    position = pool_positions_for(request.user).filter(pk=position_id).first()
    if position is None:
        raise Http404
    pool = position.pool
    step = request.POST.get("step", "")
    form = PoolRedeemForm(request.POST if step else None)
    context: dict[str, Any] = {"position": position, "pool": pool, "form": form,
                               "has_2fa": user_has_2fa(request.user),
                               "name": position.product.name_for(getattr(request, "LANGUAGE_CODE", "en") or "en")}
    if step in ("preview", "confirm") and form.is_valid():
        shares = (form.cleaned_data["shares"] or "").strip() or None
        if step == "confirm":
            try:
                otp_require(user=request.user, code=request.POST.get("otp"))
                pool_redeem_submit(user=request.user, position_id=position.pk, shares=shares,
                                   idempotency_key=request.POST.get("idempotency_key"),
                                   render=lambda withdrawal: {"id": withdrawal.pk})
            except ApplicationError as exc:
                context["refusal"] = advise([exc.code], message=exc.message)
            else:
                messages.success(request, _("Redemption confirmed."))
                return redirect("portal:dashboard")
        try:
            plan = withdrawal_plan(position, pool, shares=shares, today=business_day())
        except ApplicationError as exc:
            context["refusal"] = advise([exc.code], message=exc.message)
        else:
            vs = (None if plan.value_usd is None or plan.hold_value_usd is None
                  else plan.value_usd - plan.hold_value_usd)
            context.update(plan=plan, vs_hold=vs, shares=shares or "",
                           idempotency_key=request.POST.get("idempotency_key") if step == "confirm"
                           else uuid.uuid4().hex)
            return render(request, "portal/pool_redeem_preview.html", context)
    return render(request, "portal/pool_redeem.html", context)
