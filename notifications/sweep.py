"""The hourly sweep: upcoming maturities, rate changes and new disclosure versions.

Idempotent by the notification key, so running it again (or catching up after downtime) sends
nothing twice. Each kind is found with one query; only customers concerned are notified.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from compliance.models import Acknowledgement, Disclosure, DisclosureStatus
from core.money import decimal_text
from earn.apy import as_percent
from earn.models import Position, PositionStatus, ProductTerms, TermsStatus, TermType
from notifications import messages
from notifications.disclosure_notices import disclosure_changes_link
from notifications.events import _lazy_by_language, _names
from notifications.models import NotificationKind
from notifications.services import notification_send

MATURITY_NOTICE_DAYS = 3
RECENT = dt.timedelta(days=7)


@dataclass
class SweepResult:
    maturities: int = 0
    rate_changes: int = 0
    disclosures: int = 0


def notifications_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    now = now or timezone.now()
    today = timezone.localtime(now, dt.UTC).date()
    result = SweepResult()
    result.maturities = _maturities(today)
    result.rate_changes = _rate_changes(now)
    result.disclosures = _disclosures(now)
    return result


def _maturities(today: dt.date) -> int:
    """Fixed positions maturing within the next three days (one reminder per position)."""
    sent = 0
    due = (Position.objects.filter(status=PositionStatus.ACTIVE, term_type=TermType.FIXED,
                                   maturity_date__gt=today,
                                   maturity_date__lte=today + dt.timedelta(days=MATURITY_NOTICE_DAYS))
           .select_related("product", "asset").order_by("id"))
    for position in due.iterator(chunk_size=500):
        renewal = _lazy_by_language(messages.RENEWS if position.auto_renew else messages.RETURNS, {})
        if notification_send(user_id=position.user_id, kind=NotificationKind.MATURITY_UPCOMING,
                             key=f"maturity:{position.pk}", link=reverse("portal:position", args=[position.pk]),
                             params={"product": _names(position.product), "maturity_date": position.maturity_date,
                                     "principal": decimal_text(position.principal, position.asset.scale),
                                     "asset": position.asset_id, "renewal_sentence": renewal}):
            sent += 1
    return sent


def _rate_changes(now: dt.datetime) -> int:
    """A new terms version approved lately: holders of the product's flexible positions are told."""
    sent = 0
    recent = (ProductTerms.objects.filter(status=TermsStatus.APPROVED, version__gt=1, approved_at__gte=now - RECENT)
              .select_related("product").prefetch_related("tiers").order_by("id"))
    for terms in recent:
        tiers = sorted(terms.tiers.all(), key=lambda t: t.lower)
        apr = f"{decimal_text(as_percent(tiers[0].apr))}%" if tiers else "-"
        holders = (Position.objects.filter(product_id=terms.product_id, status=PositionStatus.ACTIVE,
                                           term_type=TermType.DEMAND)
                   .values_list("user_id", flat=True).distinct())
        for user_id in holders:
            if notification_send(user_id=user_id, kind=NotificationKind.RATE_CHANGED, key=f"rate:{terms.pk}",
                                 link=reverse("portal:product", args=[terms.product_id]),
                                 params={"product": _names(terms.product), "apr": apr,
                                         "effective_from": terms.effective_from}):
                sent += 1
    return sent


def _disclosures(now: dt.datetime) -> int:
    """A new current disclosure: customers who acknowledged an earlier version must acknowledge again."""
    sent = 0
    recent = (Disclosure.objects.filter(status=DisclosureStatus.CURRENT, version__gt=1,
                                        approved_at__gte=now - RECENT * 4)
              .select_related("product").order_by("id"))
    for disclosure in recent:
        acked_current = Acknowledgement.objects.filter(user_id=OuterRef("user_id"), disclosure=disclosure)
        users = (Acknowledgement.objects.filter(product_id=disclosure.product_id)
                 .exclude(disclosure=disclosure).filter(~Exists(acked_current))
                 .values_list("user_id", flat=True).distinct())
        for user_id in users:
            if notification_send(user_id=user_id, kind=NotificationKind.DISCLOSURE_UPDATED,
                                 key=f"disclosure:{disclosure.pk}",
                                 link=disclosure_changes_link(disclosure.product_id),
                                 params={"product": _names(disclosure.product), "version": disclosure.version}):
                sent += 1
    return sent
