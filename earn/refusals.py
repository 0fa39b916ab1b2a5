"""Earn's refusals: status, customer message and next step per reason code (one home, core.refusals).

Adding a subscription or redemption rule: a code constant in earn/errors.py, the rule in its service, and
its `Refusal` here. API status, portal advice, notifications and pools read it from the registry.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.refusals import Refusal
from earn import errors

_HOME = {"next_url_name": "portal:home", "link_text": _("Earn products")}

# 409 for state conflicts (API.md), 400 for bad amounts, 403 when a one-time code is missing.
REFUSALS = (
    Refusal(errors.PRODUCT_NOT_LIVE, 409, _("This product is not open for subscriptions."),
            _("Choose another product from the Earn home page."), **_HOME),
    Refusal(errors.OUTSIDE_WINDOW, 409, _("This product's subscription window is closed."),
            _("Choose another product, or come back when the window opens."), **_HOME),
    Refusal(errors.BELOW_MIN, 400, _("The amount is below this product's minimum."),
            _("Enter at least the minimum amount shown in the product's rules.")),
    Refusal(errors.ABOVE_MAX, 400, _("The amount is above this product's maximum per subscription."),
            _("Enter at most the maximum shown in the product's rules, or subscribe in several parts.")),
    Refusal(errors.USER_CAP_REACHED, 409, _("This would exceed your personal limit for this product."),
            _("Enter a smaller amount: it must fit within your personal limit left.")),
    Refusal(errors.CAP_REACHED, 409, _("This product has no room left for this amount."),
            _("Enter a smaller amount, or choose another product.")),
    Refusal(errors.INSUFFICIENT_BALANCE, 409, _("Your available balance is too low for this amount."),
            _("Enter a smaller amount, or add funds to your available balance first."),
            next_url_name="portal:dashboard", link_text=_("Your balances")),
    Refusal(errors.EARLY_REDEMPTION_NOT_ALLOWED, 409, _("Early redemption is not allowed for this product."),
            _("This position returns your money automatically on its maturity date.")),
    # Redemptions.
    Refusal(errors.POSITION_CLOSED, 409, _("This position has nothing left to redeem."),
            _("This position is closed; its money is back in your balance."),
            next_url_name="portal:dashboard", link_text=_("Your balances")),
    Refusal(errors.POSITION_MATURED, 409, _("This position has matured and is being settled."),
            _("Nothing to do: the position pays out automatically once it is settled.")),
    Refusal(errors.MODE_NOT_AVAILABLE, 400, _("This product does not offer that redemption mode."),
            _("Choose one of the redemption modes the product offers.")),
)

# The message for a code that has none of its own (a subscription refused for an unregistered reason).
DEFAULT_MESSAGE = _("The subscription was refused.")
