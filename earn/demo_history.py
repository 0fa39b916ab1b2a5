"""Demo history for `seed_demo`: a few weeks of daily interest for the demo customers, so the earnings chart,
the dashboard's "yesterday" and the history are not empty on day one.

Runs once, on a database where the demo customers hold nothing yet: each subscribes to the flexible USDT product
through the subscription service, the position is dated back HISTORY_DAYS (value date and its change row), and the
missed days are accrued in order by the accrual service, as the scheduler would have done day by day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction

from accounts.models import User
from compliance.models import Disclosure, DisclosureStatus
from compliance.services.acknowledgements import acknowledgement_create
from earn.models import Position, PositionChange, Product, ProductStatus, ProductTerms
from earn.services import accrual
from earn.services.subscriptions import subscription_create

HISTORY_DAYS = 21
# (customer, amount of USDT in the flexible product)
HOLDINGS = [("alice@hk.example", "3000"), ("david@hk.example", "12000")]
PRODUCT = "USDT Flexible Savings"


def seed_history(out: Callable[[str], None]) -> None:
    product = Product.objects.filter(name_en=PRODUCT, status=ProductStatus.LIVE).first()
    if product is None:
        out("history: no live demo flexible product; skipped")
        return
    if Position.objects.exists():
        out("history: positions exist already; nothing backfilled")
        return
    disclosure = Disclosure.objects.get(product=product, status=DisclosureStatus.CURRENT)
    start = accrual.last_completed_day() - dt.timedelta(days=HISTORY_DAYS - 1)
    # The demo product's terms were seeded effective today: in the story they have applied since the start.
    ProductTerms.objects.filter(product=product, effective_from__gt=start).update(effective_from=start)
    for email, amount in HOLDINGS:
        user = User.objects.get(email=email)
        with transaction.atomic():
            acknowledgement_create(user=user, product_id=product.pk, disclosure_version=disclosure.version,
                                   statements=[s["key"] for s in disclosure.risk_statements], language=user.language)
            position_id = subscription_create(user=user, product_id=product.pk, amount=amount).position_id
            # Dated back: the demo customer subscribed HISTORY_DAYS ago.
            Position.objects.filter(pk=position_id).update(value_date=start)
            PositionChange.objects.filter(position_id=position_id).update(effective_date=start)
        out(f"history: {email} holds {amount} USDT in {PRODUCT} since {start}")
    days = accrual.days_pending()
    for day in days:
        accrual.accrue_day(day)
    out(f"history: accrued {len(days)} day(s) of interest")
