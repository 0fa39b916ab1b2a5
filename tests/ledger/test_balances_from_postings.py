"""Balances come from postings only: PostgreSQL derives them and refuses every other write.

A statement-level trigger on `ledger_posting` adds each INSERT's postings to their accounts'
balances; any other UPDATE of `ledger_ledgeraccount` is refused, and an account opens at zero
(ledger/sql/balances_from_postings.sql). Nothing here goes through `ledger.services` unless it says so.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.db.models import F
from rest_framework.test import APIClient

from earn.services import accrual
from earn.services.redemptions import redemption_create
from earn.services.subscriptions import subscription_create
from ledger import bulk
from ledger import services as ledger
from ledger.models import AccountKind, EntryKind, LedgerAccount
from ledger.reconcile import ledger_reconcile
from pools.services.deposits import pool_deposit_create
from pools.services.distribution import pool_distribute_day
from pools.services.redemptions import pool_redeem
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge, subscribe_api
from tests.factories import UserFactory
from tests.ledger.helpers import balance, raw_entry, raw_posting
from tests.pools.factories import pool_product, ready_customer

pytestmark = pytest.mark.django_db

REFUSED = "balances change only through postings"


def _execute(sql: str, params: list | None = None) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _mismatched_accounts() -> list:
    """Accounts whose stored balance differs from credits minus debits of their postings."""
    return _execute("""
        SELECT acc.id, acc.balance, coalesce(sum(CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END), 0)
          FROM ledger_ledgeraccount acc LEFT JOIN ledger_posting p ON p.account_id = acc.id
         GROUP BY acc.id HAVING acc.balance <> coalesce(sum(CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END), 0)
    """)


class TestDirectWritesRefused:
    def test_raw_update_of_a_balance_is_refused(self, usdt):
        """The attack of issue 14: one UPDATE made money that a subscription then spent."""
        with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
            _execute("UPDATE ledger_ledgeraccount SET balance = balance + 1000000 WHERE id = %s",
                     [usdt["available"].pk])
        assert balance(usdt["available"]) == Decimal("100")

    def test_orm_update_and_save_are_refused(self, usdt):
        account = LedgerAccount.objects.get(pk=usdt["available"].pk)
        with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
            LedgerAccount.objects.filter(pk=account.pk).update(balance=F("balance") + 1000000)
        account.balance = Decimal("1000100")
        with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
            account.save()
        assert balance(usdt["available"]) == Decimal("100")

    def test_a_platform_balance_cannot_be_rewritten_either(self, usdt):
        with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
            LedgerAccount.objects.filter(pk=usdt["external"].pk).update(balance=0)
        assert balance(usdt["external"]) == Decimal("-100")

    def test_an_account_cannot_change_hands(self, usdt):
        """Re-pointing a funded account at another owner would move money without a posting."""
        thief = UserFactory()
        with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
            LedgerAccount.objects.filter(pk=usdt["available"].pk).update(owner=thief)
        assert LedgerAccount.objects.get(pk=usdt["available"].pk).owner_id == usdt["available"].owner_id

    def test_an_account_opens_at_zero(self, assets, customer):
        with pytest.raises(IntegrityError, match="must open with balance 0"), transaction.atomic():
            LedgerAccount.objects.create(owner=customer, asset_id="BTC", kind=AccountKind.AVAILABLE,
                                         balance=Decimal("5"))
        with pytest.raises(IntegrityError, match="must open with balance 0"), transaction.atomic():
            _execute("INSERT INTO ledger_ledgeraccount (owner_id, asset_id, kind, balance, created_at)"
                     " VALUES (%s, 'BTC', 'available', 1, now())", [customer.pk])
        assert LedgerAccount.objects.create(owner=customer, asset_id="BTC", kind=AccountKind.AVAILABLE).balance == 0

    def test_refused_money_cannot_be_spent_by_a_subscription(self, assets, fund):
        product = live_product("USDT", tiers=[(0, None, "0.05")])
        user = UserFactory(country="SG")
        fund(user, "USDT", "100")
        acknowledge(user, product)
        account = ledger.account_for(owner_id=user.pk, asset="USDT", kind=AccountKind.AVAILABLE)
        with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
            _execute("UPDATE ledger_ledgeraccount SET balance = balance + 1000000 WHERE id = %s", [account.pk])
        client = APIClient()
        client.force_authenticate(user)
        with time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC), tick=False):
            refused = subscribe_api(client, product, "1000000", "spend-forged")
        assert refused.status_code == 409
        assert refused.json()["code"] == "INSUFFICIENT_BALANCE"
        assert balance(account) == Decimal("100")


@pytest.mark.django_db(transaction=True)
def test_outside_a_test_transaction_the_refusal_and_the_postings_hold_at_commit(usdt):
    """Autocommit, as the application runs: the UPDATE is refused, committed postings moved the balances."""
    with pytest.raises(IntegrityError, match=REFUSED):
        _execute("UPDATE ledger_ledgeraccount SET balance = balance + 1000000 WHERE id = %s", [usdt["available"].pk])
    ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="committed", debit=usdt["available"],
                    credit=usdt["earn"], amount=Decimal("60"))
    assert (balance(usdt["available"]), balance(usdt["earn"])) == (Decimal("40"), Decimal("60"))
    assert _mismatched_accounts() == []


class TestPostingsMoveBalances:
    def test_raw_postings_move_balances_in_the_same_statement(self, usdt):
        """Whoever inserts postings (here raw SQL), the balances follow, readable at once."""
        other = ledger.account_for(owner_id=UserFactory().pk, asset="USDT", kind=AccountKind.AVAILABLE)
        entry_id = raw_entry("raw:moves")
        raw_posting(entry_id, usdt["available"], "D", "30")
        assert balance(usdt["available"]) == Decimal("70")  # the entry is not complete yet; the balance moved
        raw_posting(entry_id, other, "C", "30")
        assert (balance(usdt["available"]), balance(other)) == (Decimal("70"), Decimal("30"))
        assert _mismatched_accounts() == []

    def test_one_statement_debiting_and_crediting_an_account_nets_out(self, usdt):
        entry_id = raw_entry("raw:net")
        _execute("INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at)"
                 " VALUES (%s, %s, 'USDT', 'D', 5, now()), (%s, %s, 'USDT', 'C', 5, now())",
                 [entry_id, usdt["available"].pk, entry_id, usdt["available"].pk])
        assert balance(usdt["available"]) == Decimal("100")

    def test_small_and_large_statements_alike_in_one_session(self, usdt):
        """Up to 16 postings take the trigger's cached plan, more its per-call plan: sizes alternating in one
        session (the cached plan made for the first small one serves the later ones) move balances exactly."""
        others = [ledger.account_for(owner_id=u.pk, asset="USDT", kind=AccountKind.AVAILABLE)
                  for u in UserFactory.create_batch(40)]
        expected = {account.pk: Decimal("0") for account in others}
        for n, size in enumerate([2, 17, 16, 41, 3, 16, 17]):
            credited = others[: size - 1]
            with _function_calls() as calls:
                ledger.entries_post([ledger.EntrySpec(
                    EntryKind.TRANSFER, f"sizes:{n}",
                    [ledger.Leg.debit(usdt["external"], str(size - 1))]
                    + [ledger.Leg.credit(account, "1") for account in credited])])
            assert calls["ledger_post_balances"] == 1
            for account in credited:
                expected[account.pk] += 1
        assert {account.pk: balance(account) for account in others} == expected
        assert balance(usdt["external"]) == Decimal("-100") - sum(expected.values())
        assert _mismatched_accounts() == []

    def test_an_overdraft_through_postings_hits_the_non_negative_check(self, usdt):
        with pytest.raises(IntegrityError, match="ledgeraccount_user_balance_non_negative"), transaction.atomic():
            entry_id = raw_entry("raw:overdraft")
            raw_posting(entry_id, usdt["available"], "D", "100.00000001")
        assert balance(usdt["available"]) == Decimal("100")


@contextmanager
def _function_calls() -> Iterator[dict[str, int]]:
    """Count PL/pgSQL calls made inside the block, per function (this transaction's statistics)."""
    calls: dict[str, int] = {}

    def snapshot() -> dict[str, int]:
        return dict(_execute("SELECT funcname, calls FROM pg_stat_xact_user_functions"
                             " WHERE funcname LIKE 'ledger\\_%%'"))

    _execute("SET LOCAL track_functions = 'pl'")
    before = snapshot()
    yield calls
    after = snapshot()
    calls.update({name: n - before.get(name, 0) for name, n in after.items() if n != before.get(name, 0)})


class TestCostPerStatement:
    """The posting trigger and the account check run once per INSERT statement, however many rows."""

    @pytest.mark.parametrize("customers", [3, 300])
    def test_a_bulk_entry_of_n_postings_runs_the_trigger_once(self, assets, customers):
        owners = [u.pk for u in UserFactory.create_batch(customers)]
        with _function_calls() as calls:
            result = bulk.entry_post_credits(
                kind=EntryKind.REWARD, idempotency_key=f"bulk:{customers}", debit_kind=AccountKind.REWARDS,
                credits_sql="SELECT o, 'USDT', 'available', 0.5 FROM unnest(%s::bigint[]) AS t(o)", params=[owners])
        assert result.postings == customers + 1
        assert calls["ledger_post_balances"] == 1
        assert calls["ledger_check_account_update"] == 1
        assert calls["ledger_check_new_postings"] == 1
        assert "ledger_refuse_opening_balance" not in calls  # row-level WHEN: no call for accounts opened at 0
        assert balance(ledger.platform_account(asset="USDT", kind=AccountKind.REWARDS)) == Decimal("-0.5") * customers
        assert _mismatched_accounts() == []

    def test_a_batch_of_entries_through_the_service_runs_it_once(self, usdt):
        others = [ledger.account_for(owner_id=u.pk, asset="USDT", kind=AccountKind.AVAILABLE)
                  for u in UserFactory.create_batch(20)]
        specs = [ledger.EntrySpec(EntryKind.TRANSFER, f"batch:{i}",
                                  [ledger.Leg.debit(usdt["external"], "1"), ledger.Leg.credit(others[i % 20], "1")])
                 for i in range(200)]
        with _function_calls() as calls:
            ledger.entries_post(specs)
        assert (calls["ledger_post_balances"], calls["ledger_check_account_update"]) == (1, 1)
        assert balance(usdt["external"]) == Decimal("-300")
        assert {balance(a) for a in others} == {Decimal("10")}


def test_balances_equal_postings_after_every_service(assets, fund, user_factory):
    """Deposit, subscribe, accrue, redeem, pool deposit, pool income, pool redemption: books agree."""
    product = live_product("USDT", tiers=[(0, None, "0.10")])
    savers = [UserFactory(country="SG") for _ in range(3)]
    for user in savers:
        fund(user, "USDT", "1000")
        acknowledge(user, product)
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=False):
        subs = [subscription_create(user=user, product_id=product.pk, amount="600") for user in savers]
    with time_machine.travel(dt.datetime(2026, 3, 3, 0, 5, tzinfo=dt.UTC), tick=False):
        result = accrual.accrue_day(dt.date(2026, 3, 2), chunk_size=2)
    assert result.positions == 3
    with time_machine.travel(dt.datetime(2026, 3, 3, 10, tzinfo=dt.UTC), tick=False):
        redemption_create(user=savers[0], position_id=subs[0].position_id, amount="250", mode="fast")
    pool = pool_product(emission="1")
    providers = [ready_customer(user_factory, fund, pool, BTC="1", USDT="60000") for _ in range(2)]
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)):
        deposits = [pool_deposit_create(user=u, product_id=pool.product_id, amount="1") for u in providers]
    pool_distribute_day(pool_id=pool.pk, day=dt.date(2026, 3, 2))
    pool_redeem(user=providers[0], position_id=deposits[0].position_id)
    assert _mismatched_accounts() == []
    report = ledger_reconcile()  # every app's checks, not the ledger's only
    assert report.ok, [str(m) for m in report.mismatches]


