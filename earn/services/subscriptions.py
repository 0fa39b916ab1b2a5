"""Subscribing: one transaction that gates, reserves caps, moves money and opens or grows a position.

Lock order (shared with redemptions and settlement): the product row (taken by the conditional
UPDATE that reserves the cap), then the position row, then ledger accounts by ascending id. The
product lock also serialises a customer's concurrent subscriptions, which keeps the per-user cap
exact without a read-check-write race.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.gate import blocking_codes
from compliance.services.acknowledgements import refusal_record
from core.audit import audit_record
from core.errors import NotFound
from core.idempotency import idempotent
from core.money import floor_to_scale, parse_amount, to_decimal
from core.refusals import message_for
from earn import errors, extensions, signals
from earn.apy import apy_for
from earn.calendar import business_day, maturity_date_for, value_date_for
from earn.interest import blended_apr, daily_exact
from earn.models import (
    Position,
    PositionChange,
    PositionStatus,
    Product,
    ProductStatus,
    ProductTerms,
    Subscription,
    TermType,
)
from earn.refusals import DEFAULT_MESSAGE
from earn.selectors.positions import tiers_of, user_principal
from earn.selectors.products import catalogue_product, terms_in_force
from ledger import services as ledger
from ledger.errors import InsufficientBalance
from ledger.models import AccountKind, EntryKind


def business_today() -> dt.date:
    return business_day(timezone.now())


@dataclass(frozen=True)
class Quote:
    product: Product
    terms: ProductTerms | None
    amount: Decimal
    value_date: dt.date
    maturity_date: dt.date | None
    apr: Decimal
    apy: Decimal
    est_daily_interest: Decimal
    est_total_interest: Decimal | None
    blocking: list[str]


def _static_blockers(user: Any, product: Product, terms: ProductTerms | None, amount: Decimal,
                     now: dt.datetime) -> list[str]:
    """Every refusal that can be decided without taking a lock, in API.md's order."""
    codes = blocking_codes(user, product, amount=amount)
    if product.status != ProductStatus.LIVE or terms is None:
        codes.append(errors.PRODUCT_NOT_LIVE)
        return codes
    if (terms.window_start and now < terms.window_start) or (terms.window_end and now >= terms.window_end):
        codes.append(errors.OUTSIDE_WINDOW)
    if amount < terms.min_amount:
        codes.append(errors.BELOW_MIN)
    if terms.max_amount is not None and amount > terms.max_amount:
        codes.append(errors.ABOVE_MAX)
    return codes


def subscription_quote(*, user: Any, product: Product, amount: Any) -> Quote:
    """What a subscription would do now, and every reason that would refuse it (nothing is written)."""
    now = timezone.now()
    amount = parse_amount(amount, scale=product.asset.scale)
    terms = terms_in_force(product, now.date())
    codes = _static_blockers(user, product, terms, amount, now)
    value_date = value_date_for(now)
    if terms is None:
        return Quote(product, None, amount, value_date, None, Decimal(0), Decimal(0), Decimal(0), None, codes)
    held = user_principal(user, product)
    if terms.per_user_cap is not None and held + amount > terms.per_user_cap:
        codes.append(errors.USER_CAP_REACHED)
    if product.total_cap is not None and product.sold_amount + amount > product.total_cap:
        codes.append(errors.CAP_REACHED)
    available = ledger.account_for(owner_id=user.pk, asset=product.asset_id, kind=AccountKind.AVAILABLE).balance
    if available < amount:
        codes.append(errors.INSUFFICIENT_BALANCE)
    tiers = tiers_of(terms)
    demand = product.term_type == TermType.DEMAND
    existing = held if demand else Decimal(0)
    daily = (daily_exact(existing + amount, tiers, terms.day_count_basis)
             - daily_exact(existing, tiers, terms.day_count_basis))
    scale = product.asset.scale
    maturity = maturity_date_for(value_date, terms.term_days) if not demand and terms.term_days else None
    total = None if demand else floor_to_scale(daily * (terms.term_days or 0), scale)
    apr = blended_apr(existing + amount, tiers)
    return Quote(product, terms, amount, value_date, maturity, apr, apy_for(apr, compounding=demand),
                 floor_to_scale(daily, scale), total, codes)


def _reserve_cap(product_id: int, amount: Decimal) -> bool:
    """Conditional UPDATE: adds to sold only if the product is live and the cap has room."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE earn_product SET sold_amount = sold_amount + %s
             WHERE id = %s AND status = 'live' AND (total_cap IS NULL OR sold_amount + %s <= total_cap)
            """,
            [amount, product_id, amount],
        )
        return cursor.rowcount == 1


