-- The month-bounded probes of the ledger's checks pruned to one month when PostgreSQL plans them, so a
-- posting statement and an entry's commit lock one month of each table, not every month kept live.
--
-- Before, the posting check probed entries through a LATERAL join whose month bounds came from each row
-- (pruned only when it ran), and the balanced-entry check used a cached plan whose month was a parameter.
-- Either way PostgreSQL locks every partition and each of its indexes before pruning: one subscription
-- held 190 relation locks with five months per table and 650 with three years, and fifty concurrent
-- subscriptions ran the lock table out of shared memory. Now each probe is EXECUTEd with the month's bounds
-- passed as values (USING), which the planner folds into constants and prunes at plan time:
-- * the posting check runs one statement per distinct month among the new postings (one, except for a
--   statement spanning a month's end): a primary-key probe per new entry, in that month's partition;
-- * the balanced-entry check plans its one-partition probe per entry, at commit (one per request or
--   accrual chunk).
-- Both run with enable_seqscan off: a month's partition filled since its last ANALYZE (or within this
-- very transaction) still gets its primary-key or entry_id index rather than a scan of the month. (The
-- entries' created_at index is BRIN since this migration: a B-tree on it looked as cheap as the primary key
-- to the planner in a young month without statistics, and a probe through it read the whole month for
-- each entry. jit off: a disabled scan's cost would otherwise trigger JIT compilation, hundreds of
-- milliseconds for a one-row probe.)
-- The rules, messages and SQLSTATEs are unchanged.

SELECT set_config('ledger.saved_search_path', current_setting('search_path'), true);
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

CREATE OR REPLACE FUNCTION ledger_check_new_postings() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_seqscan = off SET jit = off AS $$
DECLARE
    bad record;
    month timestamptz;
BEGIN
    SELECT n.entry_id, n.amount, a.code, a.scale INTO bad
      FROM new_postings n JOIN ledger_asset a ON a.code = n.asset_id
     WHERE n.amount <> trunc(n.amount, a.scale)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting of % % in entry % is finer than the asset scale %',
            bad.amount, bad.code, bad.entry_id, bad.scale USING ERRCODE = 'check_violation';
    END IF;
    FOR month IN SELECT DISTINCT partition_month_start(created_at) FROM new_postings LOOP
        EXECUTE $sql$
            SELECT n.entry_id, e.txid
              FROM (SELECT DISTINCT entry_id FROM new_postings WHERE created_at >= $1 AND created_at < $2) n
              LEFT JOIN LATERAL (SELECT e.created_txid AS txid FROM ledger_journalentry e
                                  WHERE e.id = n.entry_id AND e.created_at >= $1 AND e.created_at < $2
                                  LIMIT 1) e ON true
             WHERE e.txid IS DISTINCT FROM txid_current()
             LIMIT 1
        $sql$ INTO bad USING month, partition_month_end(month);
        IF bad.entry_id IS NOT NULL AND bad.txid IS NULL THEN
            RAISE EXCEPTION 'posting of entry % refused: no such entry in % (an entry and its postings share a month)',
                bad.entry_id, to_char(month AT TIME ZONE 'UTC', 'YYYY-MM')
                USING ERRCODE = 'foreign_key_violation';
        ELSIF bad.entry_id IS NOT NULL THEN
            RAISE EXCEPTION 'entry % was committed earlier; postings cannot be added to it', bad.entry_id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_seqscan = off SET jit = off AS $$
DECLARE
    legs bigint;
    unbalanced text;
BEGIN
    -- The entry's postings are in its month (checked as they were inserted): one partition.
    EXECUTE $sql$
        SELECT coalesce(sum(s.n), 0), min(s.asset_id) FILTER (WHERE s.net <> 0)
          FROM (SELECT asset_id, count(*) AS n, sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS net
                  FROM ledger_posting
                 WHERE entry_id = $1 AND created_at >= $2 AND created_at < $3
                 GROUP BY asset_id) s
    $sql$ INTO legs, unbalanced
        USING NEW.id, partition_month_start(NEW.created_at), partition_month_end(NEW.created_at);
    IF legs < 2 THEN
        RAISE EXCEPTION 'journal entry % has % posting(s); at least 2 are required', NEW.id, legs
            USING ERRCODE = 'check_violation';
    END IF;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance in %', NEW.id, unbalanced
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

SELECT set_config('search_path', current_setting('ledger.saved_search_path'), true);
