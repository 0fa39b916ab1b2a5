"""Property: any sequence of deposits, transfers and replays leaves the ledger equal to a Python model."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import services as ledger
from ledger.errors import InsufficientBalance
from ledger.models import AccountKind, Asset, EntryKind, LedgerAccount
from ledger.reconcile import ledger_reconcile
from tests.factories import UserFactory

USERS = 3
UNIT = Decimal("0.01")  # HKD has 2 decimals; amounts are drawn as whole cents

amounts = st.integers(min_value=1, max_value=50_000).map(lambda cents: cents * UNIT)
users = st.integers(min_value=0, max_value=USERS - 1)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), users, users, amounts),
        st.tuples(st.just("transfer"), users, users, amounts).filter(lambda op: op[1] != op[2]),
        st.tuples(st.just("replay"), st.integers(min_value=0, max_value=100), users, amounts),
    ),
    max_size=25,
)


@pytest.mark.django_db
@pytest.mark.usefixtures("ledger_checks_only")
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=operations)
def test_balances_follow_the_model(operations):
    """Stored balances equal a plain-Python replay of the operations; reconcile stays clean."""
    with transaction.atomic():  # one savepoint per example, rolled back at the end
        Asset.objects.get_or_create(code="HKD", defaults={"name": "Hong Kong dollar", "scale": 2})
        owners = [UserFactory().pk for _ in range(USERS)]
        accounts = ledger.accounts_ensure([(pk, "HKD", AccountKind.AVAILABLE) for pk in owners])
        available = [accounts[(pk, "HKD", AccountKind.AVAILABLE)] for pk in owners]
        model: dict[int, Decimal] = defaultdict(Decimal)
        posted: list[tuple] = []  # (key, debit index, credit index, amount) of every posted transfer

        for step, (op, a, b, amount) in enumerate(operations):
            if op == "deposit":
                ledger.deposit_credit(user_id=owners[a], asset="HKD", amount=amount, reference=f"d{step}")
                model[a] += amount
            elif op == "transfer":
                key = f"t{step}"
                try:
                    ledger.transfer(kind=EntryKind.TRANSFER, idempotency_key=key, debit=available[a],
                                    credit=available[b], amount=amount)
                except InsufficientBalance:
                    assert model[a] < amount
                else:
                    assert model[a] >= amount
                    model[a] -= amount
                    model[b] += amount
                    posted.append((key, a, b, amount))
            elif posted:  # replay an earlier transfer: nothing moves
                key, debit, credit, amount = posted[a % len(posted)]
                ledger.transfer(kind=EntryKind.TRANSFER, idempotency_key=key, debit=available[debit],
                                credit=available[credit], amount=amount)

        stored = dict(LedgerAccount.objects.filter(pk__in=[acc.pk for acc in available]).values_list("id", "balance"))
        assert [stored[acc.pk] for acc in available] == [model[i] for i in range(USERS)]
        external = LedgerAccount.objects.get(owner=None, asset_id="HKD", kind=AccountKind.EXTERNAL).balance \
            if any(op[0] == "deposit" for op in operations) else Decimal(0)
        assert external == -sum(model.values())
        report = ledger_reconcile()
        assert report.ok, report.mismatches
        transaction.set_rollback(True)
