"""Audit events partitioned by month: keys across months, append-only partitions, retention, conversion.

Retention detaches whole months of chained events; `audit_verify` then checks the live chain from the
anchor the key table kept, still finds a removed live event, and the chainer goes on from the highest
position ever given. The conversion test migrates core back to 0004 and forward on a populated trail.
"""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from core import audit_retention
from core.audit import audit_chain, audit_record
from core.audit_verify import audit_chain_verify
from core.models import AuditEvent, AuditEventKey, DetachedPartition
from core.partitions import PartitionError, detach_before, ensure_partitions
from tests.partitioning import one as _one
from tests.partitioning import partitions

pytestmark = pytest.mark.django_db
UTC = dt.UTC
TABLE = "compliance_auditevent"


def _partitions() -> list[str]:
    return partitions(TABLE)


def _event_at(at: dt.datetime, n: int) -> AuditEvent:
    with time_machine.travel(at, tick=False):
        return audit_record(actor=None, action="test.event", object_type="test", object_id=n, after={"n": n})


def _tamper(sql: str, params: list) -> None:
    with connection.cursor() as cursor:  # as a superuser, bypassing the triggers
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def test_partitioned_by_created_at_with_the_sequence_kept():
    assert _one("SELECT a.attname FROM pg_partitioned_table p JOIN pg_attribute a ON a.attrelid = p.partrelid"
                " AND a.attnum = p.partattrs[0] WHERE p.partrelid = %s::regclass", [TABLE]) == ("created_at",)
    assert _one("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
                [TABLE]) == ("PRIMARY KEY (sequence, created_at)",)
    assert _one("SELECT pg_get_serial_sequence(%s, 'sequence')", [TABLE]) == (f"public.{TABLE}_sequence_seq",)
    assert f"{TABLE}_default" in _partitions()


def test_sequence_position_and_hash_stay_unique_across_months():
    first = _event_at(dt.datetime(2027, 1, 10, tzinfo=UTC), 1)
    _event_at(dt.datetime(2027, 2, 10, tzinfo=UTC), 2)
    # The same sequence in another month: refused by the key table.
    with pytest.raises(IntegrityError, match="core_auditeventkey_pkey"), transaction.atomic():
        _one(f"INSERT INTO {TABLE} (sequence, created_at, action, object_type, object_id, payload)"
             " VALUES (%s, '2027-03-05', 'x', 'x', 'x', '{}') RETURNING sequence", [first.sequence])
    audit_chain()
    chained = list(AuditEvent.objects.order_by("chain_position").values_list("sequence", "chain_position", "hash"))
    assert AuditEventKey.objects.filter(chain_position__isnull=False).count() == len(chained)
    assert list(AuditEventKey.objects.order_by("chain_position").values_list("sequence", "chain_position", "hash")) \
        == chained
    # A third event, chained by hand at a position (or with a hash) an event of another month holds: refused.
    third = _event_at(dt.datetime(2027, 3, 10, tzinfo=UTC), 3)
    for position, digest in ((chained[0][1], "a" * 64), (10_000, chained[0][2])):
        with pytest.raises(IntegrityError, match=r"auditeventkey_(position|hash)_unique"), transaction.atomic():
            _one(f"UPDATE {TABLE} SET chain_position = %s, hash = %s, prev_hash = %s WHERE sequence = %s"
                 " RETURNING sequence", [position, digest, "b" * 64, third.sequence])


