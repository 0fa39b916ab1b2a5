"""The inline catch-up's lease (earn.models.AccrualLease): exclusion across transactions without session state.

`accrue_pending` used to hold a session advisory lock from start to end; behind PgBouncer in transaction mode
a session is not the client's between transactions. The lease row replaces it: taken and given back in short
transactions under the transaction-scoped accrual lock, renewed after every chunk, lapsing when its holder dies.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from earn.models import Accrual, AccrualLease, AccrualRun
from earn.services import accrual
from tests.earn.helpers import at, demand_savers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def book(assets, fund):
    """Three customers each holding 1000 USDT in a 10 % demand product from 2 March 2026."""
    return demand_savers(fund, 3)


def _advisory_locks_held() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_run_takes_the_lease_renews_it_per_chunk_and_gives_it_back(book):
    seen: list[tuple[uuid.UUID | None, dt.datetime | None]] = []

    class Watch(accrual.Progress):
        def chunk_done(self, day: dt.date, rows: int) -> None:
            lease = AccrualLease.objects.get(name=accrual.LEASE_NAME)
            seen.append((lease.holder, lease.expires_at))

    with at(2026, 3, 4, 0, 5):
        days = accrual.accrue_pending(chunk_size=1, progress=Watch())
        now = dt.datetime(2026, 3, 4, 0, 5, tzinfo=dt.UTC)
    assert [d.date for d in days] == [dt.date(2026, 3, 2), dt.date(2026, 3, 3)]
    assert Accrual.objects.count() == 6
    # Held by one run throughout, its expiry pushed out after each chunk (the clock stands still here).
    assert len(seen) == 6 and len({holder for holder, _ in seen}) == 1 and seen[0][0] is not None
    assert {expires for _, expires in seen} == {now + dt.timedelta(seconds=settings.ACCRUAL_CHUNK_TIMEOUT)}
    lease = AccrualLease.objects.get(name=accrual.LEASE_NAME)
    assert lease.holder is None and lease.expires_at is None
    assert _advisory_locks_held() == 0, "no lock outlives the run's transactions"


def test_a_live_lease_of_another_run_makes_both_entry_points_no_ops(book):
    with at(2026, 3, 3, 0, 5):
        AccrualLease.objects.create(name=accrual.LEASE_NAME, holder=uuid.uuid4(),
                                    expires_at=dt.datetime(2026, 3, 3, 0, 10, tzinfo=dt.UTC))
        assert accrual.accrue_pending() is None
        assert accrual.accrual_dispatch(lambda _: None).state == "locked"
    assert not AccrualRun.objects.exists()


def test_a_lapsed_lease_is_taken_over(book):
    """Its holder died (no renewal for ACCRUAL_CHUNK_TIMEOUT): the next run takes the lease and catches up."""
    dead = uuid.uuid4()
    AccrualLease.objects.create(name=accrual.LEASE_NAME, holder=dead,
                                expires_at=dt.datetime(2026, 3, 3, 0, 4, tzinfo=dt.UTC))
    with at(2026, 3, 3, 0, 5):
        assert accrual.accrual_dispatch(lambda _: None).state == "dispatched"
    with at(2026, 3, 3, 0, 6):  # the dispatched day, worked inline
        [day] = accrual.accrue_pending()
    assert day.date == dt.date(2026, 3, 2) and Accrual.objects.filter(date=day.date).count() == 3
    assert sum(a.posted for a in Accrual.objects.all()) > Decimal(0)
    assert AccrualLease.objects.get(name=accrual.LEASE_NAME).holder is None


def test_the_lease_is_given_back_when_the_run_fails(book, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(accrual, "accrue_day", boom)
    with at(2026, 3, 3, 0, 5), pytest.raises(RuntimeError):
        accrual.accrue_pending()
    assert AccrualLease.objects.get(name=accrual.LEASE_NAME).holder is None
