"""The operations console (admin): find a customer by email, credit a deposit, run or resume accrual with its
progress, settle. Thin views over the same services the staff API calls; operations staff only (2FA enforced by
the admin's middleware, and a fresh one-time code for a deposit like the API).

Venue exposure (/admin/operations/exposure/): customers' assets per venue, protocol and counterparty against the
limits, and the recent impermanent-loss alerts; operations and compliance staff."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.requests import AuthenticatedHttpRequest
from accounts.roles import COMPLIANCE_OFFICER, OPERATIONS, user_has_role
from accounts.services import staff_customer_lookup
from core.errors import ApplicationError
from ledger.models import Asset

RUNS_SHOWN = 10
IL_ALERT_DAYS = 14


class CustomerSearchForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Customer email"), max_length=254)


class DepositForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Customer email"), max_length=254)
    asset = forms.ModelChoiceField(label=gettext_lazy("Asset"), queryset=Asset.objects.order_by("code"),
                                   to_field_name="code")
    amount = forms.DecimalField(label=gettext_lazy("Amount"), max_digits=38, decimal_places=18, min_value=0)
    reference = forms.CharField(label=gettext_lazy("Reference"), max_length=100,
                                help_text=gettext_lazy("The transfer's own reference: a repeat credits nothing."))
    otp = forms.CharField(label=gettext_lazy("Your one-time code"), max_length=16,
                          widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


def _runs() -> list[Any]:
    from earn.models import AccrualRun

    return list(AccrualRun.objects.order_by("-date")[:RUNS_SHOWN].annotate(
        chunks_total=Count("chunks"), chunks_done=Count("chunks", filter=Q(chunks__status="done")),
        rows=Sum("chunks__positions")))


def operations_console(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not user_has_role(request.user, OPERATIONS):
        raise PermissionDenied
    from earn.services.accrual import days_pending

    action = request.POST.get("action", "") if request.method == "POST" else ""
    search = CustomerSearchForm(request.GET if "email" in request.GET else None)
    deposit = DepositForm(request.POST if action == "deposit" else None)
    customer, balances = None, []
    if search.is_bound and search.is_valid():
        try:
            customer = staff_customer_lookup(actor=request.user, email=search.cleaned_data["email"])
        except ApplicationError as exc:
            search.add_error("email", exc.message)
        else:
            from ledger.selectors import balance_list

            balances = list(balance_list(user_id=customer.pk))
    if action == "deposit" and deposit.is_valid():
        return _deposit(request, deposit)
    if action in ("accrue", "settle"):
        _enqueue(request, action)
        return redirect("operations-console")
    runs = _runs()
    running = any(r.status == "running" for r in runs)
    return render(request, "admin/operations.html", {
        **admin.site.each_context(request), "title": _("Operations"), "search": search, "customer": customer,
        "balances": balances, "deposit": deposit, "runs": runs, "running": running,
        "pending_days": days_pending()[:10],
    })


def _deposit(request: AuthenticatedHttpRequest, form: DepositForm) -> HttpResponse:
    from accounts.selectors import customer_get_by_email
    from ledger.deposits import staff_deposit_create

    data = form.cleaned_data
    customer = customer_get_by_email(email=data["email"])
    if customer is None:
        form.add_error("email", _("No customer has this email address."))
    else:
        try:
            outcome = staff_deposit_create(actor=request.user, user_id=customer.pk, asset=data["asset"].code,
                                           amount=data["amount"], reference=data["reference"].strip(),
                                           otp=data["otp"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            if outcome.pending is not None:
                messages.warning(request, _("Above the four-eyes limit: the deposit waits for a second operator's "
                                            "approval (pending deposit #%(id)s).") % {"id": outcome.pending.pk})
            elif not outcome.created:
                messages.info(request, _("This reference was already credited; nothing was added."))
            else:
                messages.success(request, _("Credited %(amount)s %(asset)s to %(email)s.")
                                 % {"amount": data["amount"], "asset": data["asset"].code, "email": customer.email})
            return redirect("operations-console")
    from earn.services.accrual import days_pending

    return render(request, "admin/operations.html", {
        **admin.site.each_context(request), "title": _("Operations"), "search": CustomerSearchForm(),
        "deposit": form, "runs": _runs(), "pending_days": days_pending()[:10],
    })


def _enqueue(request: HttpRequest, action: str) -> None:
    """Accrual and settlement run in the workers, as the scheduler runs them (idempotent, resumable)."""
    from earn import tasks

    if action == "accrue":
        # The next pending day is planned and its chunks handed out; chunks lost with a worker are handed out again.
        transaction.on_commit(lambda: (tasks.accrual_sweep_task.delay(), tasks.accrual_task.delay()))
        messages.success(request, _("Accrual started: the oldest day not yet accrued runs first; progress below."))
    else:
        transaction.on_commit(lambda: tasks.settle_task.delay())
        messages.success(request, _("Settlement started: redemptions due and positions at maturity are settled."))


def exposure_console(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Exposure per venue and counterparty against its limit (breaches first), and the IL alerts of two weeks."""
    if not (user_has_role(request.user, OPERATIONS) or user_has_role(request.user, COMPLIANCE_OFFICER)):
        raise PermissionDenied
    import datetime as dt

    from django.utils import timezone

    from earn.selectors.exposure import exposure_report
    from pools.models import PoolIlAlert

    if request.method == "POST" and request.POST.get("action") == "alerts":
        from pools import tasks

        # Yesterday's alerts, as the scheduler runs them: nobody already alerted is alerted again.
        transaction.on_commit(lambda: tasks.risk_alerts_task.delay())
        messages.success(request, _("Risk alerts started for yesterday: holders and staff are notified of what "
                                    "is past its threshold or limit and was not notified yet."))
        return redirect("operations-exposure")
    report = exposure_report()
    since = timezone.now().date() - dt.timedelta(days=IL_ALERT_DAYS)
    alerts = list(PoolIlAlert.objects.filter(date__gte=since).select_related("product").order_by("-date",
                                                                                                   "product_id"))
    return render(request, "admin/exposure.html", {
        **admin.site.each_context(request), "title": _("Venue exposure"), "report": report, "alerts": alerts,
        "alert_days": IL_ALERT_DAYS, "can_edit_limits": request.user.has_perm("earn.change_exposurelimit"),
    })
