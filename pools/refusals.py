"""Pools' refusals (one home, core.refusals): the codes the pools app raises beside earn's."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.refusals import Refusal
from pools import errors

REFUSALS = (
    # POOL_INVALID and NO_PRICE carry the raising service's own words (which assets, which prices).
    Refusal(errors.POOL_INVALID, 400, next_step=_("Check the assets and the mode of the deposit.")),
    Refusal(errors.POOL_EMPTY, 400, _("The first deposit into a pool brings both assets."),
            _("Deposit both assets of the pair: the first deposit sets the pool's price.")),
    Refusal(errors.NO_PRICE, 409, next_step=_("Try again in a few minutes, when the pool's prices are in.")),
    # The simulator's message says how many days there are and how many it needs.
    Refusal(errors.NO_PRICE_HISTORY, 409, next_step=_("The impermanent-loss table still shows what a price move "
                                                      "would cost; the simulation opens once enough prices are in.")),
)
