"""Issue 21 item 4: the daily impermanent-loss alert — past the product's threshold only, each holder against their
own entry price, holders (en, zh-Hant) and operations/compliance staff once per product per day, reruns quiet —
and the staff alert for an exposure limit breached."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from earn.services.exposure_limits import exposure_limit_save
from notifications.models import Notification, NotificationKind
from pools import amm
from pools.models import PoolIlAlert
from pools.services.deposits import pool_deposit_create
from pools.services.il_alerts import risk_alerts_run
from pools.services.pools import pool_rebalance
from pools.tasks import risk_alerts_task
from pricing.services import price_record
from tests.earn.factories import staff_user
from tests.pools.factories import pool_product, ready_customer

pytestmark = pytest.mark.django_db
DEPOSITS = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 3, 2)


def test_il_since_entry_worked():
    # One deposit at 60 000, price now 135 000: r = 2.25, IL = 2·1.5 / 3.25 − 1 = −1/13.
    entry, il = amm.il_since_entry([(Decimal(120000), Decimal(60000))], Decimal(135000))
    assert entry == 60000 and abs(il + Decimal(1) / 13) < Decimal("1e-25")
    # Two deposits, 120 000 USD at 60 000 and 24 000 USD at 120 000: (120000·(−1/13) + 24000·IL(1.125)) / 144000.
    entry, il = amm.il_since_entry([(Decimal(120000), Decimal(60000)), (Decimal(24000), Decimal(120000))],
                                   Decimal(135000))
    expected = (120000 * (Decimal(-1) / 13) + 24000 * amm.impermanent_loss(Decimal("1.125"))) / 144000
    assert entry == 70000 and abs(il - expected) < Decimal("1e-25")
    with pytest.raises(ValueError):
        amm.il_since_entry([], Decimal(1))


@pytest.fixture
def holders(user_factory, fund):
    """Alice (en) 1 BTC and Bob (zh-Hant) 0.5 BTC enter at 60 000; Carol 0.1 BTC at 120 000. BTC closes the
    2nd at 135 000: Alice and Bob are at −7.69 % (past 5 %), Carol at −0.17 % (not)."""
    staff = {"ops": staff_user("operations", email="ops@earn.example"),
             "compliance": staff_user("compliance_officer", email="co@earn.example", language="zh-hant"),
             "curator": staff_user("curator", email="cu@earn.example")}
    with time_machine.travel(DEPOSITS, tick=False):
        pool = pool_product(il_alert_threshold="0.05", name_en="BTC/USDT pool", name_zh_hant="BTC/USDT 流動池")
        alice = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
        bob = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
        bob.language = "zh-hant"
        bob.save(update_fields=["language"])
        carol = ready_customer(user_factory, fund, pool, BTC="1", USDT="20000")
        pool_deposit_create(user=alice, product_id=pool.product_id, amount="1")
        pool_deposit_create(user=bob, product_id=pool.product_id, amount="0.5")
        price_record(asset_code="BTC", price_usd="120000", source="test")
        pool_rebalance(product_id=pool.product_id)
        pool_deposit_create(user=carol, product_id=pool.product_id, amount="0.1")
    price_record(asset_code="BTC", price_usd="135000", source="test", as_of=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC))
    return {"pool": pool, "alice": alice, "bob": bob, "carol": carol, **staff}


def _run(day=DAY):
    with time_machine.travel(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 50), tzinfo=dt.UTC)):
        return risk_alerts_run()


def test_holders_past_the_threshold_and_staff_are_told_once(holders, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = _run()
    assert result.day == DAY
    alert = PoolIlAlert.objects.get()
    assert (alert.product_id, alert.date, alert.threshold) == (holders["pool"].product_id, DAY, Decimal("0.05"))
    assert alert.worst_il == Decimal("-0.076923076923") and (alert.positions, alert.holders) == (2, 2)
    customers = Notification.objects.filter(kind=NotificationKind.IL_ALERT)
    assert {n.user_id for n in customers} == {holders["alice"].pk, holders["bob"].pk}  # not Carol (−0.17 %)
    alice = customers.get(user=holders["alice"])
    assert alice.key == f"il-alert:{alert.product_id}:2026-03-02"
    assert alice.subject == "Price move in BTC/USDT pool: impermanent loss 7.69 %"
    assert "moved by a factor of 2.25 since your deposit" in alice.body
    assert "about 15000.00 USD at the prices of 2026-03-02" in alice.body  # (1 × 135 000 + 60 000) / 13
    bob = customers.get(user=holders["bob"])
    assert bob.language == "zh-hant" and "BTC/USDT 流動池" in bob.subject and "無常損失" in bob.subject
    assert "7500.00" in bob.body and "2.25" in bob.body and "impermanent" not in bob.body
    staff = Notification.objects.filter(kind=NotificationKind.STAFF_IL_ALERT)
    assert {n.user_id for n in staff} == {holders["ops"].pk, holders["compliance"].pk}  # not the curator
    ops = staff.get(user=holders["ops"])
    assert ops.subject == "IL alert 2026-03-02: BTC/USDT pool at 7.69 % (threshold 5.00 %)"
    assert "2 positions of 2 customers" in ops.body and ops.link == "/admin/operations/exposure/"
    assert "BTC 135000 USD" in ops.body
    assert "無常損失" in staff.get(user=holders["compliance"]).subject


@pytest.mark.django_db(transaction=True)
def test_a_rerun_alerts_nobody_twice_and_a_new_day_alerts_again(holders):
    alerts = Notification.objects.filter(kind__in=[NotificationKind.IL_ALERT, NotificationKind.STAFF_IL_ALERT])
    _run()
    before = alerts.count()
    assert before == 4  # Alice, Bob, and the two staff in the alert roles
    _run()  # the beat's task redelivered, or an operator running it again
    out = StringIO()
    call_command("risk_alerts", "--date", "2026-03-02", stdout=out)
    assert alerts.count() == before and PoolIlAlert.objects.count() == 1
    product = holders["pool"].product_id
    line = f"[1/1] product {product}: 2 of 3 positions past 5.00 %, worst loss 7.69 %: alert recorded"
    assert line in out.getvalue()
    assert "2026-03-02: 1 pools checked, 1 IL alerts, 0 exposure limits breached" in out.getvalue()
    _run(DAY + dt.timedelta(days=1))  # still past it the next day: one more alert, for that day
    assert PoolIlAlert.objects.count() == 2 and alerts.count() == before * 2


@pytest.mark.parametrize("bad", ["2026-W10-1", "20260302", "0000-00-00", "2026-02-30", "x" * 5000, "2026-03-02\x00"])
def test_the_command_refuses_a_malformed_date(holders, bad):
    """Only YYYY-MM-DD: a week date or 20260302 was read as a day by date.fromisoformat."""
    with time_machine.travel(dt.datetime(2026, 3, 3, 0, 50, tzinfo=dt.UTC)), \
            pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("risk_alerts", "--date", bad, stdout=StringIO())
    assert not PoolIlAlert.objects.exists() and not Notification.objects.exists()


@pytest.mark.parametrize("day", ["2026-03-03", "2026-03-04", "9999-12-31"])
def test_the_command_refuses_a_day_not_over_yet(holders, day):
    """Today's or a later day would be alerted at today's prices, and that day's real alert then never sent."""
    with time_machine.travel(dt.datetime(2026, 3, 3, 0, 50, tzinfo=dt.UTC)), \
            pytest.raises(CommandError, match="has not ended"):
        call_command("risk_alerts", "--date", day, stdout=StringIO())
    assert not PoolIlAlert.objects.exists() and not Notification.objects.exists()
    with time_machine.travel(dt.datetime(2026, 3, 3, 0, 50, tzinfo=dt.UTC)):
        call_command("risk_alerts", "--date", "2026-03-02", stdout=StringIO())  # yesterday: a whole day
    assert PoolIlAlert.objects.get().date == DAY


