"""Notifications: inbox + email after commit, once per event, in the customer's language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from compliance.models import Disclosure, DisclosureStatus
from earn.models import ProductTerms, RateTier, TermsStatus
from earn.services.redemptions import redemption_create
from earn.services.subscriptions import subscription_create
from notifications.models import Notification
from notifications.services import notification_send
from notifications.sweep import notifications_sweep
from tests.earn.factories import live_product, staff_user
from tests.earn.helpers import acknowledge, subscribe_api
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(assets, fund):
    user = UserFactory(email="sam@sg.example", country="SG", display_name="Sam Lee")
    fund(user, "USDT", "1000")
    return user


def test_subscription_confirmation_after_commit_once_per_subscription(sam, django_capture_on_commit_callbacks):
    product = live_product("USDT", "fixed", name_en="USDT 30 days", term_days=30)
    acknowledge(sam, product)
    client = APIClient()
    client.force_authenticate(sam)
    with django_capture_on_commit_callbacks(execute=True):
        first = subscribe_api(client, product, "100", key="k1")
    with django_capture_on_commit_callbacks(execute=True):
        replay = subscribe_api(client, product, "100", key="k1")
    assert first.status_code == 201 and replay.status_code == 201
    notes = list(Notification.objects.filter(user=sam))
    assert [n.kind for n in notes] == ["subscription_confirmed"]
    assert notes[0].subject == "Subscription confirmed: USDT 30 days"
    assert "100.00000000 USDT" in notes[0].body and "matures on" in notes[0].body
    assert notes[0].emailed_at is not None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [sam.email]


def test_nothing_is_sent_for_a_rolled_back_change(sam, django_capture_on_commit_callbacks):
    product = live_product("USDT", "demand")
    acknowledge(sam, product)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        subscription_create(user=sam, product_id=product.pk, amount="10")
        raise RuntimeError("rolled back")
    assert not Notification.objects.exists() and not mail.outbox


def test_redemption_confirmation(sam, django_capture_on_commit_callbacks):
    product = live_product("USDT", "demand", name_en="USDT Flexible")
    acknowledge(sam, product)
    sub = subscription_create(user=sam, product_id=product.pk, amount="100")
    with django_capture_on_commit_callbacks(execute=True):
        redemption_create(user=sam, position_id=sub.position_id, amount="30", mode="standard")
    note = Notification.objects.get(user=sam, kind="redemption_confirmed")
    assert "30.00000000 USDT" in note.body and "settles on" in note.body


def test_refusal_the_customer_can_act_on_is_notified(sam, django_capture_on_commit_callbacks):
    product = live_product("USDT", "demand", name_en="USDT Flexible")
    client = APIClient()
    client.force_authenticate(sam)
    with django_capture_on_commit_callbacks(execute=True):
        refused = subscribe_api(client, product, "10", key="r1")
    assert refused.json()["code"] == "NO_ACK"
    note = Notification.objects.get(user=sam)
    assert note.kind == "action_required" and "acknowledge" in note.body
    assert note.link == f"/products/{product.pk}"


def test_send_is_idempotent_by_key(sam):
    params = {"product": {"en": "P"}, "amount": "1", "asset": "USDT", "value_date": "2026-01-01",
              "maturity_sentence": ""}
    assert notification_send(user_id=sam.pk, kind="subscription_confirmed", key="subscription:1", params=params)
    assert notification_send(user_id=sam.pk, kind="subscription_confirmed", key="subscription:1",
                             params=params) is None
    assert Notification.objects.count() == 1 and len(mail.outbox) == 1


def test_sweep_reminds_of_maturity_three_days_ahead_once(sam):
    product = live_product("USDT", "fixed", name_en="USDT 30 days", term_days=30)
    acknowledge(sam, product)
    sub = subscription_create(user=sam, product_id=product.pk, amount="100")
    maturity = sub.maturity_date
    early = dt.datetime.combine(maturity - dt.timedelta(days=5), dt.time(12), tzinfo=dt.UTC)
    assert notifications_sweep(now=early).maturities == 0
    due = dt.datetime.combine(maturity - dt.timedelta(days=3), dt.time(12), tzinfo=dt.UTC)
    assert notifications_sweep(now=due).maturities == 1
    assert notifications_sweep(now=due + dt.timedelta(days=1)).maturities == 0
    note = Notification.objects.get(user=sam, kind="maturity_upcoming")
    assert maturity.isoformat() in note.subject and "return to your available balance" in note.body


def test_sweep_tells_holders_of_a_rate_change_and_of_a_new_disclosure(sam):
    product = live_product("USDT", "demand", name_en="USDT Flexible")
    acknowledge(sam, product)
    subscription_create(user=sam, product_id=product.pk, amount="100")
    bystander = UserFactory(country="SG")
    now = timezone.now()
    approver = staff_user()
    terms = ProductTerms.objects.create(product=product, version=2, status=TermsStatus.APPROVED,
                                        effective_from=now.date() + dt.timedelta(days=1),
                                        min_amount=Decimal("0.00000001"), drafted_by=staff_user(),
                                        approved_by=approver, approved_at=now, redemption_modes=["fast"])
    RateTier.objects.create(terms=terms, lower=0, upper=None, apr=Decimal("0.04"))
    current = product.disclosures.get(status=DisclosureStatus.CURRENT)
    Disclosure.objects.filter(pk=current.pk).update(status=DisclosureStatus.SUPERSEDED)
    Disclosure.objects.create(product=product, version=2, status=DisclosureStatus.CURRENT, body_en="v2",
                              body_zh_hant="v2", risk_statements=current.risk_statements, sha256="0" * 64,
                              author=current.author, approved_by=approver, approved_at=now)
    result = notifications_sweep(now=now)
    assert (result.rate_changes, result.disclosures) == (1, 1)
    rate = Notification.objects.get(user=sam, kind="rate_changed")
    assert "changes to 4% APR" in rate.body
    assert Notification.objects.filter(user=sam, kind="disclosure_updated").exists()
    assert not Notification.objects.filter(user=bystander).exists()
    again = notifications_sweep(now=now)
    assert (again.rate_changes, again.disclosures) == (0, 0)


def test_inbox_page_lists_and_marks_read(sam, client):
    Notification.objects.create(user=sam, kind="action_required", key="a", subject="Hello there", body="Body",
                                link="/dashboard")
    client.force_login(sam)
    page = client.get("/inbox").content.decode()
    assert "Hello there" in page
    note = Notification.objects.get(user=sam)
    response = client.post(f"/inbox/{note.pk}")
    assert response.status_code == 302 and response["Location"] == "/dashboard"
    note.refresh_from_db()
    assert note.read_at is not None


def test_messages_are_written_in_the_customers_language(assets, fund, django_capture_on_commit_callbacks):
    user = UserFactory(email="mei@sg.example", country="SG", language="zh-hant")
    fund(user, "USDT", "100")
    product = live_product("USDT", "demand", name_en="USDT Flexible", name_zh_hant="USDT 活期")
    acknowledge(user, product)
    with django_capture_on_commit_callbacks(execute=True):
        subscription_create(user=user, product_id=product.pk, amount="10")
    note = Notification.objects.get(user=user)
    assert note.subject == "認購已確認：USDT 活期" and note.language == "zh-hant"
    assert "開始計息" in note.body


def test_the_sweep_runs_hourly_from_celery_beat(sam):
    from django.conf import settings

    from notifications.tasks import notifications_sweep_task

    entry = settings.CELERY_BEAT_SCHEDULE["notifications-sweep"]
    assert entry["task"] == "notifications.tasks.notifications_sweep_task"
    assert notifications_sweep_task() == {"maturities": 0, "rate_changes": 0, "disclosures": 0}


def test_with_celery_the_hook_writes_an_outbox_row_that_a_worker_sends_once(sam, settings, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    from notifications import services, tasks
    from notifications.models import OutboxMessage

    settings.NOTIFICATIONS_VIA_CELERY = True
    kicks = []
    monkeypatch.setattr(tasks.notifications_outbox_task, "apply_async", lambda **kw: kicks.append(kw))
    monkeypatch.setattr(services._kick_due, "last", float("-inf"))
    product = live_product("USDT", "demand", name_en="USDT Flexible")
    acknowledge(sam, product)
    with django_capture_on_commit_callbacks(execute=True):
        subscription_create(user=sam, product_id=product.pk, amount="10")
    assert OutboxMessage.objects.filter(user_id=sam.pk, key__startswith="subscription:").count() == 1
    assert len(kicks) == 1 and not Notification.objects.exists()
    assert tasks.notifications_outbox_task() == 1  # what the kicked worker runs
    assert tasks.notifications_outbox_task() == 0  # run again: nothing twice
    assert not OutboxMessage.objects.exists()
    assert Notification.objects.get(user=sam).subject == "Subscription confirmed: USDT Flexible"
    assert len(mail.outbox) == 1


def test_a_notification_task_queued_before_the_outbox_still_sends_once(sam):
    """Messages already in the broker when the outbox is deployed are still sent, once."""
    from notifications import tasks

    kwargs = {"user_id": sam.pk, "kind": "action_required", "key": "refusal:1", "link": "",
              "params": {"product": {"en": "P"}, "amount": "", "reasons": {"en": "Fund your account."}}}
    assert tasks.notification_send_task(**kwargs) is not None
    assert tasks.notification_send_task(**kwargs) is None  # redelivered: nothing twice
    assert len(mail.outbox) == 1


def test_admin_shows_notifications_read_only(sam, client):
    from tests.factories import UserFactory, admin_login

    note = Notification.objects.create(user=sam, kind="action_required", key="a", subject="Hello", body="Body")
    admin_login(client, UserFactory(is_staff=True, is_superuser=True, country="HK"))
    assert "Hello" in client.get("/admin/notifications/notification/").content.decode()
    page = client.get(f"/admin/notifications/notification/{note.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.get("/admin/notifications/notification/add/").status_code == 403


def test_a_pool_deposit_is_confirmed_like_a_subscription(user_factory, fund, django_capture_on_commit_callbacks):
    """Both legs, the shares and the first earning day, in the customer's language, once per deposit."""
    from pools.services.deposits import pool_deposit_create
    from tests.pools.factories import pool_product, ready_customer

    pool = pool_product()
    en = ready_customer(user_factory, fund, pool, BTC="2", USDT="200000")
    zh = ready_customer(user_factory, fund, pool, BTC="2", USDT="200000")
    zh.language = "zh-hant"
    zh.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        deposit = pool_deposit_create(user=en, product_id=pool.product_id, amount="0.5")
    with django_capture_on_commit_callbacks(execute=True):
        pool_deposit_create(user=zh, product_id=pool.product_id, amount="0.1")
    note = Notification.objects.get(user=en)
    assert (note.kind, note.key) == ("pool_deposit_confirmed", f"pool-deposit:{deposit.pk}")
    assert note.subject == f"Pool deposit confirmed: {pool.product.name_en}"
    assert "You deposited 0.50000000 BTC and 30000.00000000 USDT into" in note.body, note.body
    assert "pool shares" in note.body
    assert mail.outbox[0].subject == note.subject
    chinese = Notification.objects.get(user=zh)
    assert chinese.subject.startswith("流動性池存入已確認") and "池份額" in chinese.body
