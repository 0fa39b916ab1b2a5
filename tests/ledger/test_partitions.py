"""Journal entries and postings partitioned by month: keys, months, maintenance, retention, conversion.

The conversion test migrates the ledger back to 0008 and forward again on a populated database: the
rows, balances, keys and invariants survive both ways, and the months of the existing rows get their
partitions.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from core.models import AuditEvent, DetachedPartition
from core.partitions import PartitionError, detach_before, ensure_partitions, partitions_list
from ledger import services as ledger
from ledger.models import AccountKind, ArchivedPostings, EntryKind, JournalEntry, JournalEntryKey, Posting
from ledger.reconcile import ledger_reconcile
from tests.factories import UserFactory
from tests.ledger.helpers import balance, raw_posting
from tests.partitioning import every as _all
from tests.partitioning import one as _one
from tests.partitioning import partitions as _partitions

pytestmark = pytest.mark.django_db
UTC = dt.UTC
HISTORY = ("compliance_acknowledgement", "compliance_auditevent", "earn_accrual", "ledger_journalentry",
           "ledger_posting")  # the partitioned tables


def _raw_entry_at(key: str, at: dt.datetime) -> int:
    return _one("INSERT INTO ledger_journalentry (kind, idempotency_key, fingerprint, reference, memo, created_at)"
                " VALUES ('transfer', %s, 'raw', '', '', %s) RETURNING id", [key, at])[0]


def _raw_posting_at(entry_id: int, account, side: str, amount: str, at: dt.datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at)"
                       " VALUES (%s, %s, %s, %s, %s, %s)", [entry_id, account.pk, account.asset_id, side,
                                                             Decimal(amount), at])


def _ensure_month(table: str, month: dt.date) -> None:
    _one("SELECT partition_month_ensure(%s::regclass, %s)", [table, month])


class TestCatalog:
    def test_entries_and_postings_are_range_partitioned_by_created_at(self):
        rows = dict(_all("SELECT c.relname, a.attname FROM pg_partitioned_table p"
                         " JOIN pg_class c ON c.oid = p.partrelid"
                         " JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
                         " WHERE p.partstrat = 'r'"))
        assert rows == {"ledger_journalentry": "created_at", "ledger_posting": "created_at", "earn_accrual": "date",
                        "compliance_auditevent": "created_at", "compliance_acknowledgement": "accepted_at"}
        for table in ("ledger_journalentry", "ledger_posting"):
            names = _partitions(table)
            assert f"{table}_default" in names
            assert any(name.startswith(f"{table}_p") for name in names)
            assert _one("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass"
                        " AND contype = 'p'", [table])[0] == "PRIMARY KEY (id, created_at)"
            # The id sequence kept its name (monitoring reads it) and continues.
            assert _one("SELECT pg_get_serial_sequence(%s, 'id')", [table])[0] == f"public.{table}_id_seq"

    def test_triggers_are_cloned_onto_every_partition(self):
        for table, trigger in (("ledger_journalentry", "journalentry_rows_append_only"),
                               ("ledger_journalentry", "journalentry_balanced"),
                               ("ledger_journalentry", "journalentry_key_claim"),
                               ("ledger_posting", "posting_rows_append_only")):
            on = {name for (name,) in _all("SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = %s",
                                            [trigger])}
            assert set(_partitions(table)) <= on, trigger


class TestIdempotencyKeys:
    def test_a_key_is_unique_across_months(self, usdt):
        """The same key in another month's partition is refused: the key table holds it."""
        entry = JournalEntry.objects.get(kind=EntryKind.DEPOSIT)
        with pytest.raises(IntegrityError, match="idempotency_key"), transaction.atomic():
            _raw_entry_at(entry.idempotency_key, dt.datetime(2020, 1, 15, tzinfo=UTC))
        assert JournalEntryKey.objects.get(idempotency_key=entry.idempotency_key).entry_id == entry.pk

    def test_services_replay_and_refuse_reuse_through_the_key_table(self, usdt):
        first = ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:k", debit=usdt["available"],
                                credit=usdt["earn"], amount=Decimal("10"))
        with time_machine.travel(dt.datetime(2031, 5, 3, tzinfo=UTC)):
            again = ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:k", debit=usdt["available"],
                                    credit=usdt["earn"], amount=Decimal("10"))
            with pytest.raises(ledger.IdempotencyKeyReused):
                ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:k", debit=usdt["available"],
                                credit=usdt["earn"], amount=Decimal("11"))
        assert again.pk == first.pk
        assert balance(usdt["earn"]) == Decimal("10")
        key = JournalEntryKey.objects.get(idempotency_key="sub:k")
        assert (key.entry_id, key.entry_created_at) == (first.pk, first.created_at)

    def test_an_entry_id_cannot_be_taken_twice(self, usdt):
        entry = JournalEntry.objects.get(kind=EntryKind.DEPOSIT)
        with pytest.raises(IntegrityError, match="already taken"), transaction.atomic():
            _one("INSERT INTO ledger_journalentry (id, kind, idempotency_key, fingerprint, created_at, reference, memo)"
                 " VALUES (%s, 'transfer', 'raw:other', 'x', '2021-03-01', '', '') RETURNING id", [entry.pk])


