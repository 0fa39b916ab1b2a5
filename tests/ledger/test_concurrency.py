"""Concurrent postings on real PostgreSQL connections: no lost update, no overdraft, no deadlock."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from ledger import services as ledger
from ledger.errors import InsufficientBalance
from ledger.models import AccountKind, EntryKind, JournalEntry, LedgerAccount
from ledger.reconcile import ledger_reconcile
from ledger.services import EntrySpec, Leg
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_checks_only")]

THREADS = 20
TRANSFERS_PER_THREAD = 50
CUSTOMERS = 5
FUNDING = Decimal("100")


def _in_threads(count: int, target: Callable[[int], None]) -> list[BaseException]:
    """Run target(i) in `count` threads, each on its own connection; return what they raised."""
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return errors


def test_random_transfers_never_overdraw_and_conserve_money(assets):
    """20 threads × 50 random transfers among 5 customers: locks serialise them correctly."""
    users = UserFactory.create_batch(CUSTOMERS)
    for user in users:
        ledger.deposit_credit(user_id=user.pk, asset="USDT", amount=FUNDING, reference=f"fund-{user.pk}")
    accounts = list(LedgerAccount.objects.filter(owner__in=users, kind=AccountKind.AVAILABLE))
    outcome: Counter[str] = Counter()
    lock = threading.Lock()

    def worker(i: int) -> None:
        rng = random.Random(i)
        for _ in range(TRANSFERS_PER_THREAD):
            debit, credit = rng.sample(accounts, 2)
            amount = Decimal(rng.randint(1, 6000)) / 100  # up to 60 USDT: many transfers must be refused
            try:
                ledger.transfer(kind=EntryKind.TRANSFER, idempotency_key=f"t:{uuid.uuid4()}", debit=debit,
                                credit=credit, amount=amount)
                result = "posted"
            except InsufficientBalance:
                result = "insufficient"
            with lock:
                outcome[result] += 1

    errors = _in_threads(THREADS, worker)

    assert errors == []  # in particular no deadlock and no serialisation failure
    assert outcome["posted"] + outcome["insufficient"] == THREADS * TRANSFERS_PER_THREAD
    assert outcome["posted"] > 0
    assert outcome["insufficient"] > 0, "the amounts were meant to overdraw sometimes"
    balances = LedgerAccount.objects.filter(pk__in=[a.pk for a in accounts]).values_list("balance", flat=True)
    assert min(balances) >= 0
    assert sum(balances) == FUNDING * CUSTOMERS
    assert LedgerAccount.objects.filter(asset_id="USDT").aggregate(total=Sum("balance"))["total"] == 0
    assert JournalEntry.objects.filter(kind=EntryKind.TRANSFER).count() == outcome["posted"]
    report = ledger_reconcile()
    assert report.ok, report.mismatches
    print(f"\n{outcome['posted']} transfers posted, {outcome['insufficient']} refused for insufficient balance")


def test_same_key_posted_concurrently_moves_money_once(assets, customer):
    """Ten concurrent replays of one key: one entry, one movement, every caller gets that entry."""
    ledger.deposit_credit(user_id=customer.pk, asset="USDT", amount="50", reference="fund")
    available = ledger.account_for(owner_id=customer.pk, asset="USDT", kind=AccountKind.AVAILABLE)
    earn = ledger.account_for(owner_id=customer.pk, asset="USDT", kind=AccountKind.EARN)
    barrier = threading.Barrier(10)
    entry_ids: list[int] = []

    def worker(i: int) -> None:
        barrier.wait()
        entry = ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:race", debit=available,
                                credit=earn, amount=Decimal("30"))
        entry_ids.append(entry.pk)

    assert _in_threads(10, worker) == []
    assert len(set(entry_ids)) == 1
    available.refresh_from_db()
    assert available.balance == Decimal("20")
    assert ledger_reconcile().ok


def _wait_until_blocked(pid: int) -> None:
    """Poll pg_stat_activity until backend `pid` waits on a lock."""
    with connection.cursor() as cursor:
        for _ in range(200):
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            row = cursor.fetchone()
            if row and row[0] == "Lock":
                return
            time.sleep(0.02)
    raise AssertionError(f"backend {pid} never blocked")


def test_batches_sharing_keys_in_other_orders_do_not_deadlock(assets):
    """Keys are inserted in sorted order, so a batch waits on a shared key before taking the next one.

    A holds key "a" uncommitted; B posts ["b", "a"] and blocks on "a" without having taken "b";
    A then posts "b" and commits. Inserted in the given order, B would hold "b" and PostgreSQL
    would have to kill one of them as a deadlock.
    """
    fees = ledger.platform_account(asset="USDT", kind=AccountKind.FEE_INCOME)
    expense = ledger.platform_account(asset="USDT", kind=AccountKind.YIELD_EXPENSE)
    spec = {key: EntrySpec(EntryKind.FEE, key, [Leg.debit(expense, "1"), Leg.credit(fees, "1")]) for key in "ab"}
    a_holds_key = threading.Event()
    b_pid: list[int] = []
    results: dict[str, list[int]] = {}

    def writer_a() -> None:
        with transaction.atomic():
            results["a1"] = [e.pk for e in ledger.entries_post([spec["a"]])]
            a_holds_key.set()
            while not b_pid:
                time.sleep(0.01)
            _wait_until_blocked(b_pid[0])
            results["a2"] = [e.pk for e in ledger.entries_post([spec["b"]])]

    def writer_b() -> None:
        a_holds_key.wait(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            b_pid.append(cursor.fetchone()[0])
        results["b"] = [e.pk for e in ledger.entries_post([spec["b"], spec["a"]])]

    errors = _in_threads(2, lambda i: (writer_a, writer_b)[i]())
    assert errors == []
    assert results["b"] == results["a2"] + results["a1"]  # B replayed both of A's entries
    expense.refresh_from_db()
    assert expense.balance == Decimal("-2")


def test_replay_racing_a_transaction_that_holds_the_accounts_does_not_deadlock(assets, customer):
    """Accounts are locked before the entry keys are taken.

    B already holds the customer's accounts (it posted earlier in its transaction) and is about to
    post key K; A posts K on the same accounts. A must queue on the accounts without holding K,
    else A would hold K waiting for the accounts while B waits for K.
    """
    ledger.deposit_credit(user_id=customer.pk, asset="USDT", amount="50", reference="fund")
    available = ledger.account_for(owner_id=customer.pk, asset="USDT", kind=AccountKind.AVAILABLE)
    earn = ledger.account_for(owner_id=customer.pk, asset="USDT", kind=AccountKind.EARN)
    b_holds_accounts = threading.Event()
    a_pid: list[int] = []
    results: dict[str, int] = {}

    def post(key: str, amount: str) -> int:
        return ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key=key, debit=available, credit=earn,
                               amount=Decimal(amount)).pk

    def writer_a() -> None:
        b_holds_accounts.wait(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            a_pid.append(cursor.fetchone()[0])
        results["a"] = post("sub:K", "10")

    def writer_b() -> None:
        with transaction.atomic():
            post("sub:first", "1")
            b_holds_accounts.set()
            while not a_pid:
                time.sleep(0.01)
            _wait_until_blocked(a_pid[0])
            results["b"] = post("sub:K", "10")

    assert _in_threads(2, lambda i: (writer_a, writer_b)[i]()) == []
    assert results["a"] == results["b"]
    available.refresh_from_db()
    assert available.balance == Decimal("39")


def test_owner_transfer_when_another_transaction_opens_the_credited_account_meanwhile(assets):
    """The lock-and-open statement does not see an account another transaction is opening; its insert waits
    for that transaction, finds the account taken, and the transfer goes through the account that now exists."""
    user = UserFactory()
    ledger.deposit_credit(user_id=user.pk, asset="USDT", amount=Decimal("100"), reference=f"race-{user.pk}")
    opened, release, done = threading.Event(), threading.Event(), threading.Event()

    def opener() -> None:
        try:
            with transaction.atomic():
                ledger.accounts_ensure([(user.pk, "USDT", AccountKind.EARN)])
                opened.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=opener, daemon=True)
    thread.start()
    assert opened.wait(10)

    def waiting_on_the_insert() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                           " AND query LIKE %s", ["%owner_opened%"])
            return cursor.fetchone()[0] > 0

    def transfer() -> None:
        try:
            ledger.owner_transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key=f"race-transfer-{user.pk}",
                                  owner_id=user.pk, asset="USDT", debit_kind=AccountKind.AVAILABLE,
                                  credit_kind=AccountKind.EARN, amount=Decimal("40"))
        finally:
            done.set()
            connection.close()

    mover = threading.Thread(target=transfer, daemon=True)
    mover.start()
    deadline = time.monotonic() + 10
    while not (waited := waiting_on_the_insert()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert waited and not done.is_set()  # the transfer waits for the account being opened
    release.set()
    thread.join(10)
    mover.join(10)
    accounts = LedgerAccount.objects.filter(owner_id=user.pk, asset_id="USDT")
    assert accounts.filter(kind=AccountKind.EARN).count() == 1
    assert accounts.get(kind=AccountKind.EARN).balance == 40 and accounts.get(kind=AccountKind.AVAILABLE).balance == 60
    assert ledger_reconcile().ok
