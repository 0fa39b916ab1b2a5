"""Daily pool income: trading fees and reward emissions, split by earning shares, posted once per (pool, day).

For each pool and day D (after D ends):
- fee income = fee rate × the venue pool's daily volume (USD) × our share of the venue pool's liquidity, half in
  each asset at the prices of the end of D; the reward = the venue's daily emission × the same share (our share
  is 1 when the venue's TVL is not known: the pool's figures are then ours alone);
- the earning shares of each position on D are the sum of its share changes effective on or before D
  (a deposit on T earns from T+1, a redemption on T earns nothing for T), so a late run gives the same split;
- each amount is split by the largest-remainder method in whole units of its asset (ties: lower position
  id first), in SQL with integer arithmetic, so the parts add up to the total exactly;
- fees are paid to the customers' available balances, or — the pool's `fee_mode` — added to the reserves
  (every share is worth more; the split is kept as history); rewards are paid in the reward token, except to
  positions that reinvest them: their reward is sold at the end-of-day price and bought into the pool
  (half each asset), minting shares to them.
Exactly once: a `PoolDay` row unique per (pool, date) is inserted first (a second run finds it and skips),
and every ledger entry has a deterministic key (`pool-fee:{pool}:{date}` …) that the ledger refuses twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from core.money import floor_to_scale
from ledger import services as ledger
from ledger.bulk import entry_post_credits
from ledger.models import AccountKind, EntryKind
from ledger.services import Leg
from pools.models import FeeMode, Pool, PoolDay, PoolShareChange
from pools.selectors import income_share, pool_prices
from pools.services.pools import SHARE_SCALE, pool_lock, reserve_legs

logger = logging.getLogger(__name__)

_EARNING = "_pool_earning"
_SPLIT = "_pool_split"


@dataclass(frozen=True)
class DayResult:
    pool_id: int
    date: dt.date
    positions: int
    fee_a: Decimal
    fee_b: Decimal
    reward: Decimal
    reward_compounded: Decimal
    skipped: bool = False


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)


def _units(amount: Decimal, scale: int) -> int:
    return int(amount.scaleb(scale).to_integral_exact())


def _split_sql(share_scale: int) -> str:
    """Largest remainder for three totals at once, integer arithmetic: q = div(units·w, W), r = mod(units·w, W);
    the units left over go to the largest r, then the lower position id."""
    columns = ",\n               ".join(
        f"(q{n} + CASE WHEN n{n} <= %(units_{n})s - sum(q{n}) OVER () THEN 1 ELSE 0 END)"
        f" * %(quantum_{n})s::numeric AS amount_{n}" for n in ("a", "b", "r"))
    return f"""
        CREATE TEMP TABLE {_SPLIT} ON COMMIT DROP AS
        WITH base AS (
            SELECT e.*, trunc(e.shares * 1e{share_scale}) AS w, t.total
              FROM {_EARNING} e CROSS JOIN (SELECT sum(trunc(shares * 1e{share_scale})) AS total FROM {_EARNING}) t
        ), parts AS (
            SELECT b.*, div(%(units_a)s * w, total) AS qa, mod(%(units_a)s * w, total) AS ra,
                        div(%(units_b)s * w, total) AS qb, mod(%(units_b)s * w, total) AS rb,
                        div(%(units_r)s * w, total) AS qr, mod(%(units_r)s * w, total) AS rr
              FROM base b
        ), ranked AS (
            SELECT p.*, row_number() OVER (ORDER BY ra DESC, position_id) AS na,
                        row_number() OVER (ORDER BY rb DESC, position_id) AS nb,
                        row_number() OVER (ORDER BY rr DESC, position_id) AS nr
              FROM parts p
        )
        SELECT position_id, user_id, compound, active, shares,
               {columns},
               0::numeric(38,18) AS comp_a, 0::numeric(38,18) AS comp_b, 0::numeric(38,18) AS comp_usd,
               0::numeric(38,18) AS reward_shares
          FROM ranked
    """


def pool_distribute_day(*, pool_id: int, day: dt.date) -> DayResult:
    """Distribute one pool's income for `day`; a second call for the same (pool, day) does nothing."""
    with transaction.atomic():
        product_id = Pool.objects.values_list("product_id", flat=True).get(pk=pool_id)
        pool = pool_lock(product_id)
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO pools_poolday (pool_id, date, fee_mode, volume_usd, fee_a, fee_b, reward,
                                              reward_compounded, earning_shares, positions, created_at)
                   VALUES (%s, %s, %s, %s, 0, 0, 0, 0, 0, 0, %s) ON CONFLICT (pool_id, date) DO NOTHING RETURNING id""",
                [pool.pk, day, pool.fee_mode, pool.daily_volume_usd, now])
            row = cursor.fetchone()
            if row is None:
                return DayResult(pool.pk, day, 0, Decimal(0), Decimal(0), Decimal(0), Decimal(0), skipped=True)
            day_id = row[0]
            result = _distribute(cursor, pool, day, day_id, now)
            cursor.execute(f"DROP TABLE IF EXISTS {_EARNING}, {_SPLIT}")
        return result


def _distribute(cursor, pool: Pool, day: dt.date, day_id: int, now: dt.datetime) -> DayResult:
    cursor.execute(f"DROP TABLE IF EXISTS {_EARNING}, {_SPLIT}")
    cursor.execute(
        f"""CREATE TEMP TABLE {_EARNING} ON COMMIT DROP AS
            SELECT c.position_id, pp.user_id, pp.compound_rewards AS compound, pp.status = 'active' AS active,
                   sum(c.shares) AS shares
              FROM pools_poolsharechange c JOIN pools_poolposition pp ON pp.id = c.position_id
             WHERE pp.pool_id = %s AND c.effective_date <= %s AND (pp.closed_at IS NULL OR pp.closed_at >= %s)
             GROUP BY c.position_id, pp.user_id, pp.compound_rewards, pp.status
            HAVING sum(c.shares) > 0""",
        [pool.pk, day, end_of_day(day) - dt.timedelta(days=1)])
    cursor.execute(f"SELECT count(*), coalesce(sum(shares), 0) FROM {_EARNING}")
    positions, earning = cursor.fetchone()
    if positions == 0:
        return DayResult(pool.pk, day, 0, Decimal(0), Decimal(0), Decimal(0), Decimal(0))
    prices = pool_prices(pool, at=end_of_day(day))
    pa, pb = prices[pool.asset_a_id], prices[pool.asset_b_id]
    sa, sb = pool.asset_a.scale, pool.asset_b.scale
    share = income_share(pool, prices)  # our part of the venue pool's volume and emission
    fee_usd = pool.fee_rate * pool.daily_volume_usd * share
    fee_a, fee_b = floor_to_scale(fee_usd / 2 / pa, sa), floor_to_scale(fee_usd / 2 / pb, sb)
    sr = pool.reward_asset.scale if pool.reward_asset else 0
    reward = floor_to_scale(pool.daily_emission * share, sr) if pool.reward_asset_id else Decimal(0)
    cursor.execute(_split_sql(SHARE_SCALE), {
        "units_a": _units(fee_a, sa), "units_b": _units(fee_b, sb), "units_r": _units(reward, sr),
        "quantum_a": Decimal(1).scaleb(-sa), "quantum_b": Decimal(1).scaleb(-sb), "quantum_r": Decimal(1).scaleb(-sr)})
    compounded = _reinvest_plan(cursor, pool, prices, reward)
    compound_fees = pool.fee_mode == FeeMode.COMPOUND
    cursor.execute(
        f"""INSERT INTO pools_poolpayout (day_id, position_id, date, shares, fee_a, fee_b, reward, reward_shares,
                                          fee_compounded, income_usd, created_at)
            SELECT %s, position_id, %s, shares, amount_a, amount_b, amount_r, reward_shares, %s,
                   trunc(amount_a * %s + amount_b * %s + amount_r * %s, 2), %s FROM {_SPLIT}""",
        [day_id, day, compound_fees, pa, pb, prices.get(pool.reward_asset_id or "", Decimal(0)), now])
    key = f"{pool.pk}:{day.isoformat()}"
    if fee_a or fee_b:
        if compound_fees:
            ledger.entry_post(kind=EntryKind.FEE, idempotency_key=f"pool-fee:{key}",
                              legs=reserve_legs(pool, fee_a, fee_b),
                              reference=f"pool:{pool.pk}", memo=f"trading fees {day} compounded into the pool")
            Pool.objects.filter(pk=pool.pk).update(reserve_a=pool.reserve_a + fee_a, reserve_b=pool.reserve_b + fee_b)
            pool.reserve_a += fee_a
            pool.reserve_b += fee_b
        else:
            entry_post_credits(
                kind=EntryKind.FEE, idempotency_key=f"pool-fee:{key}", debit_kind=AccountKind.EXTERNAL,
                credits_sql=f"SELECT user_id, %s, 'available', amount_a FROM {_SPLIT}"
                            f" UNION ALL SELECT user_id, %s, 'available', amount_b FROM {_SPLIT}",
                params=[pool.asset_a_id, pool.asset_b_id], reference=f"pool:{pool.pk}",
                memo=f"trading fees {day}")
    if reward:
        entry_post_credits(
            kind=EntryKind.REWARD, idempotency_key=f"pool-reward:{key}", debit_kind=AccountKind.REWARDS,
            credits_sql=f"SELECT user_id, %s, 'available', amount_r FROM {_SPLIT} WHERE reward_shares = 0",
            params=[pool.reward_asset_id], reference=f"pool:{pool.pk}", memo=f"rewards {day}")
    if compounded:
        _reinvest_post(cursor, pool, day, key, now, compounded)
    PoolDay.objects.filter(pk=day_id).update(fee_a=fee_a, fee_b=fee_b, reward=reward,
                                             reward_compounded=compounded[0] if compounded else 0,
                                             earning_shares=earning, positions=positions)
    return DayResult(pool.pk, day, positions, fee_a, fee_b, reward, compounded[0] if compounded else Decimal(0))


def _reinvest_plan(cursor, pool: Pool, prices: dict[str, Decimal],
                   reward: Decimal) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
    """For positions that reinvest: the reward's USD value bought into the pool half and half, shares minted
    pro rata (rounded down); a position whose reward buys no share is paid the reward instead.
    Returns (reward reinvested, a bought, b bought, shares minted) or None."""
    price_r = prices.get(pool.reward_asset_id or "")
    if not reward or price_r is None or pool.total_shares == 0:
        return None
    pa, pb = prices[pool.asset_a_id], prices[pool.asset_b_id]
    cursor.execute(
        f"""UPDATE {_SPLIT} SET
                comp_a = trunc(amount_r * %(pr)s / 2 / %(pa)s, %(sa)s),
                comp_b = trunc(amount_r * %(pr)s / 2 / %(pb)s, %(sb)s)
             WHERE compound AND active AND amount_r > 0""",
        {"pr": price_r, "pa": pa, "pb": pb, "sa": pool.asset_a.scale, "sb": pool.asset_b.scale})
    cursor.execute(
        f"""UPDATE {_SPLIT} SET
                reward_shares = trunc(least(comp_a * %(s)s / %(ra)s, comp_b * %(s)s / %(rb)s), %(ss)s),
                comp_usd = trunc(comp_a * %(pa)s + comp_b * %(pb)s, 2)
             WHERE comp_a > 0 AND comp_b > 0""",
        {"s": pool.total_shares, "ra": pool.reserve_a, "rb": pool.reserve_b, "ss": SHARE_SCALE, "pa": pa, "pb": pb})
    cursor.execute(f"UPDATE {_SPLIT} SET comp_a = 0, comp_b = 0, comp_usd = 0 WHERE reward_shares = 0")
    cursor.execute(f"SELECT coalesce(sum(amount_r), 0), coalesce(sum(comp_a), 0), coalesce(sum(comp_b), 0),"
                   f" coalesce(sum(reward_shares), 0) FROM {_SPLIT} WHERE reward_shares > 0")
    totals = cursor.fetchone()
    return totals if totals[3] > 0 else None


def _reinvest_post(cursor, pool: Pool, day: dt.date, key: str, now: dt.datetime,
                   totals: tuple[Decimal, Decimal, Decimal, Decimal]) -> None:
    """The reward sold to the market, both assets bought into the reserves, shares minted to the positions."""
    reward, bought_a, bought_b, minted = totals
    code = pool.reward_asset_id or ""
    legs = [Leg.debit(ledger.platform_account(asset=code, kind=AccountKind.REWARDS), reward),
            Leg.credit(ledger.platform_account(asset=code, kind=AccountKind.EXTERNAL), reward),
            *reserve_legs(pool, bought_a, bought_b)]
    ledger.entry_post(kind=EntryKind.REWARD, idempotency_key=f"pool-reward-reinvest:{key}", legs=legs,
                      reference=f"pool:{pool.pk}", memo=f"rewards {day} reinvested")
    entry_post_credits(
        kind=EntryKind.REWARD, idempotency_key=f"pool-reward-shares:{key}", debit_kind=AccountKind.POOL_RESERVE,
        credits_sql=f"SELECT user_id, %s, 'pool_share', reward_shares FROM {_SPLIT}",
        params=[pool.share_asset_id], reference=f"pool:{pool.pk}", memo=f"shares for rewards {day}")
    cursor.execute(
        f"""UPDATE pools_poolposition pp SET shares = pp.shares + s.reward_shares, cost_a = pp.cost_a + s.comp_a,
                   cost_b = pp.cost_b + s.comp_b, cost_usd = pp.cost_usd + s.comp_usd
              FROM {_SPLIT} s WHERE s.position_id = pp.id AND s.reward_shares > 0""")
    cursor.execute(
        f"""INSERT INTO pools_poolsharechange (position_id, effective_date, shares, reason, created_at)
            SELECT position_id, %s, reward_shares, 'reward', %s FROM {_SPLIT} WHERE reward_shares > 0""",
        [day + dt.timedelta(days=1), now])
    Pool.objects.filter(pk=pool.pk).update(reserve_a=pool.reserve_a + bought_a, reserve_b=pool.reserve_b + bought_b,
                                           total_shares=pool.total_shares + minted, updated_at=now)


def pools_distribute_day(day: dt.date) -> list[DayResult]:
    """Distribute `day` for every pool (each pool in its own transaction); safe to run again."""
    ids = Pool.objects.order_by("id").values_list("id", flat=True)
    return [pool_distribute_day(pool_id=pid, day=day) for pid in ids]


def pools_distribute_pending(*, until: dt.date | None = None) -> list[DayResult]:
    """Every day not yet distributed, from each pool's first earning day up to `until` (default yesterday)."""
    last = until or (timezone.localtime(timezone.now(), dt.UTC).date() - dt.timedelta(days=1))
    results = []
    for pool in Pool.objects.order_by("id"):
        done = PoolDay.objects.filter(pool=pool).order_by("-date").values_list("date", flat=True).first()
        first = PoolShareChange.objects.filter(position__pool=pool).aggregate(d=Min("effective_date"))["d"]
        day = done + dt.timedelta(days=1) if done else first
        while day is not None and day <= last:
            results.append(pool_distribute_day(pool_id=pool.pk, day=day))
            day += dt.timedelta(days=1)
    return results
