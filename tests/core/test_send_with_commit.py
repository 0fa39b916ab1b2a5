"""A transaction's last write sent with its COMMIT in one round trip (core.db_backend.send_with_commit), as the
Idempotency-Key's answer is on every money request. Real transactions: a wrapping test transaction never
commits, which is the case where the statement must run at once."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core.models import IdempotencyRecord
from tests.factories import UserFactory
from tests.ledger.helpers import raw_entry

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = "UPDATE core_idempotencyrecord SET response_status = %s, response_body = %s::jsonb WHERE id = %s"


@pytest.fixture
def record():
    return IdempotencyRecord.objects.create(user=UserFactory(), key="k", scope="test", request_hash="h")


def status_of(record) -> int | None:
    return IdempotencyRecord.objects.values_list("response_status", flat=True).get(pk=record.pk)


def test_the_last_write_goes_with_the_commit_in_one_round_trip(record):
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        assert connection.send_with_commit(ANSWER, [201, '{"it\'s": "已提交"}', record.pk])
        assert status_of(record) is None  # not sent yet
    assert status_of(record) == 201
    assert IdempotencyRecord.objects.get(pk=record.pk).response_body == {"it's": "已提交"}
    sent = queries.captured_queries[-1]["sql"]
    assert sent.startswith("UPDATE core_idempotencyrecord") and sent.endswith("; COMMIT")
    assert not any(q["sql"] == "COMMIT" for q in queries.captured_queries)  # no separate COMMIT
    assert connection.connection.info.transaction_status == 0  # IDLE: the transaction ended


def test_inside_an_enclosing_block_it_is_not_deferred_and_the_caller_runs_it(record):
    with transaction.atomic(), transaction.atomic():
        assert not connection.send_with_commit(ANSWER, [201, None, record.pk])
    assert not connection.send_with_commit(ANSWER, [201, None, record.pk])  # no transaction at all
    assert status_of(record) is None


def test_a_rollback_drops_it_and_the_next_commit_does_not_send_it(record):
    with pytest.raises(ValueError), transaction.atomic():
        connection.send_with_commit(ANSWER, [409, None, record.pk])
        raise ValueError("refused after the last write was queued")
    with transaction.atomic():
        IdempotencyRecord.objects.filter(pk=record.pk).update(scope="other")
    assert status_of(record) is None and IdempotencyRecord.objects.get(pk=record.pk).scope == "other"


def test_a_commit_refused_by_a_deferred_check_raises_and_keeps_nothing(record):
    with pytest.raises(IntegrityError, match="at least 2 are required"), transaction.atomic():
        entry = raw_entry("deferred-check-at-commit")  # no postings: the balanced-entry check fails at COMMIT
        assert connection.send_with_commit(ANSWER, [201, None, record.pk])
    assert status_of(record) is None
    assert not connection.in_atomic_block and connection.connection.info.transaction_status == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_journalentry WHERE id = %s", [entry])
        assert cursor.fetchone()[0] == 0
