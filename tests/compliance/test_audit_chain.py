"""The audit chain under concurrency, and audit_verify on an intact trail."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from core.audit import GENESIS_HASH, audit_record
from core.audit_verify import audit_chain_verify
from core.models import AuditEvent

THREADS, PER_THREAD = 16, 25


@pytest.mark.django_db(transaction=True)
def test_16_threads_appending_at_once_make_one_unbroken_chain():
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(PER_THREAD):
                audit_record(actor=None, action="test.concurrent", object_type="thread", object_id=n,
                             after={"thread": n, "i": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    events = list(AuditEvent.objects.order_by("sequence").values_list("prev_hash", "hash"))
    assert len(events) == THREADS * PER_THREAD
    # One chain: each event links to the one before it, so no two events share a predecessor (no fork).
    assert [prev for prev, _h in events] == [GENESIS_HASH] + [h for _p, h in events[:-1]]
    report = audit_chain_verify(batch=37)  # an odd batch size crosses batch boundaries mid-chain
    assert (report.intact, report.checked) == (True, THREADS * PER_THREAD)


def test_audit_verify_reports_an_intact_chain(db):
    for i in range(3):
        audit_record(actor=None, action="test.event", object_type="test", object_id=i, after={"i": i})
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "audit chain intact: 3 events" in out.getvalue()


def test_decimal_and_date_payloads_verify(db):
    import datetime as dt
    from decimal import Decimal

    audit_record(actor=None, action="test.money", object_type="test", object_id=1,
                 after={"amount": Decimal("1000.00000001"), "day": dt.date(2026, 3, 1), "zh": "風險"})
    assert audit_chain_verify().intact
