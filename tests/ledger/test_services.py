"""`ledger.services`: idempotency, refusals that move nothing, batching in constant queries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from ledger import services as ledger
from ledger.errors import IdempotencyKeyReused, InsufficientBalance, InvalidAmount, UnbalancedEntry
from ledger.models import AccountKind, EntryKind, JournalEntry, LedgerAccount, Posting, Side
from ledger.services import EntrySpec, Leg
from tests.factories import UserFactory
from tests.ledger.helpers import balance

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple[dict[int, Decimal], int, int]:
    balances = dict(LedgerAccount.objects.values_list("id", "balance"))
    return balances, JournalEntry.objects.count(), Posting.objects.count()


class TestIdempotency:
    def test_replay_returns_same_entry_and_moves_once(self, usdt):
        """Same key + same content: the first entry comes back and balances move only once."""
        first = ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:1", debit=usdt["available"],
                                credit=usdt["earn"], amount=Decimal("30"), reference="sub-1")
        second = ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:1", debit=usdt["available"],
                                 credit=usdt["earn"], amount=Decimal("30.000"), reference="sub-1")
        assert second.pk == first.pk
        assert JournalEntry.objects.filter(idempotency_key="sub:1").count() == 1
        assert first.postings.count() == 2
        assert balance(usdt["available"]) == Decimal("70")
        assert balance(usdt["earn"]) == Decimal("30")

    def test_replay_with_legs_in_other_order_is_the_same_content(self, usdt):
        legs = [Leg.debit(usdt["available"], "1"), Leg.credit(usdt["earn"], "1")]
        first = ledger.entry_post(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:order", legs=legs)
        again = ledger.entry_post(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:order", legs=legs[::-1])
        assert again.pk == first.pk
        assert balance(usdt["earn"]) == Decimal("1")

    @pytest.mark.parametrize("change", [
        {"amount": Decimal("31")},
        {"reference": "sub-other"},
        {"kind": EntryKind.REDEMPTION},
        {"swap": True},
    ])
    def test_key_reused_for_other_content_refused_and_nothing_moves(self, usdt, change):
        ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:2", debit=usdt["available"],
                        credit=usdt["earn"], amount=Decimal("30"), reference="sub-1")
        before = _snapshot()
        debit, credit = (usdt["earn"], usdt["available"]) if change.get("swap") else (usdt["available"], usdt["earn"])
        with pytest.raises(IdempotencyKeyReused) as exc:
            ledger.transfer(kind=change.get("kind", EntryKind.SUBSCRIPTION), idempotency_key="sub:2", debit=debit,
                            credit=credit, amount=change.get("amount", Decimal("30")),
                            reference=change.get("reference", "sub-1"))
        assert exc.value.code == "IDEMPOTENCY_KEY_REUSED"
        assert exc.value.status == 409
        assert _snapshot() == before

    def test_key_reused_within_one_batch_refused(self, usdt):
        before = _snapshot()
        specs = [EntrySpec(EntryKind.TRANSFER, "dup", [Leg.debit(usdt["available"], "1"),
                                                       Leg.credit(usdt["earn"], "1")]),
                 EntrySpec(EntryKind.TRANSFER, "dup", [Leg.debit(usdt["available"], "2"),
                                                       Leg.credit(usdt["earn"], "2")])]
        with pytest.raises(IdempotencyKeyReused):
            ledger.entries_post(specs)
        assert _snapshot() == before

    def test_same_key_twice_in_one_batch_posts_once(self, usdt):
        spec = EntrySpec(EntryKind.TRANSFER, "twice", [Leg.debit(usdt["available"], "1"),
                                                       Leg.credit(usdt["earn"], "1")])
        first, second = ledger.entries_post([spec, spec])
        assert first.pk == second.pk
        assert balance(usdt["earn"]) == Decimal("1")

    def test_batch_mixing_new_and_replayed_entries(self, usdt):
        old = ledger.transfer(kind=EntryKind.TRANSFER, idempotency_key="mix:old", debit=usdt["available"],
                              credit=usdt["earn"], amount=Decimal("5"))
        specs = [EntrySpec(EntryKind.TRANSFER, "mix:new", [Leg.debit(usdt["available"], "2"),
                                                           Leg.credit(usdt["earn"], "2")]),
                 EntrySpec(EntryKind.TRANSFER, "mix:old", [Leg.debit(usdt["available"], "5"),
                                                           Leg.credit(usdt["earn"], "5")])]
        new, replayed = ledger.entries_post(specs)
        assert replayed.pk == old.pk
        assert new.idempotency_key == "mix:new"
        assert balance(usdt["earn"]) == Decimal("7")

    def test_deposit_idempotent_on_reference(self, assets, customer):
        for _ in range(3):
            ledger.deposit_credit(user_id=customer.pk, asset="BTC", amount="0.5", reference="chain-tx-1")
        account = LedgerAccount.objects.get(owner=customer, asset_id="BTC", kind=AccountKind.AVAILABLE)
        assert account.balance == Decimal("0.5")


class TestRefusals:
    def test_insufficient_balance_refused_and_nothing_moves(self, usdt):
        before = _snapshot()
        with pytest.raises(InsufficientBalance) as exc:
            ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:big", debit=usdt["available"],
                            credit=usdt["earn"], amount=Decimal("100.00000001"))
        assert exc.value.code == "INSUFFICIENT_BALANCE"
        assert exc.value.account == usdt["available"].pk
        assert exc.value.extra == {}  # the internal account id stays out of the API answer
        assert _snapshot() == before
        assert not JournalEntry.objects.filter(idempotency_key="sub:big").exists()

    def test_whole_balance_may_be_spent(self, usdt):
        ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:all", debit=usdt["available"],
                        credit=usdt["earn"], amount=Decimal("100"))
        assert balance(usdt["available"]) == 0

    def test_one_insufficient_entry_refuses_the_whole_batch(self, usdt):
        other = ledger.account_for(owner_id=UserFactory().pk, asset="USDT", kind=AccountKind.AVAILABLE)
        before = _snapshot()
        specs = [EntrySpec(EntryKind.TRANSFER, "ok", [Leg.debit(usdt["available"], "10"), Leg.credit(other, "10")]),
                 EntrySpec(EntryKind.TRANSFER, "bad", [Leg.debit(other, "11"), Leg.credit(usdt["earn"], "11")])]
        with pytest.raises(InsufficientBalance):
            ledger.entries_post(specs)
        assert _snapshot() == before

    def test_platform_account_may_go_negative(self, assets):
        expense = ledger.platform_account(asset="USDT", kind=AccountKind.YIELD_EXPENSE)
        income = ledger.platform_account(asset="USDT", kind=AccountKind.FEE_INCOME)
        ledger.transfer(kind=EntryKind.FEE, idempotency_key="fee:1", debit=expense, credit=income,
                        amount=Decimal("3"))
        assert balance(expense) == Decimal("-3")

    @pytest.mark.parametrize("call", [
        lambda acc: Leg.debit(acc, 1.5),
        lambda acc: Leg.credit(acc, 0.1),
        lambda acc: ledger.deposit_credit(user_id=acc.owner_id, asset="USDT", amount=0.1, reference="float"),
        lambda acc: ledger.transfer(kind=EntryKind.TRANSFER, idempotency_key="float", debit=acc, credit=acc,
                                    amount=2.0),
    ])
    def test_float_refused(self, usdt, call):
        before = _snapshot()
        with pytest.raises(TypeError, match="float"):
            call(usdt["available"])
        assert _snapshot() == before

    def test_float_smuggled_into_a_leg_refused(self, usdt):
        legs = [Leg(usdt["available"].pk, "USDT", Side.DEBIT, 1.5), Leg(usdt["earn"].pk, "USDT", Side.CREDIT, 1.5)]
        with pytest.raises(InvalidAmount):
            ledger.entry_post(kind=EntryKind.TRANSFER, idempotency_key="float-leg", legs=legs)  # type: ignore[arg-type]

    def test_unbalanced_spec_refused_before_the_database(self, usdt, django_assert_num_queries):
        legs = [Leg.debit(usdt["available"], "1"), Leg.credit(usdt["earn"], "2")]
        with django_assert_num_queries(0), pytest.raises(UnbalancedEntry):  # the accounts brought their scale
            ledger.entry_post(kind=EntryKind.TRANSFER, idempotency_key="unbalanced", legs=legs)
        bare = [Leg(leg.account_id, leg.asset, leg.side, leg.amount) for leg in legs]
        with django_assert_num_queries(1), pytest.raises(UnbalancedEntry):  # the asset scale lookup only
            ledger.entry_post(kind=EntryKind.TRANSFER, idempotency_key="unbalanced", legs=bare)

    def test_single_leg_refused(self, usdt):
        with pytest.raises(UnbalancedEntry, match="at least two"):
            ledger.entry_post(kind=EntryKind.TRANSFER, idempotency_key="one", legs=[Leg.debit(usdt["available"], "1")])

    @pytest.mark.parametrize("amount", ["0", "-1"])
    def test_non_positive_amount_refused(self, usdt, amount):
        legs = [Leg.debit(usdt["available"], amount), Leg.credit(usdt["earn"], amount)]
        with pytest.raises(InvalidAmount):
            ledger.entry_post(kind=EntryKind.TRANSFER, idempotency_key="zero", legs=legs)

    def test_amount_finer_than_scale_refused(self, usdt):
        legs = [Leg.debit(usdt["available"], "0.000000001"), Leg.credit(usdt["earn"], "0.000000001")]
        with pytest.raises(InvalidAmount, match="more decimals than USDT allows"):
            ledger.entry_post(kind=EntryKind.TRANSFER, idempotency_key="fine", legs=legs)

    def test_leg_asset_must_match_account_asset(self, usdt):
        btc = ledger.account_for(owner_id=usdt["available"].owner_id, asset="BTC", kind=AccountKind.EARN)
        before = _snapshot()
        legs = [Leg.debit(usdt["available"], "1"), Leg(btc.pk, "USDT", Side.CREDIT, Decimal("1"))]
        with pytest.raises(InvalidAmount, match="holds BTC only"):
            ledger.entry_post(kind=EntryKind.TRANSFER, idempotency_key="asset", legs=legs)
        assert _snapshot() == before

    def test_unknown_asset_and_account_refused(self, usdt):
        with pytest.raises(InvalidAmount, match="Unknown asset"):
            ledger.entry_post(kind=EntryKind.TRANSFER, idempotency_key="nope",
                              legs=[Leg(1, "NOPE", Side.DEBIT, Decimal(1)), Leg(2, "NOPE", Side.CREDIT, Decimal(1))])
        with pytest.raises(InvalidAmount, match="Unknown ledger account"):
            ledger.entry_post(kind=EntryKind.TRANSFER, idempotency_key="ghost",
                              legs=[Leg.debit(usdt["available"], "1"),
                                    Leg(10**12, "USDT", Side.CREDIT, Decimal(1))])


class TestBatches:
    def test_many_entries_in_constant_queries(self, usdt, django_assert_max_num_queries):
        """1 000 entries (2 000 postings) cost the same handful of statements as one."""
        fees = ledger.platform_account(asset="USDT", kind=AccountKind.FEE_INCOME)
        specs = [EntrySpec(EntryKind.FEE, f"batch:{i}",
                           [Leg.debit(usdt["available"], "0.01"), Leg.credit(fees, "0.01")], reference=f"r{i}")
                 for i in range(1000)]
        with django_assert_max_num_queries(8):
            entries = ledger.entries_post(specs)
        assert [e.idempotency_key for e in entries] == [s.idempotency_key for s in specs]
        assert Posting.objects.filter(entry__idempotency_key__startswith="batch:").count() == 2000
        assert balance(usdt["available"]) == Decimal("90")
        assert balance(fees) == Decimal("10")

    def test_batch_replayed_posts_nothing_more(self, usdt):
        specs = [EntrySpec(EntryKind.TRANSFER, f"again:{i}", [Leg.debit(usdt["available"], "1"),
                                                              Leg.credit(usdt["earn"], "1")]) for i in range(50)]
        first = ledger.entries_post(specs)
        second = ledger.entries_post(specs)
        assert [e.pk for e in first] == [e.pk for e in second]
        assert balance(usdt["earn"]) == Decimal("50")

    def test_one_entry_with_many_postings(self, assets):
        """A chunk of accruals may be one entry: one expense debit, many customer credits."""
        users = UserFactory.create_batch(25)
        expense = ledger.platform_account(asset="BTC", kind=AccountKind.YIELD_EXPENSE)
        accrued = ledger.accounts_ensure([(u.pk, "BTC", AccountKind.ACCRUED) for u in users])
        legs = [Leg.credit(acc, "0.00000001") for acc in accrued.values()]
        legs.append(Leg.debit(expense, "0.00000025"))
        entry = ledger.entry_post(kind=EntryKind.ACCRUAL, idempotency_key="accrual:chunk:1", legs=legs)
        assert entry.postings.count() == 26
        assert balance(expense) == Decimal("-0.00000025")

    def test_empty_batch(self, db):
        assert ledger.entries_post([]) == []


class TestAccounts:
    def test_accounts_ensure_is_idempotent_for_platform_and_users(self, assets, customer):
        keys = [(None, "USDT", AccountKind.EXTERNAL), (customer.pk, "USDT", AccountKind.AVAILABLE)]
        first = ledger.accounts_ensure(keys)
        second = ledger.accounts_ensure(keys + keys)
        assert {k: a.pk for k, a in first.items()} == {k: a.pk for k, a in second.items()}
        assert LedgerAccount.objects.count() == 2

    def test_account_kind_must_match_owner(self, assets, customer):
        with pytest.raises(IntegrityError), transaction.atomic():
            ledger.account_for(owner_id=customer.pk, asset="USDT", kind=AccountKind.FEE_INCOME)
