"""PostgreSQL itself refuses every way of breaking the ledger, whatever code writes the tables.

Each test goes around `ledger.services` (raw SQL, `.update()`, `.delete()`) and expects the
database error. The balance trigger is DEFERRED to commit, so tests of it either commit for real
(`transaction=True`) or force the check with `SET CONSTRAINTS ALL IMMEDIATE`.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ledger import services as ledger
from ledger.models import AccountKind, EntryKind, JournalEntry, LedgerAccount, Posting
from tests.factories import AssetFactory, UserFactory
from tests.ledger.helpers import balance, key_row, raw_entry, raw_posting, raw_postings

pytestmark = pytest.mark.django_db

# Rows that break a deferred rule are written inside the `transaction.atomic()` block that fails:
# pytest-django runs SET CONSTRAINTS ALL IMMEDIATE at teardown, which would check leftovers too.


def _set_constraints_immediate() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class TestBalancedEntries:
    @pytest.mark.django_db(transaction=True)
    def test_unbalanced_entry_refused_at_commit(self, usdt):
        """Postings that do not sum to zero are accepted row by row, then refused at COMMIT."""
        with pytest.raises(IntegrityError, match="does not balance in USDT"), transaction.atomic():
            entry_id = raw_entry("raw:unbalanced")
            raw_posting(entry_id, usdt["external"], "D", "5")
            raw_posting(entry_id, usdt["available"], "C", "6")
        assert not JournalEntry.objects.filter(idempotency_key="raw:unbalanced").exists()
        assert balance(usdt["available"]) == Decimal("100")

    def test_unbalanced_entry_refused_when_constraints_forced_immediate(self, usdt):
        """SET CONSTRAINTS ALL IMMEDIATE runs the deferred balance check on the spot."""
        with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
            entry_id = raw_entry("raw:unbalanced-immediate")
            raw_posting(entry_id, usdt["external"], "D", "5")
            raw_posting(entry_id, usdt["available"], "C", "4.99999999")
            _set_constraints_immediate()

    @pytest.mark.django_db(transaction=True)
    def test_entry_balanced_in_one_asset_but_not_another_refused(self, usdt):
        """Balance is per asset: +5 USDT −5 BTC nets to zero numerically but is refused."""
        AssetFactory(code="BTC", scale=8)
        btc_external = ledger.platform_account(asset="BTC", kind=AccountKind.EXTERNAL)
        with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
            entry_id = raw_entry("raw:cross-asset")
            raw_posting(entry_id, btc_external, "D", "5")
            raw_posting(entry_id, usdt["available"], "C", "5")

    @pytest.mark.django_db(transaction=True)
    def test_entry_with_single_posting_refused(self, usdt):
        """An entry needs at least two postings."""
        with pytest.raises(IntegrityError, match="has 1 posting"), transaction.atomic():
            entry_id = raw_entry("raw:one-leg")
            raw_posting(entry_id, usdt["external"], "D", "1")

    @pytest.mark.django_db(transaction=True)
    def test_entry_without_postings_refused(self, usdt):
        """An entry with no postings at all is refused at commit, even through the ORM."""
        with pytest.raises(IntegrityError, match="has 0 posting"), transaction.atomic():
            JournalEntry.objects.create(kind=EntryKind.TRANSFER, idempotency_key="orm:empty", fingerprint="x")

    @pytest.mark.django_db(transaction=True)
    def test_posting_added_to_entry_committed_earlier_refused(self, usdt):
        """A committed entry is closed: even a balanced pair of new postings cannot be added to it."""
        entry = JournalEntry.objects.get(kind=EntryKind.DEPOSIT)
        with pytest.raises(IntegrityError, match="committed earlier"), transaction.atomic():
            raw_posting(entry.pk, usdt["external"], "D", "1")
            raw_posting(entry.pk, usdt["available"], "C", "1")
        assert entry.postings.count() == 2

    @pytest.mark.django_db(transaction=True)
    def test_spoofed_created_txid_does_not_reopen_an_entry(self, usdt):
        """An entry claiming a future transaction id cannot take postings now, so it cannot commit."""
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_journalentry (kind, idempotency_key, fingerprint, reference, memo, created_at,"
                " created_txid) VALUES ('transfer', 'raw:spoof', 'x', '', '', now(), txid_current() + 1)"
                " RETURNING id"
            )
            entry_id = cursor.fetchone()[0]
            raw_posting(entry_id, usdt["external"], "D", "1")


class TestEntryKeyProgress:
    """The checks read the entry's key row (a table without months) first: what the triggers write there, and that
    nobody else can write it. The rules are those above whatever the path."""

    @pytest.mark.django_db(transaction=True)
    def test_postings_at_once_are_recorded_on_the_key_and_commit(self, usdt):
        with transaction.atomic():
            entry_id = raw_entry("raw:at-once")
            raw_postings(entry_id, [(usdt["external"], "D", "5"), (usdt["available"], "C", "5")])
            with connection.cursor() as cursor:
                cursor.execute("SELECT txid_current()")
                txid = cursor.fetchone()[0]
            assert key_row(entry_id) == (txid, 2, True)
        assert balance(usdt["available"]) == Decimal("105")

    @pytest.mark.django_db(transaction=True)
    def test_balanced_over_two_statements_still_commits(self, usdt):
        """Row by row in the entry's own transaction is still allowed: the commit sums the month's postings."""
        with transaction.atomic():
            entry_id = raw_entry("raw:row-by-row")
            raw_posting(entry_id, usdt["external"], "D", "5")
            raw_posting(entry_id, usdt["available"], "C", "5")
            assert key_row(entry_id)[1:] == (2, False)
        assert balance(usdt["available"]) == Decimal("105")

    @pytest.mark.django_db(transaction=True)
    def test_a_posting_added_after_a_balanced_statement_is_caught_at_commit(self, usdt):
        """The key row said "balanced at once" until the next statement: the commit sums the postings again."""
        with pytest.raises(IntegrityError, match="does not balance in USDT"), transaction.atomic():
            entry_id = raw_entry("raw:at-once-then-more")
            raw_postings(entry_id, [(usdt["external"], "D", "5"), (usdt["available"], "C", "5")])
            raw_posting(entry_id, usdt["available"], "C", "1")
            assert key_row(entry_id)[1:] == (3, False)
        assert balance(usdt["available"]) == Decimal("100")

    @pytest.mark.django_db(transaction=True)
    def test_an_unbalanced_statement_is_not_taken_for_a_balanced_one(self, usdt):
        with pytest.raises(IntegrityError, match="does not balance in USDT"), transaction.atomic():
            entry_id = raw_entry("raw:at-once-unbalanced")
            raw_postings(entry_id, [(usdt["external"], "D", "5"), (usdt["available"], "C", "6")])
            assert key_row(entry_id)[1:] == (2, False)

    @pytest.mark.parametrize("column", ["entry_txid = txid_current()", "legs = 2", "posted_at_once = true"])
    def test_a_key_row_must_open_empty(self, usdt, column):
        """A key row written as if its entry were posted at once would let an entry without postings commit."""
        name, value = column.split(" = ")
        with pytest.raises(IntegrityError, match="must open empty"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO ledger_journalentrykey (idempotency_key, entry_id, entry_created_at, {name})"
                           f" VALUES ('raw:forged', nextval('ledger_journalentry_id_seq'), now(), {value})")

    @pytest.mark.django_db(transaction=True)
    def test_postings_whose_key_row_does_not_name_this_transaction_are_refused(self, usdt):
        """The entry's own created_txid is not enough (a client writes it): the key row's, written by the trigger,
        decides."""
        with pytest.raises(IntegrityError, match="not written by this transaction"), transaction.atomic():
            entry_id = raw_entry("raw:key-elsewhere")
            with connection.cursor() as cursor:  # as the owner could; the runtime role has no UPDATE here
                cursor.execute("UPDATE ledger_journalentrykey SET entry_txid = NULL WHERE entry_id = %s", [entry_id])
            raw_postings(entry_id, [(usdt["external"], "D", "5"), (usdt["available"], "C", "5")])


class TestAppendOnly:
    def test_posting_update_refused(self, usdt):
        posting = Posting.objects.filter(account=usdt["available"]).get()
        with pytest.raises(IntegrityError, match="append-only: UPDATE on ledger_posting"), transaction.atomic():
            Posting.objects.filter(pk=posting.pk).update(amount=Decimal("1000"))
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as c:
            c.execute("UPDATE ledger_posting SET side = 'D' WHERE id = %s", [posting.pk])
        posting.refresh_from_db()
        assert posting.amount == Decimal("100")

    def test_posting_delete_refused(self, usdt):
        posting = Posting.objects.filter(account=usdt["available"]).get()
        with pytest.raises(IntegrityError, match="append-only: DELETE on ledger_posting"), transaction.atomic():
            Posting.objects.filter(pk=posting.pk).delete()
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as c:
            c.execute("DELETE FROM ledger_posting WHERE id = %s", [posting.pk])
        assert Posting.objects.filter(pk=posting.pk).exists()

    def test_entry_update_refused(self, usdt):
        entry = JournalEntry.objects.get(kind=EntryKind.DEPOSIT)
        with pytest.raises(IntegrityError, match="append-only: UPDATE on ledger_journalentry"), transaction.atomic():
            JournalEntry.objects.filter(pk=entry.pk).update(memo="rewritten")
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as c:
            c.execute("UPDATE ledger_journalentry SET created_txid = txid_current() WHERE id = %s", [entry.pk])

    def test_entry_delete_refused(self, usdt):
        """Raw DELETE, so it is the trigger that refuses (the ORM would stop first on PROTECT)."""
        entry = JournalEntry.objects.get(kind=EntryKind.DEPOSIT)
        with pytest.raises(IntegrityError, match="append-only: DELETE on ledger_journalentry"), \
                transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM ledger_journalentry WHERE id = %s", [entry.pk])
        assert JournalEntry.objects.filter(pk=entry.pk).exists()


class TestBalances:
    def test_negative_customer_balance_refused(self, usdt):
        """Postings that would overdraw a customer: the balance the trigger writes fails the CHECK."""
        with pytest.raises(IntegrityError, match="ledgeraccount_user_balance_non_negative"), transaction.atomic():
            entry_id = raw_entry("raw:overdraw")
            raw_posting(entry_id, usdt["external"], "C", "101")
            raw_posting(entry_id, usdt["available"], "D", "101")
        assert balance(usdt["available"]) == Decimal("100")

    def test_negative_customer_balance_refused_even_behind_the_triggers(self, usdt):
        """The CHECK is no trigger: replica mode (which skips triggers) does not get past it."""
        with pytest.raises(IntegrityError, match="ledgeraccount_user_balance_non_negative"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            LedgerAccount.objects.filter(pk=usdt["available"].pk).update(balance=-1)
        assert balance(usdt["available"]) == Decimal("100")

    def test_platform_balance_may_be_negative(self, usdt):
        """Platform accounts (the exchange wallet) go negative as money flows out to customers."""
        assert balance(usdt["external"]) == Decimal("-100")
        other = ledger.account_for(owner_id=UserFactory().pk, asset="USDT", kind=AccountKind.AVAILABLE)
        entry_id = raw_entry("raw:outflow")
        raw_posting(entry_id, usdt["external"], "D", "1")
        raw_posting(entry_id, other, "C", "1")
        assert balance(usdt["external"]) == Decimal("-101")

    def test_customer_kind_without_owner_refused(self, assets):
        with pytest.raises(IntegrityError, match="ledgeraccount_kind_matches_owner"), transaction.atomic():
            LedgerAccount.objects.create(owner=None, asset_id="USDT", kind=AccountKind.AVAILABLE)

    def test_platform_kind_with_owner_refused(self, assets, customer):
        with pytest.raises(IntegrityError, match="ledgeraccount_kind_matches_owner"), transaction.atomic():
            LedgerAccount.objects.create(owner=customer, asset_id="USDT", kind=AccountKind.FEE_INCOME)

    def test_second_platform_account_for_same_asset_and_kind_refused(self, usdt):
        """NULLS NOT DISTINCT: only one platform account per (asset, kind)."""
        with pytest.raises(IntegrityError, match="ledgeraccount_owner_asset_kind_unique"), transaction.atomic():
            LedgerAccount.objects.create(owner=None, asset_id="USDT", kind=AccountKind.EXTERNAL)


class TestPostingRows:
    @pytest.mark.parametrize("amount", ["0", "-1"])
    def test_non_positive_amount_refused(self, usdt, amount):
        with pytest.raises(IntegrityError, match="posting_amount_positive"), transaction.atomic():
            entry_id = raw_entry(f"raw:amount{amount}")
            raw_posting(entry_id, usdt["external"], "D", amount)

    def test_unknown_side_refused(self, usdt):
        with pytest.raises(IntegrityError, match="posting_side_valid"), transaction.atomic():
            entry_id = raw_entry("raw:side")
            raw_posting(entry_id, usdt["external"], "X", "1")

    def test_amount_finer_than_asset_scale_refused(self, assets):
        """HKD has 2 decimals: 0.001 HKD is not a whole number of cents."""
        external = ledger.platform_account(asset="HKD", kind=AccountKind.EXTERNAL)
        fees = ledger.platform_account(asset="HKD", kind=AccountKind.FEE_INCOME)
        with pytest.raises(IntegrityError, match="finer than the asset scale 2"), transaction.atomic():
            entry_id = raw_entry("raw:scale")
            raw_posting(entry_id, external, "D", "0.001")
        with pytest.raises(IntegrityError, match="finer than the asset scale"), transaction.atomic():
            entry_id = raw_entry("raw:scale")
            raw_posting(entry_id, external, "D", "1.00")
            raw_posting(entry_id, fees, "C", "1.005")

    def test_posting_asset_differs_from_account_asset_refused(self, usdt):
        with pytest.raises(IntegrityError, match="posting_account_asset_fk"), transaction.atomic():
            entry_id = raw_entry("raw:asset")
            raw_posting(entry_id, usdt["available"], "C", "1", asset="BTC")

    def test_duplicate_idempotency_key_refused(self, usdt):
        entry = JournalEntry.objects.get(kind=EntryKind.DEPOSIT)
        with pytest.raises(IntegrityError, match="idempotency_key"), transaction.atomic():
            raw_entry(entry.idempotency_key)


def test_balanced_raw_entry_is_accepted(usdt):
    """The checks refuse only bad rows: a balanced raw entry in one transaction commits."""
    other = UserFactory()
    target = ledger.account_for(owner_id=other.pk, asset="USDT", kind=AccountKind.AVAILABLE)
    entry_id = raw_entry("raw:good")
    raw_posting(entry_id, usdt["external"], "D", "7")
    raw_posting(entry_id, target, "C", "7")
    _set_constraints_immediate()
    assert Posting.objects.filter(entry_id=entry_id).count() == 2


class TestChecksStayLinear:
    """The triggers read only the rows of the entries being written, never the whole ledger.

    Counted with pg_stat_xact_user_tables (rows this transaction read, per table), so the test
    does not depend on timing. The first trigger bodies read every posting of the asset per entry
    and every journal entry per INSERT: posting cost grew with the size of the ledger.
    """

    @staticmethod
    def _rows_read() -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                # The tables are partitioned by month: a partition's reads count for its table.
                "SELECT coalesce(pg_partition_root(relid), relid)::regclass::text, sum(coalesce(seq_tup_read, 0)"
                "       + coalesce(idx_tup_fetch, 0))::bigint"
                "  FROM pg_stat_xact_user_tables"
                " WHERE coalesce(pg_partition_root(relid), relid) IN"
                "       ('ledger_posting'::regclass, 'ledger_journalentry'::regclass,"
                "        'ledger_journalentrykey'::regclass)"
                " GROUP BY 1"
            )
            return dict(cursor.fetchall())

    def test_posting_one_entry_reads_a_handful_of_rows(self, usdt):
        fees = ledger.platform_account(asset="USDT", kind=AccountKind.FEE_INCOME)
        ledger.entries_post([
            ledger.EntrySpec(EntryKind.FEE, f"filler:{i}", [ledger.Leg.debit(usdt["external"], "0.01"),
                                                            ledger.Leg.credit(fees, "0.01")])
            for i in range(3000)
        ])
        _set_constraints_immediate()  # check the filler now, so only the entry below is counted
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        before = self._rows_read()
        ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:one", debit=usdt["available"],
                        credit=usdt["earn"], amount=Decimal("1"))
        _set_constraints_immediate()
        after = self._rows_read()
        read = {table: after.get(table, 0) - before.get(table, 0) for table in after}
        # The checks read the entry's key row (a table without months); the months' postings and entries only
        # when that row does not settle it.
        assert 0 < read["ledger_journalentrykey"] < 20, read
        assert read.get("ledger_posting", 0) < 20 and read.get("ledger_journalentry", 0) < 20, read
