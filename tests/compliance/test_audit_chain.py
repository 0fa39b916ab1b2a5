"""The audit chain: unchained writes on the request path, chaining after the commit, audit_verify, the lag check."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from core.audit import GENESIS_HASH, audit_chain, audit_chain_lag, audit_record, link_hash
from core.audit_verify import HASH_SQL, audit_chain_verify
from core.models import AuditEvent

THREADS, PER_THREAD = 16, 25


def _chain() -> list[tuple[int, str, str, int]]:
    return list(AuditEvent.objects.filter(hash__isnull=False).order_by("chain_position")
                .values_list("sequence", "prev_hash", "hash", "chain_position"))


def _assert_one_chain(events: list[tuple[int, str, str, int]]) -> None:
    # One chain: each event links to the one before it, so no two events share a predecessor (no fork).
    assert [prev for _s, prev, _h, _p in events] == [GENESIS_HASH] + [h for _s, _p, h, _c in events[:-1]]
    assert [position for *_rest, position in events] == list(range(1, len(events) + 1))


@pytest.mark.django_db(transaction=True)
def test_16_threads_appending_at_once_then_chained_make_one_unbroken_chain():
    """Writers take no chain lock (events land unchained); chainers running alongside and after them link
    every committed event exactly once."""
    barrier = threading.Barrier(THREADS + 2)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(PER_THREAD):
                with transaction.atomic():
                    audit_record(actor=None, action="test.concurrent", object_type="thread", object_id=n,
                                 after={"thread": n, "i": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def chainer() -> None:
        try:
            barrier.wait()
            while not done.is_set():
                audit_chain(wait=False, batch=7)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    chainers = [threading.Thread(target=chainer) for _ in range(2)]
    for t in writers + chainers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    for t in chainers:
        t.join()
    assert errors == []
    audit_chain()
    events = _chain()
    assert len(events) == THREADS * PER_THREAD
    assert AuditEvent.objects.filter(hash__isnull=True).count() == 0
    _assert_one_chain(events)
    report = audit_chain_verify(batch=37)  # an odd batch size crosses batch boundaries mid-chain
    assert (report.intact, report.checked, report.unchained) == (True, THREADS * PER_THREAD, 0)


@pytest.mark.django_db(transaction=True)
def test_an_event_of_a_transaction_in_flight_is_chained_after_it_commits_not_before():
    """A transaction takes a sequence number, then others commit after it: the chainer skips the in-flight
    event (it cannot see it) and chains it once committed, at the end of the chain, lower sequence or not."""
    in_flight = threading.Event()
    commit = threading.Event()
    result: dict[str, int] = {}

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                result["seq"] = audit_record(actor=None, action="test.slow", object_type="t", object_id=1).sequence
                in_flight.set()
                assert commit.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert in_flight.wait(30)
    later = [audit_record(actor=None, action="test.fast", object_type="t", object_id=i).sequence for i in range(3)]
    assert min(later) > result.get("seq", 0)
    assert audit_chain() == 3
    assert [s for s, *_rest in _chain()] == later  # the lower, in-flight sequence is not in the chain
    commit.set()
    thread.join()
    assert audit_chain() == 1
    events = _chain()
    assert [s for s, *_rest in events] == [*later, result["seq"]]
    _assert_one_chain(events)
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "audit chain intact: 4 events" in out.getvalue()


def test_the_request_path_writes_unchained_and_takes_no_chain_lock(db):
    event = audit_record(actor=None, action="test.event", object_type="test", object_id=1, after={"n": 1})
    event.refresh_from_db()
    assert (event.prev_hash, event.hash, event.chain_position) == (None, None, None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        assert cursor.fetchone()[0] == 0
    assert audit_chain() == 1
    event.refresh_from_db()
    assert (event.prev_hash, event.chain_position) == (GENESIS_HASH, 1)
    assert event.hash == link_hash(GENESIS_HASH, event.payload)
    assert audit_chain() == 0  # idempotent: nothing left


def test_audit_verify_chains_first_and_reports_an_intact_chain(db):
    for i in range(3):
        audit_record(actor=None, action="test.event", object_type="test", object_id=i, after={"i": i})
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "audit chain intact: 3 events" in out.getvalue()
    assert AuditEvent.objects.filter(hash__isnull=True).count() == 0


def test_decimal_and_date_payloads_verify(db):
    audit_record(actor=None, action="test.money", object_type="test", object_id=1,
                 after={"amount": Decimal("1000.00000001"), "day": dt.date(2026, 3, 1), "zh": "風險"})
    audit_chain()
    assert audit_chain_verify().intact


def test_a_chained_event_cannot_be_chained_again(db):
    audit_record(actor=None, action="test.event", object_type="test", object_id=1)
    audit_chain()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE compliance_auditevent SET hash = %s, prev_hash = %s", ["f" * 64, "e" * 64])


def test_unchained_events_older_than_the_limit_fail_the_health_check_and_audit_verify(db, client, settings):
    settings.AUDIT_CHAIN_MAX_LAG_SECONDS = 60
    start = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        first = audit_record(actor=None, action="test.event", object_type="test", object_id=1)
        assert audit_chain_lag() == (0, None)
        assert client.get("/healthz").json() == {"status": "ok"}
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        assert audit_chain_lag()[0] == 1
        response = client.get("/healthz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "fail"
        assert body["audit_chain"]["unchained_over_limit"] == 1
        assert body["audit_chain"]["oldest_sequence"] == first.sequence
        with pytest.raises(CommandError) as stale:
            call_command("audit_verify", "--no-chain", verbosity=0)
        assert stale.value.returncode == 2
        assert f"oldest #{first.sequence}" in str(stale.value)
        call_command("audit_verify", verbosity=0)  # chains, so nothing is left behind
        assert audit_chain_lag() == (0, None)
        assert client.get("/healthz").status_code == 200


def test_the_chain_task_chains_and_is_idempotent(db):
    from core.tasks import audit_chain_task

    audit_record(actor=None, action="test.event", object_type="test", object_id=1)
    assert audit_chain_task.apply().get() == 1
    assert audit_chain_task.apply().get() == 0


@pytest.mark.django_db(transaction=True)
def test_a_commit_asks_a_worker_to_chain(settings, monkeypatch):
    from core import audit

    settings.AUDIT_CHAIN_ON_COMMIT = True
    monkeypatch.setattr(audit._kick_due, "last", float("-inf"))
    sent: list[str] = []
    monkeypatch.setattr("core.tasks.audit_chain_task.delay", lambda: sent.append("chain"))
    with transaction.atomic():
        for i in range(3):
            audit_record(actor=None, action="test.event", object_type="test", object_id=i)
        assert sent == []
    assert sent == ["chain"]  # once per transaction, after the commit


@pytest.mark.django_db(transaction=True)
def test_commits_in_a_burst_ask_once_and_beat_or_the_next_kick_chains_the_rest(settings, monkeypatch):
    from core import audit

    settings.AUDIT_CHAIN_ON_COMMIT = True
    settings.AUDIT_CHAIN_KICK_SECONDS = 60
    monkeypatch.setattr(audit._kick_due, "last", float("-inf"))
    sent: list[str] = []
    monkeypatch.setattr("core.tasks.audit_chain_task.delay", lambda: sent.append("chain"))
    for i in range(3):
        with transaction.atomic():
            audit_record(actor=None, action="test.event", object_type="test", object_id=i)
    assert sent == ["chain"]  # one run chains every event committed before it
    assert audit_chain() == 3  # what beat (or the next kick) does for the two whose kick was skipped

    settings.AUDIT_CHAIN_KICK_SECONDS = 0  # every commit kicks, as before
    for i in range(2):
        with transaction.atomic():
            audit_record(actor=None, action="test.event", object_type="test", object_id=i)
    assert sent == ["chain"] * 3


TRICKY = [
    {"zh": "風險披露", "emoji": "💰🚀", "quote": 'say "hi"', "backslash": "a\\b", "ctl": "tab\tnl\n",
     "amount": Decimal("1000.000000000000000001"), "day": dt.date(2026, 3, 1), "neg": Decimal("-0.5")},
    {"nested": {"b": [1, 2, {"z": None, "a": True}], "a": 1.5e-7}, "big": 10**30, "empty": {}, "list": []},
    None,
    {"k" * 60: "v", "ünïcødé-key": "é", "\u2028": "line separator"},
]


def test_the_sql_hash_agrees_with_python_byte_for_byte(db):
    """What PostgreSQL hashes (audit_verify) is what Python hashes (the chainer), for awkward payloads too."""
    prev = GENESIS_HASH
    for i, after in enumerate(TRICKY):
        event = audit_record(actor=None, action="test.tricky", object_type="test", object_id=f"ü{i}",
                             before={"i": i}, after=after)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {HASH_SQL.format(prev='%s', payload='payload')} FROM compliance_auditevent "
                           "WHERE sequence = %s", [prev, event.sequence])
            assert cursor.fetchone()[0] == link_hash(prev, event.payload)
        prev = link_hash(prev, event.payload)
    audit_chain()
    report = audit_chain_verify(batch=3)
    assert (report.intact, report.checked, report.last_hash) == (True, len(TRICKY), prev)


def _tamper(sql: str, params: list) -> None:
    with connection.cursor() as cursor:  # as a superuser, bypassing the append-only trigger
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.mark.parametrize("batch", [2, 3, 100])  # the broken event first, inside, or alone in a range
def test_the_first_broken_event_is_named_whatever_the_range(db, batch):
    events = [audit_record(actor=None, action="test.event", object_type="test", object_id=i, after={"n": i})
              for i in range(8)]
    audit_chain()
    fifth = events[4]
    # The payload and the hash rewritten together (a consistent forgery of one event) breaks the next link.
    forged = fifth.payload.replace('"n":4', '"n":40')
    _tamper("UPDATE compliance_auditevent SET payload = %s, after = '{\"n\": 40}', hash = %s WHERE sequence = %s",
            [forged, link_hash(AuditEvent.objects.get(pk=fifth.pk).prev_hash, forged), fifth.sequence])
    report = audit_chain_verify(batch=batch)
    assert (report.broken_sequence, report.checked) == (events[5].sequence, 5)
    assert "prev_hash" in report.reason and f"#{fifth.sequence}" in report.reason
    # A column changed under an intact payload and hash: the event's own content fails.
    _tamper("UPDATE compliance_auditevent SET object_id = 'x' WHERE sequence = %s", [events[2].sequence])
    report = audit_chain_verify(batch=batch)
    assert (report.broken_sequence, report.checked, report.reason) == (
        events[2].sequence, 2, "hash does not match the event's content")


@pytest.mark.django_db(transaction=True)
def test_a_row_and_its_event_in_one_statement_are_what_audit_record_writes(assets):
    """`audit_record_inserting` (a refusal and its event, outside any transaction block): the payload is the
    canonical text of its columns, byte for byte, and the chain over it verifies."""
    import json

    from compliance.models import Refusal
    from compliance.services.acknowledgements import refusal_record
    from core.audit import event_body
    from tests.earn.factories import live_product
    from tests.factories import UserFactory

    user = UserFactory(country="SG")
    product = live_product("USDT", total_cap="1")
    refusal = refusal_record(user=user, product_id=product.pk, amount=Decimal("100.5"), codes=["CAP_REACHED"],
                             detail="Full")
    stored = Refusal.objects.get(pk=refusal.pk)
    assert (stored.user_id, stored.product_id, stored.codes, stored.amount) == (user.pk, product.pk, ["CAP_REACHED"],
                                                                               Decimal("100.5"))
    event = AuditEvent.objects.get(action="refusal.subscribe", object_id=str(refusal.pk))
    assert event.object_type == "compliance.refusal" and event.actor_id == user.pk
    assert event.after == {"product": product.pk, "amount": "100.5", "codes": ["CAP_REACHED"]}
    assert event.payload == event_body(sequence=event.sequence, created_at=event.created_at, actor_id=user.pk,
                                       action=event.action, object_type=event.object_type,
                                       object_id=event.object_id, before=None, after=event.after)
    assert json.loads(event.payload)["object_id"] == str(refusal.pk)
    audit_chain()
    assert audit_chain_verify().intact