@pytest.fixture
def app_role(db, usdt):
    """A role like the application's in production: no superuser, owns nothing, may write rows."""
    name = f"ledger_test_app_{os.getpid()}"
    _execute(f"CREATE ROLE {name} NOLOGIN")  # rolled back with the test's transaction
    _execute(f"GRANT SELECT, INSERT, UPDATE ON ledger_ledgeraccount, ledger_journalentry, ledger_posting,"
             f" ledger_asset TO {name}")
    _execute(f"GRANT SELECT, INSERT ON ledger_journalentrykey TO {name}")  # the keys (partitioned ledger)
    _execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {name}")
    return name


@contextmanager
def _as_role(name: str) -> Iterator[None]:
    """Act as `name` inside a savepoint (rolling it back also restores the role)."""
    with transaction.atomic():
        _execute(f"SET LOCAL ROLE {name}")
        yield
        _execute("RESET ROLE")


class TestApplicationRole:
    """Tests connect as a superuser; these switch to a non-owner role to show what it can and cannot do."""

    def test_its_postings_move_balances(self, usdt, app_role):
        with _as_role(app_role):
            ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="role:sub", debit=usdt["available"],
                            credit=usdt["earn"], amount=Decimal("25"))
        assert (balance(usdt["available"]), balance(usdt["earn"])) == (Decimal("75"), Decimal("25"))

    def test_it_cannot_update_a_balance(self, usdt, app_role):
        with pytest.raises(IntegrityError, match=REFUSED), _as_role(app_role):
            _execute("UPDATE ledger_ledgeraccount SET balance = balance + 1000000 WHERE id = %s",
                     [usdt["available"].pk])

    def test_it_cannot_update_a_balance_from_a_trigger_of_its_own(self, usdt, app_role):
        """At trigger depth 1, from a temporary table's trigger: refused, the writer is not the ledger's."""
        with pytest.raises(IntegrityError, match=REFUSED), _as_role(app_role):
            _execute("CREATE TEMP TABLE forge (x int)")
            _execute(f"""CREATE FUNCTION pg_temp.forge() RETURNS trigger LANGUAGE plpgsql AS $$
                         BEGIN UPDATE ledger_ledgeraccount SET balance = balance + 1000000
                                WHERE id = {usdt["available"].pk}; RETURN NULL; END $$""")
            _execute("CREATE TRIGGER forge AFTER INSERT ON forge FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.forge()")
            _execute("INSERT INTO forge VALUES (1)")
        assert balance(usdt["available"]) == Decimal("100")

    def test_it_cannot_reuse_the_posting_trigger_on_a_table_of_its_own(self, usdt, app_role):
        with pytest.raises(ProgrammingError, match="permission denied for function ledger_post_balances"), \
                _as_role(app_role):
            _execute("CREATE TEMP TABLE fake (account_id bigint, side text, amount numeric)")
            _execute("CREATE TRIGGER fake AFTER INSERT ON fake REFERENCING NEW TABLE AS new_postings"
                     " FOR EACH STATEMENT EXECUTE FUNCTION ledger_post_balances()")

    def test_a_temporary_table_cannot_stand_in_for_the_accounts(self, usdt, app_role):
        """The trigger's search_path is fixed: a temp `ledger_ledgeraccount` does not divert the update."""
        with _as_role(app_role):
            _execute("CREATE TEMP TABLE ledger_ledgeraccount (id bigint, balance numeric)")
            _execute("INSERT INTO ledger_ledgeraccount SELECT id, 0 FROM public.ledger_ledgeraccount")
            entry_id = raw_entry("role:shadow")
            raw_posting(entry_id, usdt["available"], "D", "25")
            raw_posting(entry_id, usdt["earn"], "C", "25")
            assert _execute("SELECT count(*) FROM ledger_ledgeraccount WHERE balance <> 0") == [(0,)]
            _execute("DROP TABLE pg_temp.ledger_ledgeraccount")
        assert (balance(usdt["available"]), balance(usdt["earn"])) == (Decimal("75"), Decimal("25"))


