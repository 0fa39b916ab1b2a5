"""Launch allocation arithmetic (earn.allocation): SCENARIOS 18, caps, lots, first come first served."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from earn.allocation import FCFS, PRO_RATA, Commitment, allocate, from_units, to_units

SCALE = 8


def units(*amounts: str) -> list[int]:
    return [to_units(Decimal(a), SCALE) for a in amounts]


def commitments(*amounts: str) -> list[Commitment]:
    return [Commitment(i + 1, i + 1, u) for i, u in enumerate(units(*amounts))]


def test_scenario_18_pro_rata_floor_then_largest_remainder():
    given_ = allocate(commitments("600", "300", "300", "100"), method=PRO_RATA, quota=to_units(Decimal(1000), SCALE),
                      min_lot=1, user_cap=None)
    allocated = [from_units(given_[i], SCALE) for i in (1, 2, 3, 4)]
    assert allocated == [Decimal("461.53846154"), Decimal("230.76923077"), Decimal("230.76923077"),
                         Decimal("76.92307692")]
    assert sum(allocated) == 1000
    refunds = [Decimal(a) - b for a, b in zip(("600", "300", "300", "100"), allocated, strict=True)]
    assert refunds == [Decimal("138.46153846"), Decimal("69.23076923"), Decimal("69.23076923"),
                       Decimal("23.07692308")]


def test_ties_in_remainder_go_to_the_earlier_commitment():
    # 3 equal commitments, quota 1 unit above a multiple of 3: the spare unit goes to commitment 1.
    given_ = allocate([Commitment(i, i, 10) for i in (1, 2, 3)], method=PRO_RATA, quota=7, min_lot=1, user_cap=None)
    assert given_ == {1: 3, 2: 2, 3: 2}


def test_a_customer_allocation_spreads_over_their_commitments_oldest_first():
    rows = [Commitment(1, 7, 50), Commitment(2, 8, 100), Commitment(3, 7, 50)]
    given_ = allocate(rows, method=PRO_RATA, quota=100, min_lot=1, user_cap=None)
    assert given_ == {1: 50, 2: 50, 3: 0}  # user 7 committed 100 in two parts: 50 allocated to the first


def test_per_user_cap_and_the_excess_goes_to_the_others():
    rows = commitments("900", "100", "100")  # quota 600: pro-rata would give 490.9 to the first
    given_ = allocate(rows, method=PRO_RATA, quota=to_units(Decimal(600), SCALE),
                      min_lot=1, user_cap=to_units(Decimal(300), SCALE))
    assert [from_units(given_[i], SCALE) for i in (1, 2, 3)] == [300, 100, 100]  # everyone else is filled


def test_shares_below_the_minimum_lot_get_nothing_and_the_rest_is_shared():
    rows = commitments("1000", "10")  # quota 100: the 10 would get 0.99, below the lot of 1
    given_ = allocate(rows, method=PRO_RATA, quota=to_units(Decimal(100), SCALE),
                      min_lot=to_units(Decimal(1), SCALE), user_cap=None)
    assert [from_units(given_[i], SCALE) for i in (1, 2)] == [100, 0]


def test_undersubscribed_everyone_gets_everything():
    given_ = allocate(commitments("10", "20"), method=PRO_RATA, quota=to_units(Decimal(1000), SCALE), min_lot=1,
                      user_cap=None)
    assert given_ == {1: to_units(Decimal(10), SCALE), 2: to_units(Decimal(20), SCALE)}


def test_first_come_first_served_fills_in_order_within_caps_and_lots():
    rows = [Commitment(1, 1, 40), Commitment(2, 2, 50), Commitment(3, 1, 30), Commitment(4, 3, 25),
            Commitment(5, 4, 5)]
    given_ = allocate(rows, method=FCFS, quota=100, min_lot=10, user_cap=60)
    # 40; 50; user 1 has 20 of cap left → 20 (≥ lot); 100 reached; nothing is left for the others
    assert given_ == {1: 40, 2: 50, 3: 10, 4: 0, 5: 0}
    given_ = allocate(rows, method=FCFS, quota=95, min_lot=10, user_cap=None)
    assert given_ == {1: 40, 2: 50, 3: 0, 4: 0, 5: 0}  # 5 left is below the lot: no fill


def test_unknown_method_and_too_many_decimals_are_refused():
    with pytest.raises(ValueError):
        allocate([], method="lottery", quota=1, min_lot=1, user_cap=None)
    with pytest.raises(ValueError):
        to_units(Decimal("0.000000001"), SCALE)


@settings(max_examples=200, deadline=None)
@given(amounts=st.lists(st.tuples(st.integers(1, 6), st.integers(10, 10_000)), min_size=1, max_size=40),
       quota=st.integers(1, 100_000), lot=st.integers(1, 10), cap=st.one_of(st.none(), st.integers(10, 5_000)),
       method=st.sampled_from([PRO_RATA, FCFS]))
def test_allocations_never_exceed_quota_commitments_caps_or_lots(amounts, quota, lot, cap, method):
    rows = [Commitment(i + 1, user, amount) for i, (user, amount) in enumerate(amounts)]
    given_ = allocate(rows, method=method, quota=quota, min_lot=lot, user_cap=cap)
    assert sum(given_.values()) <= quota
    per_user: dict[int, int] = {}
    for c in rows:
        assert 0 <= given_[c.id] <= c.amount
        per_user[c.user_id] = per_user.get(c.user_id, 0) + given_[c.id]
    for total in per_user.values():
        assert cap is None or total <= cap
        assert total == 0 or total >= lot or method == FCFS  # FCFS: each fill is at least a lot
    if method == PRO_RATA and cap is None and lot == 1:
        assert sum(given_.values()) == min(quota, sum(c.amount for c in rows))  # the whole quota goes out


def test_ten_thousand_commitments_allocate_fast():
    import time

    rng = random.Random(18)
    rows = [Commitment(i, i % 2000, rng.randint(1, 10_000) * 10**6) for i in range(1, 10_001)]
    started = time.perf_counter()
    given_ = allocate(rows, method=PRO_RATA, quota=sum(c.amount for c in rows) // 5, min_lot=10**6, user_cap=None)
    assert time.perf_counter() - started < 2
    assert sum(given_.values()) == sum(c.amount for c in rows) // 5