class TestMonths:
    def test_posting_in_another_month_than_its_entry_refused(self, usdt):
        at = dt.datetime(2030, 6, 30, 23, 59, tzinfo=UTC)
        with pytest.raises(IntegrityError, match="share a month"), transaction.atomic():
            entry_id = _raw_entry_at("raw:month", at)
            _raw_posting_at(entry_id, usdt["external"], "D", "1", at + dt.timedelta(minutes=2))

    def test_posting_of_a_missing_entry_refused(self, usdt):
        with pytest.raises(IntegrityError, match="no such entry"), transaction.atomic():
            raw_posting(987654321, usdt["external"], "D", "1")

    def test_entry_in_the_default_partition_is_checked_like_any_other(self, usdt):
        """A far date lands in the default partition; the balance check still runs at commit."""
        at = dt.datetime(2041, 2, 1, tzinfo=UTC)
        with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
            entry_id = _raw_entry_at("raw:far", at)
            _raw_posting_at(entry_id, usdt["external"], "D", "1", at)
            _raw_posting_at(entry_id, usdt["available"], "C", "2", at)
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    @pytest.mark.parametrize("statement", [
        "UPDATE ledger_posting_default SET amount = amount",
        "DELETE FROM ledger_posting_default",
        "UPDATE ledger_journalentry_default SET memo = 'x'",
        "DELETE FROM ledger_journalentry_default",
    ])
    def test_a_partition_named_directly_is_append_only_too(self, usdt, statement):
        at = dt.datetime(2041, 2, 1, tzinfo=UTC)
        entry_id = _raw_entry_at("raw:far-ok", at)
        _raw_posting_at(entry_id, usdt["external"], "D", "1", at)
        other = ledger.account_for(owner_id=UserFactory().pk, asset="USDT", kind=AccountKind.AVAILABLE)
        _raw_posting_at(entry_id, other, "C", "1", at)
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as c:
            c.execute(statement)
        assert Posting.objects.filter(entry_id=entry_id).count() == 2


class TestEnsure:
    def test_creates_this_month_and_the_next_ones_once(self):
        with time_machine.travel(dt.datetime(2033, 11, 20, tzinfo=UTC)):
            created = ensure_partitions(months_ahead=2)
            assert set(created) == {f"{t}_p{m}" for t in HISTORY for m in ("2033_11", "2033_12", "2034_01")}
            assert ensure_partitions(months_ahead=2) == []
        assert "ledger_posting_p2034_01" in _partitions("ledger_posting")
        bound = _one("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'ledger_posting_p2034_01'")
        assert bound[0] == "FOR VALUES FROM ('2034-01-01 00:00:00+00') TO ('2034-02-01 00:00:00+00')"

    def test_refuses_a_month_the_default_partition_holds_rows_of(self, usdt):
        at = dt.datetime(2036, 4, 2, tzinfo=UTC)
        entry_id = _raw_entry_at("raw:default", at)
        _raw_posting_at(entry_id, usdt["external"], "D", "1", at)
        _raw_posting_at(entry_id, usdt["external"], "C", "1", at)
        with pytest.raises(PartitionError, match="default partition"):
            ensure_partitions(months_ahead=0, today=dt.date(2036, 4, 9))
        assert "ledger_journalentry_p2036_04" not in _partitions("ledger_journalentry")

    def test_command_lists_and_ensures(self, capsys):
        with time_machine.travel(dt.datetime(2035, 7, 1, tzinfo=UTC)):
            call_command("partitions", "--ensure", "--months", "1")
        assert "created ledger_posting_p2035_08" in capsys.readouterr().out
        call_command("partitions")
        assert "ledger_posting_p2035_08" in capsys.readouterr().out

    @pytest.mark.parametrize(("argv", "message"), [
        (["--ensure", "--months", "100000"], "0 to 120"),  # one transaction: PostgreSQL ran out of shared memory
        (["--ensure", "--months", "-1"], "0 to 120"),
        (["--months", "3"], "goes with --ensure"),
        (["--export-dir", "/tmp"], "goes with --detach-before"),
        (["--detach-before", "2010-01", "--export-dir", "a\x00b"], "NUL"),  # was a ValueError traceback
        (["--detach-before", "0000-00", "--export-dir", "/tmp"], "YYYY-MM"),
    ])
    def test_command_refuses_what_it_cannot_mean_before_any_work(self, argv, message):
        before = {t: _partitions(t) for t in HISTORY}
        with pytest.raises(CommandError, match=message):
            call_command("partitions", *argv)
        assert {t: _partitions(t) for t in HISTORY} == before

    def test_command_turns_an_unusable_export_dir_into_a_clear_error(self, tmp_path):
        """A file where the directory should be, or a missing parent that cannot be made: exit 1, not a traceback."""
        a_file = tmp_path / "not-a-directory"
        a_file.write_text("")
        for path in (a_file, a_file / "below"):
            with pytest.raises(CommandError, match="--export-dir"):
                call_command("partitions", "--detach-before", "2010-01", "--export-dir", str(path))

    def test_beat_runs_the_job(self, settings):
        from core.tasks import partitions_ensure_task

        assert settings.CELERY_BEAT_SCHEDULE["partitions-daily"]["task"] == "core.tasks.partitions_ensure_task"
        settings.PARTITION_MONTHS_AHEAD = 1
        with time_machine.travel(dt.datetime(2037, 1, 5, tzinfo=UTC)):
            assert set(partitions_ensure_task()) == {f"{t}_p{m}" for t in HISTORY for m in ("2037_01", "2037_02")}