def test_even_its_owner_cannot_attach_the_posting_trigger_elsewhere(usdt):
    with pytest.raises(ProgrammingError, match="runs only as the AFTER INSERT statement trigger of ledger_posting"), \
            transaction.atomic():
        _execute("CREATE TEMP TABLE fake (account_id bigint, side text, amount numeric)")
        _execute("CREATE TRIGGER fake AFTER INSERT ON fake REFERENCING NEW TABLE AS new_postings"
                 " FOR EACH STATEMENT EXECUTE FUNCTION ledger_post_balances()")
        _execute("INSERT INTO fake VALUES (%s, 'C', 1000000)", [usdt["available"].pk])


class TestReversal:
    """A correction is a reversing entry through `ledger.corrections.entry_reverse`, audited."""

    def test_a_wrong_entry_is_reversed_and_both_stay(self, usdt, customer):
        from core.models import AuditEvent
        from ledger.corrections import entry_reverse

        staff = UserFactory(is_staff=True)
        wrong = ledger.transfer(kind=EntryKind.TRANSFER, idempotency_key="wrong:1", debit=usdt["available"],
                                credit=usdt["earn"], amount=Decimal("40"))
        reversal = entry_reverse(entry_id=wrong.pk, actor=staff, reason="posted to the wrong account")
        assert (reversal.kind, reversal.reference, reversal.idempotency_key) == ("reversal", str(wrong.pk),
                                                                                 f"reversal:{wrong.pk}")
        assert sorted((p.account_id, p.side, p.amount) for p in reversal.postings.all()) == sorted(
            [(usdt["available"].pk, "C", Decimal("40")), (usdt["earn"].pk, "D", Decimal("40"))])
        assert (balance(usdt["available"]), balance(usdt["earn"])) == (Decimal("100"), Decimal("0"))
        assert entry_reverse(entry_id=wrong.pk, actor=staff, reason="again") == reversal
        event = AuditEvent.objects.get(action="ledger.entry_reverse")
        assert (event.actor_id, event.object_id, event.after["reason"]) == (staff.pk, str(reversal.pk),
                                                                             "posted to the wrong account")
        with pytest.raises(ValueError, match="not reversed"):
            entry_reverse(entry_id=reversal.pk, actor=staff, reason="undo the undo")
        assert ledger_reconcile().ok

    def test_a_credit_already_spent_cannot_be_reversed(self, usdt):
        from ledger.corrections import entry_reverse
        from ledger.errors import InsufficientBalance

        deposit = ledger.deposit_credit(user_id=usdt["available"].owner_id, asset="USDT", amount="50",
                                        reference="dep-2")
        ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="spend", debit=usdt["available"],
                        credit=usdt["earn"], amount=Decimal("120"))
        with pytest.raises(InsufficientBalance):
            entry_reverse(entry_id=deposit.pk, actor=None, reason="duplicate deposit")
        assert balance(usdt["available"]) == Decimal("30")
