"""The daily risk alerts: impermanent loss past a pool product's threshold, and venue exposure past its limit.

For day D (default: yesterday, the last whole day) each pool with active positions is valued at the last prices
of D. A position's IL is the loss against simply holding that the price move since its deposits causes
(`amm.il_since_entry`: each deposit against the price recorded with it, weighted by its value); fees and
rewards are not netted. Holders past the product's threshold (`Product.il_alert_threshold`, else
POOL_IL_ALERT_THRESHOLD) are told in their language, and operations and compliance staff once per product.

Exactly once per product and day: the `PoolIlAlert` row is unique per (product, date) and every notification
key is derived from that pair (`il-alert:<product>:<date>`; staff `staff-il-alert:<product>:<date>`), so a
rerun, a redelivered task or the management command alert nobody twice. The notifications are queued after
the alert row commits (by a worker with NOTIFICATIONS_VIA_CELERY).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.dates import day_end
from core.money import decimal_text, floor_to_scale
from notifications.events import _names
from notifications.models import Notification, NotificationKind
from notifications.services import notification_send_on_commit
from notifications.staff_alerts import exposure_breaches_notify, exposure_page_link, percent_text, staff_alert_on_commit
from pools import amm
from pools.models import Pool, PoolDeposit, PoolIlAlert, PoolPositionStatus
from pricing.selectors import latest_prices

logger = logging.getLogger(__name__)
USD_PLACES = 2


def default_threshold() -> Decimal:
    return Decimal(str(getattr(settings, "POOL_IL_ALERT_THRESHOLD", "0.05")))


def threshold_for(pool: Pool) -> Decimal:
    own = pool.product.il_alert_threshold
    return own if own is not None else default_threshold()


@dataclass(frozen=True)
class PositionIl:
    position_id: int
    user_id: int
    entry_price: Decimal  # of a in b, value-weighted over the deposits
    il: Decimal  # a negative fraction
    hold_usd: Decimal  # the deposited assets simply held, at the day's prices

    @property
    def loss_usd(self) -> Decimal:
        return floor_to_scale(-self.il * self.hold_usd, USD_PLACES)


@dataclass
class PoolResult:
    product_id: int
    threshold: Decimal
    positions: int = 0
    past: list[PositionIl] = field(default_factory=list)
    skipped: str = ""  # why nothing was computed (no price)
    alert: PoolIlAlert | None = None


@dataclass
class AlertsResult:
    day: dt.date
    pools: list[PoolResult] = field(default_factory=list)
    breaches: int = 0

    @property
    def alerts(self) -> list[PoolResult]:
        return [p for p in self.pools if p.alert is not None]


def pool_il_positions(pool: Pool, *, day: dt.date, prices: dict[str, Decimal]) -> list[PositionIl]:
    """Each active position's IL at the prices given, from its deposits made by the end of `day` (one query)."""
    cutoff = day_end(day)
    pa, pb = prices[pool.asset_a_id], prices[pool.asset_b_id]
    price_now = pa / pb
    rows = (PoolDeposit.objects.filter(position__pool=pool, position__status=PoolPositionStatus.ACTIVE,
                                       position__shares__gt=0, created_at__lt=cutoff, value_usd__gt=0)
            .order_by("position_id", "id")
            .values_list("position_id", "position__user_id", "position__cost_a", "position__cost_b", "value_usd",
                         "price_a_usd", "price_b_usd"))
    lots: dict[int, list[tuple[Decimal, Decimal]]] = {}
    holders: dict[int, tuple[int, Decimal]] = {}
    for position_id, user_id, cost_a, cost_b, value, price_a, price_b in rows.iterator(chunk_size=2000):
        lots.setdefault(position_id, []).append((value, price_a / price_b))
        holders[position_id] = (user_id, cost_a * pa + cost_b * pb)
    out = []
    for position_id, position_lots in lots.items():
        entry, il = amm.il_since_entry(position_lots, price_now)
        user_id, hold = holders[position_id]
        out.append(PositionIl(position_id, user_id, entry, il, hold))
    return out


