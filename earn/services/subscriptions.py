"""Subscribing: one transaction that gates, opens or grows a position, moves money and reserves the cap.

Lock order (shared with redemptions, settlement and the accrual's compounding): the customer's advisory
lock of the gate's exposure check (countries with an exposure limit), then the position row, then ledger
accounts by ascending id, and the product row LAST: the conditional UPDATE that reserves the cap is
the last write before commit, so the one lock every subscriber to a product queues on is held only from
there to commit. It is a plain UPDATE of a counter (FOR NO KEY UPDATE), which foreign-key checks of other
transactions (FOR KEY SHARE) never wait for.

The per-user cap stays exact without the product lock: a demand position is one row per customer and
product, grown by an upsert that locks it and returns the new principal. Fixed-term lots are separate
rows; the reservation's UPDATE also requires the customer's lots (this one included) to fit the cap, and
it runs after the customer's ledger accounts are locked, which serialises their subscriptions in the
asset: its snapshot holds every lot of theirs that committed.

A successful subscription through the API costs 12 SQL statements as Django logs them (the token's, BEGIN
and COMMIT included), 13 the first time (the earn account is opened) and one more on the first request of
a token in a minute; tests/earn/test_subscription_statements.py holds it at 15 or fewer. A refusal decided
before any transaction costs 3 (tests/earn/test_refusal_keys.py). Its statements are hand-written SQL,
prepared (docs/DESIGN-NOTES.md, "Hand-written SQL on the money paths").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.gate import GateContext, blocking_codes
from core.audit import audit_record
from core.errors import NotFound
from core.idempotency import IdempotentRequest
from core.money import floor_to_scale, parse_amount
from core.refusals import message_for
from core.rows import prepared_cursor
from earn import errors, extensions, signals
from earn.apy import apy_for
from earn.calendar import business_day, maturity_date_for, value_date_for
from earn.interest import blended_apr, daily_exact
from earn.models import (
    Position,
    PositionChange,
    Product,
    ProductStatus,
    ProductTerms,
    Subscription,
    TermType,
)
from earn.refusals import DEFAULT_MESSAGE
from earn.selectors.positions import tiers_of, user_principal
from earn.selectors.products import Offer, subscription_offer, terms_in_force
from earn.services.submission import submit_recording_refusals
from ledger import services as ledger
from ledger.errors import InsufficientBalance
from ledger.models import AccountKind, EntryKind

if TYPE_CHECKING:
    from accounts.models import User


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


def _static_blockers(user: User, product: Product, terms: ProductTerms | None, amount: Decimal,
                     now: dt.datetime, ctx: GateContext | None = None) -> list[str]:
    """Every refusal that can be decided without taking a lock, in API.md's order."""
    codes = blocking_codes(user, product, amount=amount, ctx=ctx)
    if product.status != ProductStatus.LIVE or terms is None:
        codes.append(errors.PRODUCT_NOT_LIVE)
        return codes
    if product.launch_method:  # a launch takes commitments (earn.services.launch), not subscriptions
        codes.append(errors.LAUNCH_ONLY)
    if (terms.window_start and now < terms.window_start) or (terms.window_end and now >= terms.window_end):
        codes.append(errors.OUTSIDE_WINDOW)
    if amount < terms.min_amount:
        codes.append(errors.BELOW_MIN)
    if terms.max_amount is not None and amount > terms.max_amount:
        codes.append(errors.ABOVE_MAX)
    return codes


def subscription_quote(*, user: User, product: Product, amount: Any) -> Quote:
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


def _reserve_cap(product_id: int, amount: Decimal, *, lots_of: tuple[int, Decimal] | None = None) -> bool:
    """Conditional UPDATE: adds to sold only if the product is live and the cap has room; with `lots_of`
    (customer id, per-user cap) also only if that customer's active lots, this one included, fit their cap.

    Run it last: from here to commit every other subscriber to this product waits on the row."""
    sql = """UPDATE earn_product SET sold_amount = sold_amount + %s
              WHERE id = %s AND status = 'live' AND (total_cap IS NULL OR sold_amount + %s <= total_cap)"""
    params: list[Any] = [amount, product_id, amount]
    if lots_of is not None:
        sql += """ AND (SELECT coalesce(sum(p.principal), 0) FROM earn_position p
                        WHERE p.user_id = %s AND p.product_id = earn_product.id AND p.status = 'active') <= %s"""
        params += list(lots_of)
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def subscription_create(*, user: User, product_id: int, amount: Any, auto_renew: bool = False,
                        offer: Offer | None = None) -> Subscription:
    """Subscribe `amount` of the product's asset; raises SubscriptionRefused with reason codes."""
    with transaction.atomic():
        return _subscribe(user=user, product_id=product_id, amount=amount, auto_renew=auto_renew, offer=offer)


def _refuse(code: str) -> errors.SubscriptionRefused:
    return errors.SubscriptionRefused(_refusal_message(code), codes=[code], field="amount")