@transaction.atomic
def subscription_create(*, user: Any, product_id: int, amount: Any, auto_renew: bool = False) -> Subscription:
    """Subscribe `amount` of the product's asset; raises SubscriptionRefused with reason codes."""
    product = catalogue_product(product_id=product_id, user=user)
    if product is None:  # not published and not held: customers do not know it exists
        raise NotFound(_("No such product."), field="product")
    amount = parse_amount(amount, scale=product.asset.scale)
    now = timezone.now()
    terms = terms_in_force(product, now.date())
    codes = _static_blockers(user, product, terms, amount, now)
    if codes:
        raise errors.SubscriptionRefused(_refusal_message(codes[0]), codes=codes, field="amount")
    assert terms is not None
    demand = product.term_type == TermType.DEMAND
    if auto_renew and (demand or not terms.auto_renew_allowed):
        raise errors.InvalidAmount(_("Auto-renew is not available for this product."), field="auto_renew")
    if not _reserve_cap(product.pk, amount):
        status = Product.objects.values_list("status", flat=True).get(pk=product.pk)
        code = errors.PRODUCT_NOT_LIVE if status != ProductStatus.LIVE else errors.CAP_REACHED
        raise errors.SubscriptionRefused(_refusal_message(code), codes=[code], field="amount")
    # The product row is now locked until commit: per-user holdings cannot change under us.
    if terms.per_user_cap is not None and user_principal(user, product) + amount > terms.per_user_cap:
        raise errors.SubscriptionRefused(_refusal_message(errors.USER_CAP_REACHED), codes=[errors.USER_CAP_REACHED],
                                         field="amount")
    value_date = value_date_for(now)
    maturity = None if demand else maturity_date_for(value_date, terms.term_days)
    position = _position_for(user=user, product=product, terms=terms, value_date=value_date, maturity=maturity,
                             auto_renew=auto_renew, now=now)
    Position.objects.filter(pk=position.pk).update(principal=F("principal") + amount)
    position.principal += amount
    subscription = Subscription.objects.create(user=user, product=product, position=position, terms=terms,
                                               amount=amount, value_date=value_date, maturity_date=maturity,
                                               created_at=now)
    PositionChange.objects.create(position=position, effective_date=value_date, amount=amount,
                                  reason=PositionChange.Reason.SUBSCRIPTION, created_at=now)
    accounts = ledger.accounts_ensure([(user.pk, product.asset_id, AccountKind.AVAILABLE),
                                       (user.pk, product.asset_id, AccountKind.EARN)])
    try:
        ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key=f"subscription:{subscription.pk}",
                        debit=accounts[(user.pk, product.asset_id, AccountKind.AVAILABLE)],
                        credit=accounts[(user.pk, product.asset_id, AccountKind.EARN)],
                        amount=amount, reference=f"position:{position.pk}")
    except InsufficientBalance as exc:
        raise errors.SubscriptionRefused(_refusal_message(errors.INSUFFICIENT_BALANCE),
                                         codes=[errors.INSUFFICIENT_BALANCE], field="amount") from exc
    audit_record(actor=user, action="subscription.create", obj=subscription,
                 after={"product": product.pk, "position": position.pk, "amount": amount,
                        "terms_version": terms.version, "value_date": value_date, "maturity_date": maturity})
    signals.subscription_confirmed.send(sender=Subscription, subscription=subscription)
    return subscription


def _position_for(*, user: Any, product: Product, terms: ProductTerms, value_date: dt.date,
                  maturity: dt.date | None, auto_renew: bool, now: dt.datetime) -> Position:
    if product.term_type == TermType.FIXED:
        return Position.objects.create(user=user, product=product, terms=terms, asset_id=product.asset_id,
                                       term_type=TermType.FIXED, value_date=value_date, maturity_date=maturity,
                                       auto_renew=auto_renew, created_at=now)
    position = Position.objects.select_for_update().filter(user=user, product=product,
                                                           term_type=TermType.DEMAND).first()
    if position is None:
        return Position.objects.create(user=user, product=product, terms=terms, asset_id=product.asset_id,
                                       term_type=TermType.DEMAND, value_date=value_date, created_at=now)
    if position.status != PositionStatus.ACTIVE:
        Position.objects.filter(pk=position.pk).update(status=PositionStatus.ACTIVE, closed_at=None)
        position.status = PositionStatus.ACTIVE
    return position


def _refusal_message(code: str) -> str:
    return message_for(code, DEFAULT_MESSAGE)


def subscription_submit(*, user: Any, product_id: int, amount: Any, auto_renew: bool, idempotency_key: str | None,
                        render: Callable[[Subscription], Any]) -> tuple[int, Any, bool]:
    """The entry point for API and portal: idempotent on the key, and refusals are recorded."""
    strategy = Product.objects.filter(pk=product_id).values_list("strategy", flat=True).first()
    handler = extensions.SUBSCRIBE_HANDLERS.get(strategy or "")
    if handler is not None:
        # A strategy registered by an app above earn (a pool takes both assets of its pair in the pool ratio).
        return handler(user=user, product_id=product_id, amount=amount, idempotency_key=idempotency_key)
    payload = {"product": product_id, "amount": str(amount), "auto_renew": bool(auto_renew)}
    try:
        return idempotent(user=user, key=idempotency_key, scope="subscriptions", payload=payload,
                          action=lambda: (201, render(subscription_create(user=user, product_id=product_id,
                                                                          amount=amount, auto_renew=auto_renew))))
    except errors.SubscriptionRefused as exc:
        refusal = refusal_record(user=user, product_id=product_id, amount=_safe_decimal(amount), codes=exc.codes,
                                 detail=exc.message)
        signals.refusal_recorded.send(sender=Subscription, refusal=refusal)
        raise


def _safe_decimal(value: Any) -> Decimal | None:
    try:
        return to_decimal(value)
    except (TypeError, ValueError):
        return None
