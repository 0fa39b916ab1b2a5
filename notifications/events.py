"""Hooks the money services call inside their transaction; each sends after the commit.

Keys are one per event (`subscription:<id>`, `redemption:<id>`, `refusal:<id>` …), so a
replayed request or a re-run job never notifies twice.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import translation

from core.money import decimal_text
from core.refusals import message_for
from earn.models import Product
from notifications import messages
from notifications.models import NotificationKind
from notifications.services import notification_send_on_commit

# Refusals the customer can do something about (the others are the product's state or their country).
ACTIONABLE_CODES = ("NO_ACK", "ACK_OUTDATED", "ASSESSMENT_REQUIRED", "ASSESSMENT_FAILED", "INSUFFICIENT_BALANCE",
                    "COOLING_OFF")


def _names(product: Any) -> dict[str, str]:
    return {"en": product.name_en, "zh-hant": product.name_zh_hant or product.name_en}


def _lazy_by_language(text: Any, params: dict[str, Any]) -> dict[str, str]:
    """A translatable sentence rendered now in both languages (stored per customer language later)."""
    out = {}
    for language in ("en", "zh-hant"):
        with translation.override(language):
            values = {k: (v.get(language) or v.get("en")) if isinstance(v, dict) else v for k, v in params.items()}
            out[language] = str(text) % values
    return out


def subscription_confirmed(subscription: Any) -> None:
    product = subscription.product
    scale = product.asset.scale
    maturity = ({"en": "", "zh-hant": ""} if subscription.maturity_date is None else
                _lazy_by_language(messages.MATURITY_WITH_DATE, {"maturity_date": subscription.maturity_date}))
    notification_send_on_commit(
        user_id=subscription.user_id, kind=NotificationKind.SUBSCRIPTION_CONFIRMED,
        key=f"subscription:{subscription.pk}", link=reverse("portal:dashboard"),
        params={"product": _names(product), "amount": decimal_text(subscription.amount, scale),
                "asset": product.asset_id, "value_date": subscription.value_date, "maturity_sentence": maturity})


def pool_deposit_confirmed(deposit: Any, *, pool: Any, position: Any, value_date: Any) -> None:
    """A pool deposit is the pool product's subscription: the same confirmation, with both legs and the shares."""
    product = pool.product
    maturity = ({"en": "", "zh-hant": ""} if position.maturity_date is None else
                _lazy_by_language(messages.MATURITY_WITH_DATE, {"maturity_date": position.maturity_date}))
    notification_send_on_commit(
        user_id=position.user_id, kind=NotificationKind.POOL_DEPOSIT_CONFIRMED, key=f"pool-deposit:{deposit.pk}",
        link=reverse("portal:dashboard"),
        params={"product": _names(product), "amount_a": decimal_text(deposit.amount_a, pool.asset_a.scale),
                "asset_a": pool.asset_a_id, "amount_b": decimal_text(deposit.amount_b, pool.asset_b.scale),
                "asset_b": pool.asset_b_id, "shares": decimal_text(deposit.shares, pool.share_asset.scale),
                "value_date": value_date, "maturity_sentence": maturity})


def redemption_confirmed(redemption: Any) -> None:
    position = redemption.position
    product = position.product
    scale = product.asset.scale
    when = (_lazy_by_language(messages.WHEN_NOW, {}) if redemption.settles_at is None else
            _lazy_by_language(messages.WHEN_SETTLES, {"date": redemption.settles_at.date()}))
    forfeit = ({"en": "", "zh-hant": ""} if not redemption.forfeited else
               _lazy_by_language(messages.FORFEIT, {"forfeited": decimal_text(redemption.forfeited, scale),
                                                    "asset": product.asset_id}))
    notification_send_on_commit(
        user_id=position.user_id, kind=NotificationKind.REDEMPTION_CONFIRMED, key=f"redemption:{redemption.pk}",
        link=reverse("portal:position", args=[position.pk]),
        params={"product": _names(product), "amount": decimal_text(redemption.amount, scale),
                "payout": decimal_text(redemption.payout, scale), "asset": product.asset_id, "when": when,
                "forfeit_sentence": forfeit})


def refusal_recorded(refusal: Any) -> None:
    """Tell the customer what to do about a refusal they can act on (acknowledge, assess, fund …)."""
    codes = [c for c in refusal.codes if c in ACTIONABLE_CODES]
    product = Product.objects.select_related("asset").filter(pk=refusal.product_id).first() if codes else None
    if product is None:
        return
    reasons = {}
    for language in ("en", "zh-hant"):
        with translation.override(language):
            reasons[language] = " ".join(message_for(c, c) for c in codes)
    notification_send_on_commit(
        user_id=refusal.user_id, kind=NotificationKind.ACTION_REQUIRED, key=f"refusal:{refusal.pk}",
        link=reverse("portal:product", args=[product.pk]),
        params={"product": _names(product),
                "amount": "" if refusal.amount is None else f"{decimal_text(refusal.amount, product.asset.scale)} "
                                                             f"{product.asset_id}",
                "reasons": reasons})
