"""Pool reconciliation checks, registered with the ledger's `reconcile`: each query returns only mismatches.

- the reserves of all pools holding an asset = the platform `pool_reserve` balance of that asset;
- each pool's shares issued = minus the platform `pool_reserve` balance of its share asset;
- each pool's shares = the sum of its active positions' shares;
- each customer's shares of a pool = their `pool_share` balance of the share asset;
- each position's shares = the sum of its share changes.
"""

from __future__ import annotations

CHECKS = {
    "pools_reserves": """
        WITH res AS (SELECT asset, sum(amount) AS total FROM (
                         SELECT asset_a_id AS asset, reserve_a AS amount FROM pools_pool
                         UNION ALL SELECT asset_b_id, reserve_b FROM pools_pool) r GROUP BY asset),
             acc AS (SELECT a.asset_id AS asset, a.balance AS total FROM ledger_ledgeraccount a
                      WHERE a.kind = 'pool_reserve' AND a.owner_id IS NULL
                        AND a.asset_id NOT IN (SELECT share_asset_id FROM pools_pool))
        SELECT coalesce(res.asset, acc.asset), coalesce(res.total, 0), coalesce(acc.total, 0)
          FROM res FULL JOIN acc ON acc.asset = res.asset
         WHERE coalesce(res.total, 0) <> coalesce(acc.total, 0)""",
    "pools_shares_issued": """
        SELECT p.id, p.share_asset_id, p.total_shares, -coalesce(a.balance, 0) FROM pools_pool p
          LEFT JOIN ledger_ledgeraccount a ON a.asset_id = p.share_asset_id AND a.kind = 'pool_reserve'
                                          AND a.owner_id IS NULL
         WHERE p.total_shares <> -coalesce(a.balance, 0)""",
    "pools_position_total": """
        SELECT p.id, p.share_asset_id, p.total_shares, coalesce(sum(pp.shares), 0) FROM pools_pool p
          LEFT JOIN pools_poolposition pp ON pp.pool_id = p.id AND pp.status = 'active'
         GROUP BY p.id HAVING p.total_shares <> coalesce(sum(pp.shares), 0)""",
    "pools_share_accounts": """
        WITH pos AS (SELECT pp.user_id, p.share_asset_id AS asset, sum(pp.shares) AS total
                       FROM pools_poolposition pp JOIN pools_pool p ON p.id = pp.pool_id
                      WHERE pp.status = 'active' GROUP BY 1, 2),
             acc AS (SELECT owner_id AS user_id, asset_id AS asset, balance AS total FROM ledger_ledgeraccount
                      WHERE kind = 'pool_share')
        SELECT coalesce(pos.user_id, acc.user_id), coalesce(pos.asset, acc.asset), coalesce(pos.total, 0),
               coalesce(acc.total, 0)
          FROM pos FULL JOIN acc ON acc.user_id = pos.user_id AND acc.asset = pos.asset
         WHERE coalesce(pos.total, 0) <> coalesce(acc.total, 0)""",
    "pools_share_changes": """
        SELECT pp.id, pp.pool_id, coalesce(sum(c.shares), 0), pp.shares FROM pools_poolposition pp
          LEFT JOIN pools_poolsharechange c ON c.position_id = pp.id
         GROUP BY pp.id HAVING coalesce(sum(c.shares), 0) <> pp.shares""",
}

LABELS = {
    "pools_reserves": "{0}: pool reserves {1} ≠ pool_reserve account {2}",
    "pools_shares_issued": "pool {0} ({1}): shares {2} ≠ shares issued in the ledger {3}",
    "pools_position_total": "pool {0} ({1}): shares {2} ≠ active positions' shares {3}",
    "pools_share_accounts": "user {0} {1}: positions' shares {2} ≠ pool_share account {3}",
    "pools_share_changes": "pool position {0} (pool {1}): sum of share changes {2} ≠ shares {3}",
}


def register() -> None:
    from ledger.reconcile import register_sql_checks

    register_sql_checks(CHECKS, LABELS)