def test_a_partition_named_directly_is_append_only_and_keys_too():
    event = _event_at(dt.datetime(2027, 1, 10, tzinfo=UTC), 1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _one(f"DELETE FROM {TABLE}_p2027_01 RETURNING sequence")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _one("DELETE FROM core_auditeventkey WHERE sequence = %s RETURNING sequence", [event.sequence])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _one("UPDATE core_auditeventkey SET created_at = now() WHERE sequence = %s RETURNING sequence",
             [event.sequence])


def test_ensure_creates_the_months_of_audit_events_too():
    created = ensure_partitions(1, today=dt.date(2038, 5, 3))
    assert {f"{TABLE}_p2038_05", f"{TABLE}_p2038_06"} <= set(created)
    assert {"compliance_acknowledgement_p2038_05", "compliance_acknowledgement_p2038_06"} <= set(created)


class TestRetention:
    @pytest.fixture
    def months(self):
        """Events in January and February 2027, and one of February committed (chained) after one of March."""
        events = [_event_at(dt.datetime(2027, 1, 10, tzinfo=UTC), 1),
                  _event_at(dt.datetime(2027, 2, 10, tzinfo=UTC), 2)]
        audit_chain()
        march = _event_at(dt.datetime(2027, 3, 1, 0, 0, 1, tzinfo=UTC), 3)
        late_february = _event_at(dt.datetime(2027, 2, 28, 23, 59, 59, tzinfo=UTC), 4)
        audit_chain()
        april = _event_at(dt.datetime(2027, 4, 2, tzinfo=UTC), 5)
        audit_chain()
        return {"old": events, "march": march, "late_february": late_february, "april": april}

    def test_refused_within_the_retention_period(self, months, tmp_path):
        with time_machine.travel(dt.datetime(2030, 1, 1, tzinfo=UTC)), \
                pytest.raises(PartitionError, match="within the retention period"):
            detach_before(dt.date(2027, 3, 1), tmp_path)
        assert not list(tmp_path.iterdir())

    def test_refused_while_an_event_of_the_month_is_unchained(self, months, tmp_path, monkeypatch):
        _event_at(dt.datetime(2027, 2, 20, tzinfo=UTC), 6)
        monkeypatch.setattr(audit_retention, "audit_chain", lambda: 0)  # the chainer not running
        with time_machine.travel(dt.datetime(2035, 1, 1, tzinfo=UTC)), \
                pytest.raises(PartitionError, match=rf"{TABLE}_p2027_02: 1 audit event\(s\) in it are not chained"):
            detach_before(dt.date(2027, 3, 1), tmp_path)
        assert not list(tmp_path.iterdir())
        assert f"{TABLE}_p2027_02" in _partitions()

    def test_exports_detaches_and_the_live_chain_verifies_from_the_anchor(self, months, tmp_path):
        feb = AuditEvent.objects.filter(created_at__year=2027, created_at__month=2).order_by("chain_position")
        anchor = feb.last()
        rows = feb.count()
        with time_machine.travel(dt.datetime(2035, 1, 1, tzinfo=UTC)):
            done = {d.partition: d for d in detach_before(dt.date(2027, 3, 1), tmp_path)}
        part = f"{TABLE}_p2027_02"
        assert done[part].rows == rows == 2
        assert len((tmp_path / f"{part}.copy").read_text().splitlines()) == rows
        assert (tmp_path / f"{part}.copy.sha256").read_text().startswith(done[part].sha256)
        assert part not in _partitions() and _one(f"SELECT count(*) FROM {part}") == (rows,)
        recorded = DetachedPartition.objects.get(partition=part)
        assert (recorded.anchor_position, recorded.anchor_hash) == (anchor.chain_position, anchor.hash)
        # The live chain: March's event sits before the late February one, April's after it.
        out = StringIO()
        call_command("audit_verify", stdout=out)
        report = audit_chain_verify()
        assert report.intact, report
        first_live = AuditEvent.objects.order_by("chain_position").first()
        assert first_live.sequence == months["march"].sequence
        assert report.anchor_position == first_live.chain_position - 1
        assert "anchored on the hash of the detached month's position" in out.getvalue()
        # Keys stay: the chainer goes on after the highest position, and a detached sequence is never reused.
        new = audit_record(actor=None, action="test.after", object_type="test", object_id="x")
        audit_chain()
        new.refresh_from_db()
        assert new.chain_position == AuditEventKey.objects.order_by("-chain_position").first().chain_position
        assert new.chain_position > AuditEventKey.objects.get(sequence=months["late_february"].sequence).chain_position
        assert audit_chain_verify().intact
        with pytest.raises(IntegrityError, match="core_auditeventkey_pkey"), transaction.atomic():
            _one(f"INSERT INTO {TABLE} (sequence, created_at, action, object_type, object_id, payload)"
                 " VALUES (%s, now(), 'x', 'x', 'x', '{}') RETURNING sequence", [months["old"][0].sequence])

    def test_a_live_event_removed_is_still_found(self, months, tmp_path):
        with time_machine.travel(dt.datetime(2035, 1, 1, tzinfo=UTC)):
            detach_before(dt.date(2027, 3, 1), tmp_path)
        audit_chain()
        assert audit_chain_verify().intact
        # March's event: the next live event's predecessor was detached, so only the key table tells.
        march = months["march"]
        _tamper(f"DELETE FROM {TABLE} WHERE sequence = %s", [march.sequence])
        report = audit_chain_verify()
        assert report.broken_sequence == months["april"].sequence, report
        assert "prev_hash" in report.reason

    def test_the_last_live_event_removed_is_found(self, months):
        _tamper(f"DELETE FROM {TABLE} WHERE sequence = %s", [months["april"].sequence])
        report = audit_chain_verify()
        assert report.broken_sequence == months["april"].sequence
        assert "missing" in report.reason


@pytest.mark.django_db(transaction=True)
def test_conversion_back_and_forth_keeps_the_chain():
    """core 0005 reversed and applied again: events, sequences and the chain survive; old months get partitions."""
    for n in range(3):
        audit_record(actor=None, action="test.event", object_type="test", object_id=n, after={"n": n})
    audit_chain()
    before = list(AuditEvent.objects.order_by("sequence").values_list("sequence", "chain_position", "hash", "payload"))
    call_command("migrate", "core", "0004_partition_functions", verbosity=0)
    try:
        assert _one("SELECT relkind FROM pg_class WHERE relname = %s", [TABLE]) == ("r",)
        assert _one("SELECT to_regclass('core_auditeventkey')") == (None,)
        # The old schema: an event of an old month, left unchained (the chainer runs after the conversion).
        with time_machine.travel(dt.datetime(2025, 6, 15, tzinfo=UTC), tick=False):
            old = audit_record(actor=None, action="test.old", object_type="test", object_id="old")
    finally:
        call_command("migrate", verbosity=0)
    assert _one("SELECT relkind FROM pg_class WHERE relname = %s", [TABLE]) == ("p",)
    assert f"{TABLE}_p2025_06" in _partitions()
    after = list(AuditEvent.objects.exclude(sequence=old.sequence).order_by("sequence")
                 .values_list("sequence", "chain_position", "hash", "payload"))
    assert after == before
    assert AuditEventKey.objects.count() == len(before) + 1
    assert audit_chain() == 1
    assert audit_chain_verify().intact
    new = audit_record(actor=None, action="test.new", object_type="test", object_id="new")
    assert new.sequence > old.sequence
    audit_chain()
    assert audit_chain_verify().intact
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _one(f"DELETE FROM {TABLE}_p2025_06 RETURNING sequence")