def _subscribe(*, user: User, product_id: int, amount: Any, auto_renew: bool, offer: Offer | None) -> Subscription:
    """The subscription itself, inside the caller's transaction (no savepoint of its own)."""
    now = timezone.now()
    if offer is None or offer.on_date != now.date():
        offer = subscription_offer(product_id=product_id, user=user, now=now)
    product, terms, amount, gate = _checked(user=user, offer=offer, amount=amount, auto_renew=auto_renew, now=now,
                                            writing=True)
    demand = product.term_type == TermType.DEMAND
    value_date = value_date_for(now)
    maturity = None if demand else maturity_date_for(value_date, terms.term_days)
    position, subscription, held_before = _subscription_write(
        user=user, product=product, terms=terms, amount=amount, value_date=value_date, maturity=maturity,
        auto_renew=auto_renew, now=now, acknowledgement_id=gate.latest_ack.get(product.pk))
    # Demand: exact (the position row is locked). Fixed: as last committed; the reservation decides.
    if terms.per_user_cap is not None and held_before + amount > terms.per_user_cap:
        raise _refuse(errors.USER_CAP_REACHED)
    try:
        ledger.owner_transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key=f"subscription:{subscription.pk}",
                              owner_id=user.pk, asset=product.asset_id, debit_kind=AccountKind.AVAILABLE,
                              credit_kind=AccountKind.EARN, amount=amount, reference=f"position:{position.pk}")
    except InsufficientBalance as exc:
        raise _refuse(errors.INSUFFICIENT_BALANCE) from exc
    audit_record(actor=user, action="subscription.create", obj=subscription,
                 after={"product": product.pk, "position": position.pk, "amount": amount,
                        "terms_version": terms.version, "value_date": value_date, "maturity_date": maturity})
    # Before the reservation (its notification is an outbox row; a refused reservation rolls it back with the rest).
    signals.subscription_confirmed.send(sender=Subscription, subscription=subscription)
    # The customer's ledger accounts are locked now (owner_transfer): their subscriptions in this asset
    # queue there, so the lots the reservation sums are all they hold.
    lots_of = (user.pk, terms.per_user_cap) if not demand and terms.per_user_cap is not None else None
    if not _reserve_cap(product.pk, amount, lots_of=lots_of):  # the last write: the product row is locked to commit
        raise _refuse(_why_not_reserved(product.pk, amount, lots_of))
    product.sold_amount += amount  # what the UPDATE wrote, unless another subscription's came first
    return subscription


def _checked(*, user: User, offer: Offer, amount: Any, auto_renew: bool, now: dt.datetime,
             writing: bool) -> tuple[Product, ProductTerms, Decimal, GateContext]:
    """Every answer a subscription gives before taking a lock, in this order: no such product (404), a bad
    amount (400), the gate's and the product's refusals, auto-renew not offered (400), the cap full as last
    committed (409). `writing`: inside the subscription's transaction, where the gate's exposure rule takes its
    lock and reads the holdings again."""
    product, terms = offer.product, offer.terms
    if product is None:  # not published and not held: customers do not know it exists
        raise NotFound(_("No such product."), field="product")
    amount = parse_amount(amount, scale=product.asset.scale)
    gate = offer.gate or GateContext.load(user, [product.pk])
    if writing:
        gate.for_update()
    codes = _static_blockers(user, product, terms, amount, now, gate)
    if codes:
        raise errors.SubscriptionRefused(_refusal_message(codes[0]), codes=codes, field="amount")
    assert terms is not None
    if auto_renew and (product.term_type == TermType.DEMAND or not terms.auto_renew_allowed):
        raise errors.InvalidAmount(_("Auto-renew is not available for this product."), field="auto_renew")
    if product.total_cap is not None and product.sold_amount + amount > product.total_cap:
        raise _refuse(errors.CAP_REACHED)  # full as last committed: refuse before taking any lock
    return product, terms, amount, gate


def _why_not_reserved(product_id: int, amount: Decimal, lots_of: tuple[int, Decimal] | None) -> str:
    status, sold, cap = Product.objects.values_list("status", "sold_amount", "total_cap").get(pk=product_id)
    if status != ProductStatus.LIVE:
        return errors.PRODUCT_NOT_LIVE
    if cap is not None and sold + amount > cap:
        return errors.CAP_REACHED
    return errors.USER_CAP_REACHED if lots_of is not None else errors.CAP_REACHED


_POSITION_FIELDS = list(Position._meta.concrete_fields)