def _notify(pool: Pool, alert: PoolIlAlert, past: list[PositionIl], day: dt.date) -> None:
    """Queue the holders' and the staff's notifications (after the commit; idempotent by key)."""
    a, b = pool.asset_a_id, pool.asset_b_id
    product = pool.product
    worst_by_user: dict[int, list[PositionIl]] = {}
    for item in past:
        worst_by_user.setdefault(item.user_id, []).append(item)
    link = reverse("portal:dashboard")
    price_now = alert.price_a_usd / alert.price_b_usd
    key = f"il-alert:{product.pk}:{day.isoformat()}"
    # A rerun skips who already has it in one query (sending again would only meet the unique key, one by one).
    done = set(Notification.objects.filter(key=key, user_id__in=list(worst_by_user)).values_list("user_id", flat=True))
    for user_id, items in sorted(worst_by_user.items()):
        if user_id in done:
            continue
        worst = min(items, key=lambda i: i.il)
        notification_send_on_commit(
            user_id=user_id, kind=NotificationKind.IL_ALERT, key=key,
            link=link,
            params={"product": _names(product), "asset_a": a, "asset_b": b,
                    "ratio": decimal_text((price_now / worst.entry_price).quantize(Decimal("0.01")), 2),
                    "il_percent": percent_text(worst.il), "loss_usd": decimal_text(sum(
                        (i.loss_usd for i in items), Decimal(0)), USD_PLACES),
                    "date": day})
    staff_alert_on_commit(
        kind=NotificationKind.STAFF_IL_ALERT, key=f"staff-il-alert:{product.pk}:{day.isoformat()}",
        link=exposure_page_link(),
        params={"product": _names(product), "pair": f"{a}/{b}", "date": day, "positions": alert.positions,
                "holders": alert.holders, "threshold_percent": percent_text(alert.threshold),
                "il_percent": percent_text(alert.worst_il), "asset_a": a, "asset_b": b,
                "price_a": decimal_text(alert.price_a_usd), "price_b": decimal_text(alert.price_b_usd)})


def pool_il_alert(pool: Pool, *, day: dt.date) -> PoolResult:
    """One pool product's alert for `day`: computed, recorded once, holders and staff notified once."""
    threshold = threshold_for(pool)
    result = PoolResult(pool.product_id, threshold)
    prices = latest_prices([pool.asset_a_id, pool.asset_b_id], at=day_end(day))
    if pool.asset_a_id not in prices or pool.asset_b_id not in prices:
        result.skipped = "no price"
        return result
    positions = pool_il_positions(pool, day=day, prices=prices)
    result.positions = len(positions)
    result.past = [p for p in positions if p.il <= -threshold]
    if not result.past:
        return result
    with transaction.atomic():
        alert, _created = PoolIlAlert.objects.get_or_create(
            product_id=pool.product_id, date=day,
            defaults={"threshold": threshold, "worst_il": min(p.il for p in result.past).quantize(Decimal("1e-12")),
                      "positions": len(result.past), "holders": len({p.user_id for p in result.past}),
                      "price_a_usd": prices[pool.asset_a_id], "price_b_usd": prices[pool.asset_b_id],
                      "created_at": timezone.now()})
        # A rerun queues the same keys again: whatever a crash after the first commit left unsent goes now.
        _notify(pool, alert, result.past, day)
    result.alert = alert
    return result


def yesterday() -> dt.date:
    return timezone.localtime(timezone.now(), dt.UTC).date() - dt.timedelta(days=1)


def risk_alerts_run(*, day: dt.date | None = None,
                    progress: Callable[[int, int, PoolResult], None] | None = None) -> AlertsResult:
    """IL alerts for every pool with active positions, then the exposure-limit breaches, for `day`."""
    day = day or yesterday()
    result = AlertsResult(day)
    pools = list(Pool.objects.filter(positions__status=PoolPositionStatus.ACTIVE).distinct()
                 .select_related("product").order_by("id"))
    for done, pool in enumerate(pools, start=1):
        try:
            outcome = pool_il_alert(pool, day=day)
        except Exception:  # one pool's failure must not hide the others' alerts; the next run retries it
            logger.exception("IL alert failed for pool %s on %s", pool.pk, day)
            outcome = PoolResult(pool.product_id, threshold_for(pool), skipped="error")
        result.pools.append(outcome)
        if progress is not None:
            progress(done, len(pools), outcome)
    with transaction.atomic():
        result.breaches = len(exposure_breaches_notify(day=day, at=day_end(day)))
    return result