class TestRetention:
    @pytest.fixture
    def closed_month(self, assets, customer, fund):
        """February 2027: a customer funded and paid out in full (balance 0), the month's partitions present."""
        for table in ("ledger_journalentry", "ledger_posting"):
            _ensure_month(table, dt.date(2027, 2, 1))
        with time_machine.travel(dt.datetime(2027, 2, 10, tzinfo=UTC)):
            fund(customer, "USDT", "40")
            ledger.transfer(
                kind=EntryKind.WITHDRAWAL, idempotency_key="wd:1",
                debit=ledger.account_for(owner_id=customer.pk, asset="USDT", kind=AccountKind.AVAILABLE),
                credit=ledger.platform_account(asset="USDT", kind=AccountKind.EXTERNAL), amount=Decimal("40"))
        return customer

    def test_refused_within_the_retention_period(self, closed_month, tmp_path):
        with time_machine.travel(dt.datetime(2030, 1, 1, tzinfo=UTC)), \
                pytest.raises(PartitionError, match="within the retention period"):
            detach_before(dt.date(2027, 3, 1), tmp_path)
        assert not list(tmp_path.iterdir())
        assert "ledger_posting_p2027_02" in _partitions("ledger_posting")

    def test_refused_while_a_customer_account_of_the_month_is_open(self, closed_month, fund, tmp_path):
        with time_machine.travel(dt.datetime(2027, 2, 11, tzinfo=UTC)):
            fund(UserFactory(), "USDT", "5")  # stays open
        with time_machine.travel(dt.datetime(2035, 1, 1, tzinfo=UTC)), \
                pytest.raises(PartitionError, match="still hold a balance"):
            detach_before(dt.date(2027, 3, 1), tmp_path)
        assert not list(tmp_path.iterdir())

    def test_exports_then_detaches_and_the_books_still_reconcile(self, closed_month, tmp_path, ledger_checks_only):
        postings = Posting.objects.filter(created_at__year=2027, created_at__month=2).count()
        assert postings == 4
        with time_machine.travel(dt.datetime(2035, 1, 1, tzinfo=UTC)):
            done = {d.partition: d for d in detach_before(dt.date(2027, 3, 1), tmp_path)}
            report = ledger_reconcile()
        assert done["ledger_posting_p2027_02"].rows == postings
        assert done["ledger_journalentry_p2027_02"].rows == 2
        export = (tmp_path / "ledger_posting_p2027_02.copy").read_text()
        assert len(export.splitlines()) == postings
        assert (tmp_path / "ledger_posting_p2027_02.copy.sha256").read_text().startswith(
            done["ledger_posting_p2027_02"].sha256)
        assert "ledger_posting_p2027_02" not in _partitions("ledger_posting")
        # Detached, not deleted: the table is still there, outside the ledger.
        assert _one("SELECT count(*) FROM ledger_posting_p2027_02")[0] == postings
        assert not Posting.objects.filter(created_at__year=2027, created_at__month=2).exists()
        assert ArchivedPostings.objects.filter(partition="ledger_posting_p2027_02").count() == 2
        assert report.ok, report
        recorded = DetachedPartition.objects.get(partition="ledger_posting_p2027_02")
        assert (recorded.rows, recorded.sha256, recorded.month) == (postings, done["ledger_posting_p2027_02"].sha256,
                                                                   dt.date(2027, 2, 1))
        assert AuditEvent.objects.filter(action="partitions.detach", object_id="ledger_posting_p2027_02").exists()
        # The keys stay: an archived key is never reused.
        with pytest.raises(ledger.IdempotencyKeyReused):
            ledger.transfer(kind=EntryKind.WITHDRAWAL, idempotency_key="wd:1",
                            debit=ledger.platform_account(asset="USDT", kind=AccountKind.EXTERNAL),
                            credit=ledger.platform_account(asset="USDT", kind=AccountKind.FEE_INCOME),
                            amount=Decimal("1"))

    def test_command_needs_an_export_dir_and_refuses_recent_months(self, tmp_path):
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match="export-dir"):
            call_command("partitions", "--detach-before", "2019-01")
        with pytest.raises(CommandError, match="retention"):
            call_command("partitions", "--detach-before", "2026-01", "--export-dir", str(tmp_path))
        with pytest.raises(CommandError, match="YYYY-MM"):
            call_command("partitions", "--detach-before", "2019/01", "--export-dir", str(tmp_path))


