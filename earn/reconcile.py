"""Earn's reconciliation checks, registered with the ledger's `reconcile`.

Each is one set-based query returning only mismatching rows.
"""

from __future__ import annotations

CHECKS = {
    "earn_principal": """
        WITH pos AS (SELECT user_id, asset_id, sum(principal) AS total FROM earn_position
                      WHERE status = 'active' GROUP BY 1, 2),
             acc AS (SELECT owner_id AS user_id, asset_id, balance AS total FROM ledger_ledgeraccount
                      WHERE kind = 'earn')
        SELECT coalesce(pos.user_id, acc.user_id), coalesce(pos.asset_id, acc.asset_id),
               coalesce(pos.total, 0), coalesce(acc.total, 0)
          FROM pos FULL JOIN acc ON acc.user_id = pos.user_id AND acc.asset_id = pos.asset_id
         WHERE coalesce(pos.total, 0) <> coalesce(acc.total, 0)""",
    "earn_pending": """
        WITH red AS (SELECT p.user_id, p.asset_id, sum(r.payout) AS total FROM earn_redemption r
                       JOIN earn_position p ON p.id = r.position_id WHERE r.status = 'pending' GROUP BY 1, 2),
             acc AS (SELECT owner_id AS user_id, asset_id, balance AS total FROM ledger_ledgeraccount
                      WHERE kind = 'pending')
        SELECT coalesce(red.user_id, acc.user_id), coalesce(red.asset_id, acc.asset_id),
               coalesce(red.total, 0), coalesce(acc.total, 0)
          FROM red FULL JOIN acc ON acc.user_id = red.user_id AND acc.asset_id = red.asset_id
         WHERE coalesce(red.total, 0) <> coalesce(acc.total, 0)""",
    "earn_accrued": """
        WITH acr AS (SELECT p.user_id, p.asset_id, sum(a.posted) AS total FROM earn_accrual a
                       JOIN earn_position p ON p.id = a.position_id WHERE NOT a.paid_out GROUP BY 1, 2),
             acc AS (SELECT owner_id AS user_id, asset_id, balance AS total FROM ledger_ledgeraccount
                      WHERE kind = 'accrued')
        SELECT coalesce(acr.user_id, acc.user_id), coalesce(acr.asset_id, acc.asset_id),
               coalesce(acr.total, 0), coalesce(acc.total, 0)
          FROM acr FULL JOIN acc ON acc.user_id = acr.user_id AND acc.asset_id = acr.asset_id
         WHERE coalesce(acr.total, 0) <> coalesce(acc.total, 0)""",
    # Launch mode: what customers committed and is not settled yet is exactly their committed accounts.
    "earn_committed": """
        WITH com AS (SELECT c.user_id, p.asset_id, sum(c.amount) AS total FROM earn_launchcommitment c
                       JOIN earn_product p ON p.id = c.product_id WHERE c.status <> 'settled' GROUP BY 1, 2),
             acc AS (SELECT owner_id AS user_id, asset_id, balance AS total FROM ledger_ledgeraccount
                      WHERE kind = 'committed')
        SELECT coalesce(com.user_id, acc.user_id), coalesce(com.asset_id, acc.asset_id),
               coalesce(com.total, 0), coalesce(acc.total, 0)
          FROM com FULL JOIN acc ON acc.user_id = com.user_id AND acc.asset_id = com.asset_id
         WHERE coalesce(com.total, 0) <> coalesce(acc.total, 0)""",
    "earn_sold": """
        SELECT pr.id, pr.asset_id, coalesce(sum(p.principal), 0), pr.sold_amount FROM earn_product pr
          LEFT JOIN earn_position p ON p.product_id = pr.id AND p.status = 'active'
         GROUP BY pr.id HAVING coalesce(sum(p.principal), 0) <> pr.sold_amount""",
    "earn_position_changes": """
        SELECT p.id, p.asset_id, coalesce(sum(c.amount), 0), p.principal FROM earn_position p
          LEFT JOIN earn_positionchange c ON c.position_id = p.id
         GROUP BY p.id HAVING coalesce(sum(c.amount), 0) <> p.principal""",
    # Every position: what was posted plus the carry still held equals the exact interest (18 dp).
    "earn_accrual_carry": """
        SELECT position_id, sum(posted) + (array_agg(carry ORDER BY date DESC))[1], sum(exact)
          FROM earn_accrual GROUP BY position_id
        HAVING sum(posted) + (array_agg(carry ORDER BY date DESC))[1] <> sum(exact)""",
    # Every customer, asset and day: the day's accrual credits in the ledger (one per customer account,
    # in the entries referenced `accrual:<day>`) equal the posted amounts of that customer's accrual
    # rows of the day (the per-position detail).
    "earn_interest_paid": """
        WITH acr AS (SELECT p.user_id, p.asset_id, a.date, sum(a.posted) AS total FROM earn_accrual a
                       JOIN earn_position p ON p.id = a.position_id GROUP BY 1, 2, 3),
             led AS (SELECT acc.owner_id AS user_id, acc.asset_id,
                            CASE WHEN e.reference ~ '^accrual:[0-9]{4}-[0-9]{2}-[0-9]{2}$'
                                 THEN substr(e.reference, 9)::date END AS date,
                            sum(po.amount) AS total
                       FROM ledger_posting po JOIN ledger_journalentry e ON e.id = po.entry_id
                       JOIN ledger_ledgeraccount acc ON acc.id = po.account_id
                      WHERE e.kind = 'accrual' AND po.side = 'C' AND acc.owner_id IS NOT NULL GROUP BY 1, 2, 3)
        SELECT coalesce(acr.user_id, led.user_id), coalesce(acr.asset_id, led.asset_id),
               coalesce(acr.date, led.date), coalesce(acr.total, 0), coalesce(led.total, 0)
          FROM acr FULL JOIN led ON led.user_id = acr.user_id AND led.asset_id = acr.asset_id
                                AND led.date = acr.date
         WHERE coalesce(acr.total, 0) <> coalesce(led.total, 0)
           -- Days before the months detached for retention: a month's last day is credited on the
           -- next month's first, so one side of that day may be archived and the other not.
           AND coalesce(acr.date, led.date) >= coalesce(
                   (SELECT max(month) + interval '1 month' FROM core_detachedpartition
                     WHERE parent IN ('earn_accrual', 'ledger_posting')), '-infinity')""",
}

LABELS = {
    "earn_principal": "user {0} {1}: active principal {2} ≠ earn account {3}",
    "earn_pending": "user {0} {1}: pending redemptions {2} ≠ pending account {3}",
    "earn_accrued": "user {0} {1}: unpaid accruals {2} ≠ accrued account {3}",
    "earn_committed": "user {0} {1}: unsettled launch commitments {2} ≠ committed account {3}",
    "earn_sold": "product {0} ({1}): active principal {2} ≠ sold amount {3}",
    "earn_position_changes": "position {0} ({1}): sum of changes {2} ≠ principal {3}",
    "earn_accrual_carry": "position {0}: posted + carry {1} ≠ exact {2}",
    "earn_interest_paid": "user {0} {1} on {2}: accruals posted {3} ≠ accrual credits in the ledger {4}",
}


def register() -> None:
    from ledger.reconcile import register_sql_checks

    register_sql_checks(CHECKS, LABELS)
