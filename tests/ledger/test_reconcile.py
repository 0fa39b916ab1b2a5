"""Reconciliation: the service, the check registry, `manage.py reconcile` and the Celery task."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command, execute_from_command_line
from django.db import connection, connections, transaction

from ledger import services as ledger
from ledger.models import AccountKind, EntryKind
from ledger.reconcile import ledger_reconcile, register_check
from ledger.tasks import reconcile_task
from tests.factories import UserFactory
from tests.ledger.helpers import raw_entry, raw_posting

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_checks_only")]


@pytest.fixture
def busy_ledger(usdt):
    """A few accounts and entries in two assets."""
    bob = UserFactory()
    ledger.deposit_credit(user_id=bob.pk, asset="BTC", amount="1.5", reference="btc-1")
    ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:1", debit=usdt["available"],
                    credit=usdt["earn"], amount=Decimal("40"))
    ledger.platform_account(asset="ETH", kind=AccountKind.REWARDS)  # an account with no postings
    return usdt


def _corrupt(account_id: int, amount: str) -> None:
    """Write a balance behind the triggers' back, as only a superuser can (replica mode skips them)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE ledger_ledgeraccount SET balance = %s WHERE id = %s", [Decimal(amount), account_id])
        cursor.execute("SET LOCAL session_replication_role = origin")


def test_clean_ledger_reconciles(busy_ledger):
    report = ledger_reconcile()
    assert report.ok, report.mismatches
    assert report.accounts_checked == 6
    assert report.entries_checked == 3
    assert report.checks_run[:3] == ["account_balance", "entry", "asset_total"]


def test_empty_ledger_reconciles(db):
    report = ledger_reconcile()
    assert report.ok
    assert (report.accounts_checked, report.entries_checked) == (0, 0)


def test_corrupted_balance_is_named(busy_ledger):
    """A stored balance that disagrees with its postings is reported, with the difference."""
    earn = busy_ledger["earn"]
    _corrupt(earn.pk, "45")
    report = ledger_reconcile()
    assert not report.ok
    details = [str(m) for m in report.mismatches]
    assert any(f"account {earn.pk} " in d and "stores 45 but its postings sum to 40 (difference 5)" in d
               for d in details), details
    assert "[asset_total] balances of USDT sum to 5, not 0" in details
    assert report.accounts_checked == 6


def test_account_without_postings_must_be_zero(busy_ledger):
    rewards = ledger.platform_account(asset="ETH", kind=AccountKind.REWARDS)
    _corrupt(rewards.pk, "-2")
    details = [str(m) for m in ledger_reconcile().mismatches]
    assert any(f"account {rewards.pk} " in d and "postings sum to 0" in d for d in details)


