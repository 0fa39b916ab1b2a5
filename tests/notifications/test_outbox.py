"""The notification outbox: a row per event written in the change's transaction, sent by a worker exactly once.

Outside a wrapping transaction (`transaction=True`): the rows, their commit and the drains' own transactions
are what is tested.
"""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection, transaction

from earn.services.redemptions import redemption_create
from earn.services.subscriptions import subscription_create
from notifications import services, tasks
from notifications.models import Notification, OutboxMessage
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kicks(settings, monkeypatch):
    """As in production (NOTIFICATIONS_VIA_CELERY), with the drain's queueing recorded instead of sent."""
    settings.NOTIFICATIONS_VIA_CELERY = True
    queued: list[dict] = []
    monkeypatch.setattr(tasks.notifications_outbox_task, "apply_async", lambda **kw: queued.append(kw))
    monkeypatch.setattr(services._kick_due, "last", float("-inf"))
    return queued


@pytest.fixture
def customer(assets, fund):
    user = UserFactory(country="SG")
    fund(user, "USDT", "1000")
    product = live_product("USDT", "demand", name_en="USDT Flexible")
    acknowledge(user, product)
    return user, product


def test_each_event_is_one_row_sent_once_and_the_row_goes(customer, kicks):
    user, product = customer
    subscription = subscription_create(user=user, product_id=product.pk, amount="10")
    redemption_create(user=user, position_id=subscription.position_id, amount="4", mode="fast")
    assert sorted(OutboxMessage.objects.values_list("key", flat=True)) == [
        f"redemption:{subscription.position.redemptions.get().pk}", f"subscription:{subscription.pk}"]
    assert not Notification.objects.exists()  # nothing in the request but the row

    assert services.outbox_drain() == 2
    assert sorted(Notification.objects.values_list("kind", flat=True)) == ["redemption_confirmed",
                                                                           "subscription_confirmed"]
    assert all(n.emailed_at for n in Notification.objects.all()) and len(mail.outbox) == 2
    assert not OutboxMessage.objects.exists()
    assert services.outbox_drain() == 0 and len(mail.outbox) == 2


def test_a_rolled_back_change_leaves_no_row_and_asks_for_no_drain(customer, kicks):
    user, product = customer
    with pytest.raises(RuntimeError), transaction.atomic():
        subscription_create(user=user, product_id=product.pk, amount="10")
        raise RuntimeError("rolled back")
    assert not OutboxMessage.objects.exists() and kicks == []


def test_a_refused_cap_reservation_rolls_its_row_back(assets, fund, kicks, monkeypatch):
    """The row is written before the cap reservation (the last write): a refusal there takes it back too."""
    from earn import errors
    from earn.services import subscriptions

    user = UserFactory(country="SG")
    fund(user, "USDT", "1000")
    product = live_product("USDT", "demand", total_cap="100")
    acknowledge(user, product)
    monkeypatch.setattr(subscriptions, "_reserve_cap", lambda *args, **kwargs: False)
    with pytest.raises(errors.SubscriptionRefused):
        subscription_create(user=user, product_id=product.pk, amount="10")
    assert not OutboxMessage.objects.exists()


def test_the_drain_is_asked_for_at_most_once_per_window_and_finds_the_window_rows(customer, kicks, settings):
    settings.NOTIFICATION_OUTBOX_KICK_SECONDS = 60
    user, product = customer
    for _ in range(3):
        subscription_create(user=user, product_id=product.pk, amount="10")
    assert len(kicks) == 1 and kicks[0]["countdown"] == 60  # runs after the window: it finds all three
    assert OutboxMessage.objects.count() == 3
    assert tasks.notifications_outbox_task() == 3


def test_a_drain_that_dies_loses_nothing_and_the_next_sends_each_once(customer, kicks, monkeypatch):
    user, product = customer
    for _ in range(3):
        subscription_create(user=user, product_id=product.pk, amount="10")
    real = services._notification_write
    calls = []

    def dies_on_the_second(**kwargs):
        calls.append(kwargs["key"])
        if len(calls) == 2:
            raise SystemExit("worker killed")  # the first row's inbox item was written in this transaction
        return real(**kwargs)

    monkeypatch.setattr(services, "_notification_write", dies_on_the_second)
    with pytest.raises(SystemExit):
        services.outbox_drain()
    assert OutboxMessage.objects.count() == 3  # the batch's delete rolled back with its inbox rows
    assert not Notification.objects.exists() and not mail.outbox

    monkeypatch.setattr(services, "_notification_write", real)
    assert services.outbox_drain(batch=2) == 3  # in two batches
    assert Notification.objects.filter(user=user).count() == 3 and len(mail.outbox) == 3
    assert not OutboxMessage.objects.exists()


def test_a_row_whose_event_was_already_notified_is_dropped_without_a_second_message(customer, kicks):
    """A duplicate row for one event (same user and key) writes nothing twice: the inbox key is unique."""
    user, product = customer
    subscription_create(user=user, product_id=product.pk, amount="10")
    row = OutboxMessage.objects.get()
    OutboxMessage.objects.create(user_id=row.user_id, kind=row.kind, key=row.key, params=row.params, link=row.link)
    assert services.outbox_drain() == 1
    assert Notification.objects.count() == 1 and len(mail.outbox) == 1 and not OutboxMessage.objects.exists()


def test_concurrent_drains_never_take_the_same_row(customer, kicks):
    """A drain holding a row (mid-batch) is skipped by another, which neither waits nor sends it."""
    user, product = customer
    subscription_create(user=user, product_id=product.pk, amount="10")
    held, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT id FROM notifications_outboxmessage FOR UPDATE")
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    try:
        assert services.outbox_drain() == 0  # skipped, not blocked
        assert OutboxMessage.objects.count() == 1 and not Notification.objects.exists()
    finally:
        release.set()
        thread.join()
    assert services.outbox_drain() == 1 and Notification.objects.count() == 1


def test_a_broker_that_is_down_fails_nothing(customer, settings, monkeypatch, caplog):
    """The kick is logged when the broker refuses it; the subscription stands and beat's drain sends it."""
    settings.NOTIFICATIONS_VIA_CELERY = True
    monkeypatch.setattr(services._kick_due, "last", float("-inf"))

    def down(**kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.notifications_outbox_task, "apply_async", down)
    user, product = customer
    subscription_create(user=user, product_id=product.pk, amount="10")
    assert "notification outbox kick failed" in caplog.text
    assert OutboxMessage.objects.count() == 1
    assert tasks.notifications_outbox_task() == 1


def test_beat_drains_the_outbox(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["notifications-outbox"]
    assert entry["task"] == "notifications.tasks.notifications_outbox_task"
    assert entry["schedule"] == settings.NOTIFICATION_OUTBOX_EVERY_SECONDS


def test_the_backlog_can_be_sent_by_hand(customer, kicks):
    from io import StringIO

    from django.core.management import call_command

    user, product = customer
    subscription_create(user=user, product_id=product.pk, amount="10")
    out = StringIO()
    call_command("notifications_outbox", stdout=out)
    assert out.getvalue().strip() == "outbox rows waiting: 1; notifications sent: 1"
    assert Notification.objects.filter(user=user).count() == 1 and not OutboxMessage.objects.exists()
