"""What a launch customer is told and shown: the committed balance until the allocation, then one
notification per customer with their allocation and refund (en and zh-Hant), never twice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from earn.services import launch as services
from notifications.launch_notices import launch_notify
from notifications.models import Notification, NotificationKind
from tests.earn.factories import launch_product
from tests.earn.test_launch import after_window, customer


def balances_of(user) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    return {row["asset"]: row for row in client.get("/api/v1/balances").json()}


@pytest.mark.django_db(transaction=True)
def test_committed_balance_then_one_notification_per_customer_after_the_commit(assets):
    product = launch_product("USDT", quota="1000")
    alice, bob = customer(product), customer(product, language="zh-hant")
    for user, amount in ((alice, "600"), (alice, "300"), (bob, "400")):
        services.commitment_create(user=user, product_id=product.pk, amount=amount)
    row = balances_of(alice)["USDT"]
    assert (row["available"], row["committed"]) == ("9100.00000000", "900.00000000")

    with after_window(product):
        services.launch_allocate(product.pk)

    # 1,300 committed for a quota of 1,000: pro-rata 692.30769231 / 307.69230769 (largest remainder).
    row = balances_of(alice)["USDT"]
    assert (row["committed"], row["earn"]) == ("0.00000000", "692.30769231")
    mine = Notification.objects.get(user=alice, kind=NotificationKind.LAUNCH_ALLOCATED)
    assert mine.key == f"launch:{product.pk}" and mine.link == f"/products/{product.pk}"
    assert "900.00000000 USDT you committed, 692.30769231 USDT now earn" in mine.body
    assert "207.69230769 USDT are back in your available balance" in mine.body
    theirs = Notification.objects.get(user=bob, kind=NotificationKind.LAUNCH_ALLOCATED)
    assert theirs.language == "zh-hant" and "307.69230769" in theirs.body and "92.30769231" in theirs.body
    assert "allocated" not in theirs.body  # in Chinese

    # A re-run of the job, or a redelivered notice, sends nothing more.
    with after_window(product):
        services.launch_allocate(product.pk)
    assert launch_notify(product.pk, [alice.pk, bob.pk]) == 0
    assert Notification.objects.filter(kind=NotificationKind.LAUNCH_ALLOCATED).count() == 2


@pytest.mark.django_db
def test_nothing_is_notified_for_commitments_not_settled(assets):
    product = launch_product("USDT", quota="1000")
    alice = customer(product)
    services.commitment_create(user=alice, product_id=product.pk, amount="100")
    assert launch_notify(product.pk, [alice.pk]) == 0
    assert not Notification.objects.filter(kind=NotificationKind.LAUNCH_ALLOCATED).exists()
    assert balances_of(alice)["USDT"]["committed"] == "100.00000000"
    assert Decimal(balances_of(alice)["USDT"]["available"]) == Decimal("9900")


@pytest.mark.django_db
def test_with_celery_the_notices_are_queued_after_the_commit(assets, settings, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    """A settle batch queues one task for its customers; an approved disclosure one for its holders."""
    from compliance.services.disclosures import disclosure_approve, disclosure_draft
    from notifications import tasks
    from tests.earn.factories import complete_sections, staff_user

    settings.NOTIFICATIONS_VIA_CELERY = True
    queued = []
    monkeypatch.setattr(tasks.launch_notify_task, "delay", lambda **kw: queued.append(("launch", kw)))
    monkeypatch.setattr(tasks.disclosure_notify_task, "delay", lambda **kw: queued.append(("disclosure", kw)))
    product = launch_product("USDT", quota="1000")
    alice = customer(product)
    services.commitment_create(user=alice, product_id=product.pk, amount="100")
    with after_window(product), django_capture_on_commit_callbacks(execute=True):
        services.launch_allocate(product.pk)
    assert queued == [("launch", {"product_id": product.pk, "user_ids": [alice.pk]})]
    assert not Notification.objects.exists()
    assert tasks.launch_notify_task(**queued[0][1]) == 1

    queued.clear()
    draft = disclosure_draft(actor=staff_user("curator"), product=product, body_en="v2", body_zh_hant="第二版",
                             sections=complete_sections(product.category))
    with django_capture_on_commit_callbacks(execute=True):
        disclosure_approve(actor=staff_user("approver"), disclosure=draft)
    assert queued == [("disclosure", {"disclosure_id": draft.pk})]