def test_no_alert_below_the_threshold(holders, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = _run(dt.date(2026, 3, 1))  # the 1st closed at 120 000
    # Alice and Bob: r = 2, 2·√2/3 − 1 = −5.72 %, past 5 %; Carol entered at 120 000 (0 %). With a 6 % threshold, none.
    assert PoolIlAlert.objects.count() == 1 and result.alerts
    PoolIlAlert.objects.all().delete()
    Notification.objects.all().delete()
    holders["pool"].product.__class__.objects.filter(pk=holders["pool"].product_id).update(
        il_alert_threshold=Decimal("0.06"))
    with django_capture_on_commit_callbacks(execute=True):
        result = _run(dt.date(2026, 3, 1))
    assert not result.alerts and result.pools[0].positions == 3
    assert not Notification.objects.filter(kind=NotificationKind.IL_ALERT).exists()


def test_the_default_threshold_applies_without_the_products_own(holders, django_capture_on_commit_callbacks):
    holders["pool"].product.__class__.objects.filter(pk=holders["pool"].product_id).update(il_alert_threshold=None)
    with override_settings(POOL_IL_ALERT_THRESHOLD=Decimal("0.10")), django_capture_on_commit_callbacks(execute=True):
        assert not _run().alerts  # −7.69 % is within 10 %
    with override_settings(POOL_IL_ALERT_THRESHOLD=Decimal("0.07")), django_capture_on_commit_callbacks(execute=True):
        assert _run().alerts[0].threshold == Decimal("0.07")


def test_a_pool_without_a_price_is_skipped(holders, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = _run(dt.date(2019, 12, 30))  # before any price was recorded
    assert result.pools[0].skipped == "no price" and not PoolIlAlert.objects.exists()


def test_exposure_breach_alerts_staff_once_per_limit_and_day(holders, django_capture_on_commit_callbacks):
    limit = exposure_limit_save(actor=holders["ops"], kind="venue", name="Uniswap v2", limit_usd="100000")
    # The pool's reserves (about 1.16 BTC and 139 279 USDT after the re-balance and Carol) at the close of the 2nd
    # (BTC 135 000) are worth about 296 000 USD: 296 % of the limit.
    with django_capture_on_commit_callbacks(execute=True):
        assert _run().breaches == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert _run().breaches == 1
    alerts = Notification.objects.filter(kind=NotificationKind.STAFF_EXPOSURE_BREACH)
    assert {n.user_id for n in alerts} == {holders["ops"].pk, holders["compliance"].pk}
    ops = alerts.get(user=holders["ops"])
    assert ops.key == f"exposure-breach:{limit.pk}:2026-03-02"
    assert ops.subject.startswith("Exposure limit breached 2026-03-02: Uniswap v2 at 296.")
    assert "against a limit of 100000.00 USD" in ops.body and "BTC/USDT pool" in ops.body
    assert "超出" in alerts.get(user=holders["compliance"]).subject


def test_the_task_is_scheduled_late_acked_and_returns_the_day(holders, django_capture_on_commit_callbacks):
    assert risk_alerts_task.acks_late
    beat = settings.CELERY_BEAT_SCHEDULE["risk-alerts-daily"]
    assert beat["task"] == "pools.tasks.risk_alerts_task"
    with django_capture_on_commit_callbacks(execute=True):
        outcome = risk_alerts_task.apply(kwargs={"day": "2026-03-02"}).get()
    assert outcome == {"day": "2026-03-02", "pools": 1, "alerts": [holders["pool"].product_id], "breaches": 0}


@pytest.mark.parametrize("values", [
    {"worst_il": Decimal("-0.04")},  # not past its own threshold
    {"threshold": Decimal("1")}, {"holders": 3}, {"positions": 0, "holders": 0},
])
def test_the_database_keeps_alert_rows_sane(assets, values):
    from django.db import IntegrityError, transaction

    pool = pool_product()
    row = {"product_id": pool.product_id, "date": DAY, "threshold": Decimal("0.05"), "worst_il": Decimal("-0.06"),
           "positions": 2, "holders": 2, "price_a_usd": Decimal(1), "price_b_usd": Decimal(1)}
    PoolIlAlert.objects.create(**{**row, "date": DAY - dt.timedelta(days=1)})
    with pytest.raises(IntegrityError), transaction.atomic():
        PoolIlAlert.objects.create(**{**row, "date": DAY - dt.timedelta(days=1)})  # once per product and day
    with pytest.raises(IntegrityError), transaction.atomic():
        PoolIlAlert.objects.create(**(row | values))