@pytest.mark.django_db(transaction=True)
def test_conversion_back_and_forth_on_a_populated_database(assets, customer, fund, ledger_checks_only):
    """0009 reversed and applied again: rows, ids, keys, balances and invariants survive; old months get partitions."""
    fund(customer, "USDT", "100")
    ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:conv", debit=ledger.account_for(
        owner_id=customer.pk, asset="USDT", kind=AccountKind.AVAILABLE), credit=ledger.account_for(
        owner_id=customer.pk, asset="USDT", kind=AccountKind.EARN), amount=Decimal("30"))
    before = _all("SELECT id, idempotency_key, created_at FROM ledger_journalentry ORDER BY id")
    postings = _all("SELECT id, entry_id, account_id, side, amount FROM ledger_posting ORDER BY id")
    balances = _all("SELECT id, balance FROM ledger_ledgeraccount ORDER BY id")

    call_command("migrate", "ledger", "0008_launch_account_kinds", verbosity=0)
    try:
        assert _one("SELECT relkind FROM pg_class WHERE relname = 'ledger_posting'")[0] == "r"
        assert _all("SELECT id, idempotency_key, created_at FROM ledger_journalentry ORDER BY id") == before
        assert _all("SELECT id, entry_id, account_id, side, amount FROM ledger_posting ORDER BY id") == postings
        # The old schema: an entry of an old month, keyed by the unique index it had then.
        with transaction.atomic(), connection.cursor() as cursor:
            at = dt.datetime(2025, 6, 15, tzinfo=UTC)
            cursor.execute("INSERT INTO ledger_journalentry (kind, idempotency_key, fingerprint, reference, memo,"
                           " created_at) VALUES ('transfer', 'old:1', 'x', '', '', %s) RETURNING id", [at])
            old_id = cursor.fetchone()[0]
            external = ledger.platform_account(asset="USDT", kind=AccountKind.EXTERNAL)
            fees = ledger.platform_account(asset="USDT", kind=AccountKind.FEE_INCOME)
            for account, side in ((external, "D"), (fees, "C")):
                cursor.execute("INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at)"
                               " VALUES (%s, %s, 'USDT', %s, 2, %s)", [old_id, account.pk, side, at])
    finally:
        call_command("migrate", "ledger", verbosity=0)

    assert _one("SELECT relkind FROM pg_class WHERE relname = 'ledger_posting'")[0] == "p"
    assert "ledger_journalentry_p2025_06" in _partitions("ledger_journalentry")
    assert "ledger_posting_p2025_06" in _partitions("ledger_posting")
    assert _all("SELECT id, idempotency_key, created_at FROM ledger_journalentry WHERE id <> %s ORDER BY id",
                [old_id]) == before
    assert _one("SELECT count(*) FROM ledger_posting")[0] == len(postings) + 2
    assert _all("SELECT id, balance FROM ledger_ledgeraccount WHERE id NOT IN (%s, %s) ORDER BY id",
                [external.pk, fees.pk]) == [b for b in balances if b[0] not in (external.pk, fees.pk)]
    assert set(JournalEntryKey.objects.values_list("idempotency_key", flat=True)) == \
        {key for _id, key, _at in before} | {"old:1"}
    assert ledger_reconcile().ok
    # Invariants hold on the converted tables: keys, append-only, and new ids after the copied ones.
    with pytest.raises(IntegrityError, match="idempotency_key"), transaction.atomic():
        _raw_entry_at("old:1", dt.datetime(2029, 1, 1, tzinfo=UTC))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_posting_p2025_06")
    entry = ledger.transfer(kind=EntryKind.TRANSFER, idempotency_key="after:1", debit=external, credit=fees,
                            amount=Decimal("1"))
    assert entry.pk > max(row[0] for row in [*before, (old_id, "", None)])
    assert any(p.name == "ledger_posting_p2025_06" for p in partitions_list())
