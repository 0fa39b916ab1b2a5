"""Launch allocation arithmetic (Django-free): who gets how much of an oversubscribed quota.

Everything is counted in integer units of the asset's scale (1 unit = 10^-scale), so floors and
remainders are exact. A customer's demand is the sum of their commitments; the allocation is per
customer, then spread over that customer's commitments oldest first.

Pro-rata (DESIGN: launch mode; SCENARIOS 18): each customer still in the draw gets
demand × quota_left / demand_left, floored to a unit; the units the floors leave go one each by
largest remainder, ties to the customer whose first commitment is earlier. Before that:

* a customer whose exact share reaches their cap (the per-user cap, or their own demand) gets the cap
  and leaves the draw; the quota left is shared again among the others;
* a customer whose exact share is below the minimum lot gets nothing and leaves the draw (their
  commitment is refunded in full); the others' shares grow. When every share is below the lot, only
  the smallest demand (the later first commitment on a tie) leaves, and the others share again.

Both steps repeat until no customer leaves, so the result does not depend on the order of the steps.
A remainder unit never breaks a cap (an uncapped share is below its integer cap, so its ceiling is
within it) nor a lot (an exact share of at least the lot floors to at least the lot).

First come, first served: commitments in order, each filled as far as the quota and its customer's
cap allow; a fill below the minimum lot is not made (that commitment is refunded and the next is
tried, so a smaller later one may still fit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

PRO_RATA = "pro_rata"
FCFS = "fcfs"


@dataclass(frozen=True)
class Commitment:
    id: int  # ascending = earlier
    user_id: int
    amount: int  # units


def to_units(amount: Decimal, scale: int) -> int:
    units = amount.scaleb(scale)
    if units != units.to_integral_value():
        raise ValueError(f"{amount} has more than {scale} decimals")
    return int(units)


def from_units(units: int, scale: int) -> Decimal:
    return Decimal(units).scaleb(-scale)


def pro_rata_users(demand: dict[int, int], first: dict[int, int], *, quota: int, min_lot: int,
                   user_cap: int | None) -> dict[int, int]:
    """{user: units} for demands {user: units}; `first` orders ties (a user's earliest commitment id)."""
    caps = {u: d if user_cap is None else min(d, user_cap) for u, d in demand.items()}
    result = dict.fromkeys(demand, 0)
    active = {u for u, d in demand.items() if d > 0}
    left = quota
    while active and left > 0:
        total = sum(demand[u] for u in active)
        capped = {u for u in active if demand[u] * left >= caps[u] * total}
        if capped:
            for u in capped:
                result[u] = caps[u]
                left -= caps[u]
            active -= capped
            continue
        small = {u for u in active if demand[u] * left < min_lot * total}
        if small == active:  # nobody reaches the lot: the smallest (latest on a tie) leaves, the others share again
            small = {max(active, key=lambda u: (-demand[u], first[u]))}
        if small:
            active -= small  # below the minimum lot: nothing, refunded in full
            continue
        remainders = []
        for u in active:
            share, rest = divmod(demand[u] * left, total)
            result[u] = share
            remainders.append((-rest, first[u], u))
        spare = left - sum(result[u] for u in active)
        for _rest, _first, u in sorted(remainders)[:spare]:
            result[u] += 1
        left = 0
    return result


def allocate(commitments: Sequence[Commitment], *, method: str, quota: int, min_lot: int,
             user_cap: int | None) -> dict[int, int]:
    """{commitment id: allocated units}; the refund of each is its amount minus that."""
    ordered = sorted(commitments, key=lambda c: c.id)
    if method == FCFS:
        return _first_come(ordered, quota=quota, min_lot=min_lot, user_cap=user_cap)
    if method != PRO_RATA:
        raise ValueError(f"unknown allocation method {method!r}")
    demand: dict[int, int] = {}
    first: dict[int, int] = {}
    for c in ordered:
        demand[c.user_id] = demand.get(c.user_id, 0) + c.amount
        first.setdefault(c.user_id, c.id)
    per_user = pro_rata_users(demand, first, quota=quota, min_lot=min_lot, user_cap=user_cap)
    result: dict[int, int] = {}
    for c in ordered:  # a customer's allocation fills their commitments oldest first
        take = min(c.amount, per_user[c.user_id])
        per_user[c.user_id] -= take
        result[c.id] = take
    return result


def _first_come(ordered: Sequence[Commitment], *, quota: int, min_lot: int, user_cap: int | None) -> dict[int, int]:
    left = quota
    given: dict[int, int] = {}
    result: dict[int, int] = {}
    for c in ordered:
        room = left if user_cap is None else min(left, user_cap - given.get(c.user_id, 0))
        take = min(c.amount, max(room, 0))
        if take < min_lot:
            take = 0
        result[c.id] = take
        given[c.user_id] = given.get(c.user_id, 0) + take
        left -= take
    return result