def test_entries_that_bypassed_the_triggers_are_found(busy_ledger):
    """With triggers disabled (superuser `session_replication_role`), bad entries get in; reconcile finds them."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    lonely = raw_entry("raw:lonely")
    raw_posting(lonely, busy_ledger["external"], "D", "1")
    empty = raw_entry("raw:empty")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")
    report = ledger_reconcile()
    details = [str(m) for m in report.mismatches]
    assert f"[entry_postings] entry {lonely} (raw:lonely) has 1 posting(s)" in details
    assert any(d.startswith(f"[entry_balanced] entry {lonely} (raw:lonely) does not balance: USDT -1") for d in details)
    assert f"[entry_postings] entry {empty} (raw:empty) has 0 posting(s)" in details
    # The posting moved no stored balance, so the external account disagrees with its postings too.
    assert any(f"account {busy_ledger['external'].pk} " in d for d in details)
    assert report.entries_checked == 5


def test_registered_checks_run_and_report(busy_ledger, ledger_checks_only):
    register_check("earn_positions", lambda: ["position 7: principal 10 but earn balance 9"])
    register_check("quiet", list)
    report = ledger_reconcile()
    assert report.checks_run[3:] == ["earn_positions", "quiet"]
    assert [str(m) for m in report.mismatches] == ["[earn_positions] position 7: principal 10 but earn balance 9"]


def test_a_failing_check_is_a_mismatch_and_the_others_still_run(busy_ledger, ledger_checks_only):
    def broken() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
        return []

    register_check("broken", broken)
    register_check("after", lambda: ["seen"])
    report = ledger_reconcile()
    assert report.mismatches[0].check == "broken"
    assert "check raised ProgrammingError" in report.mismatches[0].detail
    assert str(report.mismatches[1]) == "[after] seen"


@pytest.mark.django_db(transaction=True)
def test_checks_run_in_one_read_only_snapshot(busy_ledger, ledger_checks_only):
    """Outside a transaction, reconcile opens a REPEATABLE READ, READ ONLY one: a check cannot write."""
    def writer() -> list[str]:
        _corrupt(busy_ledger["earn"].pk, "0")
        return []

    def isolation() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            return [cursor.fetchone()[0]]

    register_check("writer", writer)
    register_check("isolation", isolation)
    report = ledger_reconcile()
    assert "read-only transaction" in report.mismatches[0].detail
    assert str(report.mismatches[1]) == "[isolation] repeatable read"
    assert not connection.in_atomic_block
    assert ledger.account_for(owner_id=busy_ledger["earn"].owner_id, asset="USDT",
                              kind=AccountKind.EARN).balance == Decimal("40")


def test_reconcile_task_returns_the_report(busy_ledger):
    result = reconcile_task.apply().get()
    assert result["ok"] is True
    assert result["accounts_checked"] == 6
    _corrupt(busy_ledger["earn"].pk, "1")
    result = reconcile_task()
    assert result["ok"] is False
    assert {m["check"] for m in result["mismatches"]} == {"account_balance", "asset_total"}


@pytest.fixture
def keep_connection(monkeypatch):
    """`run_from_argv` closes every connection when done; keep the test's (its transaction) open."""
    monkeypatch.setattr(connections, "close_all", lambda: None)


class TestCommand:
    def test_summary_when_clean(self, busy_ledger, capsys):
        call_command("reconcile")
        out = capsys.readouterr().out
        assert "accounts checked: 6" in out
        assert "entries checked:  3" in out
        assert "mismatches:       0" in out

    def test_exit_status_0_when_clean_and_1_after_corruption(self, busy_ledger, capsys, keep_connection):
        """Run as from the shell (`manage.py reconcile`): exit status 0, then 1 once a balance is wrong."""
        execute_from_command_line(["manage.py", "reconcile"])  # returns: exit status 0
        _corrupt(busy_ledger["available"].pk, "61")
        with pytest.raises(SystemExit) as exc:
            execute_from_command_line(["manage.py", "reconcile"])
        assert exc.value.code == 1
        captured = capsys.readouterr()
        assert "mismatches:       2" in captured.out
        assert f"account {busy_ledger['available'].pk} " in captured.out
        assert "reconciliation found 2 mismatch(es)" in captured.err

    def test_max_details(self, busy_ledger, capsys, keep_connection):
        _corrupt(busy_ledger["available"].pk, "61")
        with pytest.raises(SystemExit):
            execute_from_command_line(["manage.py", "reconcile", "--max-details", "1"])
        assert "… and 1 more" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_manage_py_reconcile_exit_status(usdt):
    """The real process: `manage.py reconcile` exits 0 on a clean ledger and 1 after corruption.

    Deposits only, so the checks other apps register (which run in that process too) agree.
    """
    db = connection.settings_dict
    login = f"{db['USER']}:{db['PASSWORD']}" if db["PASSWORD"] else db["USER"]
    url = f"postgres://{login}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "reconcile"]
    clean = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert clean.returncode == 0, clean.stderr
    assert "mismatches:       0" in clean.stdout
    _corrupt(usdt["available"].pk, "99.99999999")
    broken = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert broken.returncode == 1
    assert "difference -0.00000001" in broken.stdout
