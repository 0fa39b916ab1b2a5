"""The outcome simulator on a pool product's page: a GET form (amount, holding period) and its figures.

The figures come from `pools.selectors.pool_simulation`, seeded by product, amount, period and the date of the
price data, so a reload shows the same numbers. Signed-in customers run it (as the API); the form is shown to all.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ApplicationError
from core.money import to_decimal
from earn.models import Product
from pools.selectors import SIMULATION_MAX_DAYS, pool_simulation

MIN_AMOUNT_USD, MAX_AMOUNT_USD = Decimal("0.01"), Decimal(10) ** 12


class SimulationForm(forms.Form):
    sim_amount = forms.CharField(label=gettext_lazy("Amount (USD)"), max_length=40, initial="1000",
                                 widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    sim_days = forms.IntegerField(label=gettext_lazy("Holding period (days)"), min_value=1,
                                  max_value=SIMULATION_MAX_DAYS, initial=365)

    def clean_sim_amount(self) -> Any:
        try:
            amount = to_decimal(self.cleaned_data["sim_amount"])
        except (TypeError, ValueError) as exc:
            raise forms.ValidationError(_("Enter an amount in US dollars, such as 1000.")) from exc
        if not MIN_AMOUNT_USD <= amount < MAX_AMOUNT_USD:
            raise forms.ValidationError(_("Enter an amount from 0.01 to below 10^12 US dollars."))
        return amount


def simulation_context(request: HttpRequest, product: Product) -> dict[str, Any]:
    """The form, and — when it was sent by a signed-in customer and is valid — the simulation or why there is none."""
    asked = "sim_days" in request.GET or "sim_amount" in request.GET
    form = SimulationForm(request.GET if asked else None)
    context: dict[str, Any] = {"sim_form": form, "sim_asked": asked}
    if not asked or not request.user.is_authenticated or not form.is_valid():
        return context
    try:
        context["sim"] = pool_simulation(product, form.cleaned_data["sim_amount"], form.cleaned_data["sim_days"])
    except ApplicationError as exc:  # too little price history, a price missing
        context["sim_error"] = exc.message
    return context