def _subscription_write(*, user: User, product: Product, terms: ProductTerms, amount: Decimal, value_date: dt.date,
                        maturity: dt.date | None, auto_renew: bool, now: dt.datetime,
                        acknowledgement_id: int | None = None) -> tuple[Position, Subscription, Decimal]:
    """Open a position (fixed: a new lot; demand: the customer's one position, opened, grown or reopened),
    record the subscription (with the acknowledgement the gate accepted it on) and the position change, in one
    statement; returns them with what the customer held in the product before (active principal).

    A demand position is grown by an upsert, which leaves its row locked to commit: concurrent subscriptions
    of one customer to one product queue there, so the principal it returns is exact. For a fixed lot the
    sum of the customer's other active lots is read by the same statement (as last committed)."""
    demand = product.term_type == TermType.DEMAND
    columns = ", ".join(f"pos.{f.column}" for f in _POSITION_FIELDS)
    if demand:
        upsert = """ON CONFLICT (user_id, product_id) WHERE term_type = 'demand'
                    DO UPDATE SET principal = earn_position.principal + EXCLUDED.principal, status = EXCLUDED.status,
                                  closed_at = NULL"""
        # The returned principal includes this amount. A closed position holds nothing (closing empties it).
        held = "pos.principal - %(amount)s"
    else:
        upsert, held = "", """coalesce((SELECT sum(p.principal) FROM earn_position p
                 WHERE p.user_id = %(user)s AND p.product_id = %(product)s AND p.status = 'active'), 0)"""
    with prepared_cursor() as cursor:
        cursor.execute(
            f"""
            WITH pos AS (
                INSERT INTO earn_position (user_id, product_id, terms_id, asset_id, term_type, status, principal,
                                           value_date, maturity_date, auto_renew, auto_compound, created_at)
                VALUES (%(user)s, %(product)s, %(terms)s, %(asset)s, %(term_type)s, 'active', %(amount)s,
                        %(value_date)s, %(maturity)s, %(auto_renew)s, false, %(now)s)
                {upsert}
                RETURNING *
            ), sub AS (
                INSERT INTO earn_subscription (user_id, product_id, position_id, terms_id, amount, value_date,
                                               maturity_date, acknowledgement_id, created_at)
                SELECT %(user)s, %(product)s, pos.id, %(terms)s, %(amount)s, %(value_date)s, %(maturity)s, %(ack)s,
                       %(now)s
                  FROM pos
                RETURNING id
            ), change AS (
                INSERT INTO earn_positionchange (position_id, effective_date, amount, reason, created_at)
                SELECT pos.id, %(value_date)s, %(amount)s, %(reason)s, %(now)s FROM pos
            )
            SELECT {columns}, sub.id, {held} FROM pos, sub
            """,
            {"user": user.pk, "product": product.pk, "terms": terms.pk, "asset": product.asset_id,
             "term_type": product.term_type, "amount": amount, "value_date": value_date, "maturity": maturity,
             "auto_renew": auto_renew, "now": now, "reason": PositionChange.Reason.SUBSCRIPTION,
             "ack": acknowledgement_id},
        )
        row = cursor.fetchone()
    width = len(_POSITION_FIELDS)
    position = Position.from_db("default", [f.attname for f in _POSITION_FIELDS], row[:width])
    subscription = Subscription(id=row[width], user=user, product=product, position=position, terms=terms,
                                amount=amount, value_date=value_date, maturity_date=maturity,
                                acknowledgement_id=acknowledgement_id, created_at=now)
    subscription._state.adding = False
    subscription._state.db = "default"
    return position, subscription, row[width + 1]


def _refusal_message(code: str) -> str:
    return message_for(code, DEFAULT_MESSAGE)


def subscription_submit(*, user: User, product_id: int, amount: Any, auto_renew: bool, idempotency_key: str | None,
                        render: Callable[[Subscription], Any]) -> tuple[int, Any, bool]:
    """The entry point for API and portal: idempotent on the key, and refusals are recorded.

    The offer and the gate's facts are read first, by one statement outside any transaction. A refusal they
    decide (most of a full product's traffic) is recorded by one more statement, which claims the key too
    (earn.services.submission): no transaction block, no rollback. Otherwise the subscription runs in the key's
    transaction and checks again there (`_checked`)."""
    now = timezone.now()
    offer = subscription_offer(product_id=product_id, user=user, now=now)
    strategy = (offer.product.strategy if offer.product is not None
                else Product.objects.filter(pk=product_id).values_list("strategy", flat=True).first())
    handler = extensions.SUBSCRIBE_HANDLERS.get(strategy or "")
    if handler is not None:
        # A strategy registered by an app above earn (a pool takes both assets of its pair in the pool ratio).
        return handler(user=user, product_id=product_id, amount=amount, idempotency_key=idempotency_key)
    payload = {"product": product_id, "amount": str(amount), "auto_renew": bool(auto_renew)}
    return submit_recording_refusals(
        user=user, product_id=product_id, amount=amount,
        request=IdempotentRequest.of(user=user, key=idempotency_key, scope="subscriptions", payload=payload),
        check=lambda: _checked(user=user, offer=offer, amount=amount, auto_renew=auto_renew, now=now, writing=False),
        # `run` runs the action in its own (outermost) transaction: no savepoint for the subscription.
        action=lambda: (201, render(_subscribe(user=user, product_id=product_id, amount=amount, auto_renew=auto_renew,
                                               offer=offer))),
        announce=lambda refusal: signals.refusal_recorded.send(sender=Subscription, refusal=refusal))
