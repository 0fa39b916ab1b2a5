"""A launch's commit barrier, kept by PostgreSQL (earn/sql/launch_barrier.sql): the close waits for every
commitment in flight, a commitment that waited for the close is refused, and no writer can add a commitment
once the allocation's run row exists. Real transactions in threads: a wrapping test transaction would hide
what each side sees when the other commits."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from earn import errors
from earn.models import LaunchCommitment, LaunchRun
from earn.services import launch as services
from ledger.models import AccountKind
from tests.earn.factories import launch_product
from tests.earn.helpers import balance
from tests.earn.test_launch import after_window, customer

pytestmark = pytest.mark.django_db(transaction=True)


def waiting_on_the_barrier(product_id: int) -> bool:
    """Whether some session waits for this launch's advisory lock now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                       " AND classid = %s AND objid = %s", [services.LAUNCH_LOCK_CLASS, product_id])
        return cursor.fetchone()[0] > 0


def wait_until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


class Side(threading.Thread):
    """Runs `work` in its own transaction on its own connection; holds the transaction open until released."""

    def __init__(self, work) -> None:
        super().__init__(daemon=True)
        self.work, self.result, self.error = work, None, None
        self.written, self.release = threading.Event(), threading.Event()

    def run(self) -> None:
        try:
            with transaction.atomic():
                self.result = self.work()
                self.written.set()
                self.release.wait(30)
        except Exception as exc:  # asserted on by the test
            self.error = exc
        finally:
            self.written.set()
            connection.close()


def close_by_hand(product_id: int) -> LaunchRun:
    """What the close step writes, without its clock check: the barrier exclusive, then the run row."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [services.LAUNCH_LOCK_CLASS, product_id])
    return LaunchRun.objects.create(product_id=product_id, method="pro_rata", quota=Decimal("1000"))


def test_a_commitment_that_waited_for_the_close_is_refused_and_moves_nothing(assets):
    product = launch_product("USDT")
    alice = customer(product, "1000")
    closing = Side(lambda: close_by_hand(product.pk))
    closing.start()
    assert closing.written.wait(10) and closing.error is None
    committing = Side(lambda: services.commitment_create(user=alice, product_id=product.pk, amount="10"))
    committing.release.set()
    committing.start()
    assert wait_until(lambda: waiting_on_the_barrier(product.pk))  # the commitment waits for the close
    closing.release.set()
    closing.join(10)
    committing.join(10)
    assert isinstance(committing.error, errors.SubscriptionRefused), committing.error
    assert committing.error.codes == [errors.OUTSIDE_WINDOW]
    assert not LaunchCommitment.objects.exists()
    assert balance(alice, "USDT") == 1000 and balance(alice, "USDT", AccountKind.COMMITTED) == 0


def test_the_close_waits_for_a_commitment_in_flight_and_the_allocation_counts_it(assets):
    product = launch_product("USDT", quota="1000")
    alice = customer(product, "1000")
    committing = Side(lambda: services.commitment_create(user=alice, product_id=product.pk, amount="10"))
    committing.start()
    assert committing.written.wait(10) and committing.error is None
    with after_window(product):
        closing = threading.Thread(target=lambda: (services.launch_close(product.pk), connection.close()),
                                   daemon=True)
        closing.start()
        assert wait_until(lambda: waiting_on_the_barrier(product.pk))  # the close waits for the commitment
        assert not LaunchRun.objects.exists()
        committing.release.set()
        committing.join(10)
        closing.join(10)
        assert committing.error is None and LaunchRun.objects.filter(product=product).exists()
        run = services.launch_allocate(product.pk)
    assert run.commitments == 1 and run.committed_total == 10 and run.allocated_total == 10
    assert balance(alice, "USDT", AccountKind.EARN) == 10 and balance(alice, "USDT") == 990


def test_the_database_refuses_any_commitment_once_the_launch_is_closed(assets):
    product = launch_product("USDT")
    alice = customer(product, "1000")
    close_by_hand(product.pk)
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO earn_launchcommitment (user_id, product_id, amount, status, created_at)"
                       " VALUES (%s, %s, 10, 'committed', now())", [alice.pk, product.pk])
    assert refused.value.__cause__.diag.constraint_name == "launch_closed"
    assert "closed for allocation" in str(refused.value)
    assert not LaunchCommitment.objects.exists()


def test_through_the_api_a_commitment_after_the_close_is_a_409_recorded_and_its_key_released(assets):
    """The database's refusal reaches the customer as OUTSIDE_WINDOW, recorded like any refusal, with no money
    moved; the Idempotency-Key holds no answer, so the same request can be retried."""
    from rest_framework.test import APIClient

    from compliance.models import Refusal
    from core.models import IdempotencyRecord

    product = launch_product("USDT")
    alice = customer(product, "1000")
    client = APIClient()
    client.force_authenticate(alice)
    close_by_hand(product.pk)  # closed while the clock is still inside the window
    refused = client.post("/api/v1/commitments", {"product": product.pk, "amount": "10"}, format="json",
                          HTTP_IDEMPOTENCY_KEY="after-close")
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == errors.OUTSIDE_WINDOW
    assert Refusal.objects.filter(user=alice, product=product, codes__contains=[errors.OUTSIDE_WINDOW]).count() == 1
    assert not IdempotencyRecord.objects.filter(user=alice, key="after-close", response_status__isnull=False).exists()
    assert not LaunchCommitment.objects.exists()
    assert balance(alice, "USDT") == 1000 and balance(alice, "USDT", AccountKind.COMMITTED) == 0
