"""What each kind of notification says (translatable; filled with the event's details)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from notifications.models import NotificationKind as K

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

SUBJECTS: dict[str, StrOrPromise] = {
    K.SUBSCRIPTION_CONFIRMED: _("Subscription confirmed: %(product)s"),
    K.REDEMPTION_CONFIRMED: _("Redemption confirmed: %(product)s"),
    K.MATURITY_UPCOMING: _("Your %(product)s position matures on %(maturity_date)s"),
    K.RATE_CHANGED: _("New rate for %(product)s from %(effective_from)s"),
    K.DISCLOSURE_UPDATED: _("Please read the new risk disclosure for %(product)s"),
    K.ACTION_REQUIRED: _("Action needed to subscribe to %(product)s"),
    K.POOL_DEPOSIT_CONFIRMED: _("Pool deposit confirmed: %(product)s"),
    K.IL_ALERT: _("Price move in %(product)s: impermanent loss %(il_percent)s"),
    K.STAFF_IL_ALERT: _("IL alert %(date)s: %(product)s at %(il_percent)s (threshold %(threshold_percent)s)"),
    K.STAFF_EXPOSURE_BREACH: _("Exposure limit breached %(date)s: %(name)s at %(utilisation)s of its limit"),
    K.LAUNCH_ALLOCATED: _("Your allocation in %(product)s"),

    K.STATEMENT_READY: _("Your Earn statement for %(month)s"),
}

BODIES: dict[str, StrOrPromise] = {
    K.SUBSCRIPTION_CONFIRMED: _(
        "You subscribed %(amount)s %(asset)s to %(product)s. It starts earning on %(value_date)s."
        "%(maturity_sentence)s"),
    K.REDEMPTION_CONFIRMED: _(
        "You redeemed %(amount)s %(asset)s from %(product)s. You receive %(payout)s %(asset)s"
        " (%(when)s).%(forfeit_sentence)s"),
    K.MATURITY_UPCOMING: _(
        "Your %(principal)s %(asset)s in %(product)s matures on %(maturity_date)s. %(renewal_sentence)s"),
    K.RATE_CHANGED: _(
        "The rate of %(product)s changes to %(apr)s APR from %(effective_from)s. Your flexible balance earns the "
        "new rate from that day."),
    K.DISCLOSURE_UPDATED: _(
        "Version %(version)s of the risk disclosure for %(product)s has been published. Your positions keep "
        "running; read and acknowledge it before your next subscription."),
    K.ACTION_REQUIRED: _("Your subscription of %(amount)s to %(product)s was refused: %(reasons)s"),
    K.POOL_DEPOSIT_CONFIRMED: _(
        "You deposited %(amount_a)s %(asset_a)s and %(amount_b)s %(asset_b)s into %(product)s for %(shares)s pool "
        "shares. They earn fees and rewards from %(value_date)s.%(maturity_sentence)s"),
    K.IL_ALERT: _(
        "The price of %(asset_a)s against %(asset_b)s has moved by a factor of %(ratio)s since your deposit into "
        "%(product)s. Your pool shares are now worth %(il_percent)s less than simply holding the assets you "
        "deposited (about %(loss_usd)s USD at the prices of %(date)s), before the fees and rewards you have earned. "
        "The loss is realised only if you redeem while prices stay apart. You can redeem or keep your position; "
        "the risk disclosure explains impermanent loss."),
    K.STAFF_IL_ALERT: _(
        "%(product)s (%(pair)s): on %(date)s, %(positions)s positions of %(holders)s customers were past the "
        "impermanent-loss alert threshold of %(threshold_percent)s; the worst is %(il_percent)s. Prices: "
        "%(asset_a)s %(price_a)s USD, %(asset_b)s %(price_b)s USD. The holders have been notified."),
    K.STAFF_EXPOSURE_BREACH: _(
        "%(kind)s %(name)s: customers' assets in its products are worth %(exposure_usd)s USD against a limit of "
        "%(limit_usd)s USD (%(utilisation)s) on %(date)s. Products: %(products)s. See the exposure page."),
    K.LAUNCH_ALLOCATED: _(
        "The launch of %(product)s has been allocated. Of the %(committed)s %(asset)s you committed, %(allocated)s "
        "%(asset)s now earn in your position and %(refunded)s %(asset)s are back in your available balance."),

    K.STATEMENT_READY: _("Your statement for %(month)s is ready: balances, subscriptions, redemptions, interest "
                         "and rewards by product, as PDF and CSV."),
}

MATURITY_WITH_DATE = _(" It matures on %(maturity_date)s.")
RENEWS = _("It will renew automatically at the terms then in force.")
RETURNS = _("Your principal and interest return to your available balance.")
FORFEIT = _(" Interest forfeited under the early-redemption rule: %(forfeited)s %(asset)s.")
WHEN_NOW = _("paid now")
WHEN_SETTLES = _("settles on %(date)s")
