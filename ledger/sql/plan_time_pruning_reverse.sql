-- Back to the month probes of ledger 0009 (run-time pruning: every month locked).
ALTER FUNCTION ledger_check_new_postings() RESET enable_seqscan;

SELECT set_config('ledger.saved_search_path', current_setting('search_path'), true);
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

CREATE OR REPLACE FUNCTION ledger_check_new_postings() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.entry_id, n.amount, a.code, a.scale INTO bad
      FROM new_postings n JOIN ledger_asset a ON a.code = n.asset_id
     WHERE n.amount <> trunc(n.amount, a.scale)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting of % % in entry % is finer than the asset scale %',
            bad.amount, bad.code, bad.entry_id, bad.scale USING ERRCODE = 'check_violation';
    END IF;
    -- One primary-key probe per distinct (entry, month), in that month's partition (run-time pruning).
    -- EXECUTE plans it per statement: a plan cached while this month's partition was empty would
    -- read it with a sequential scan once it is not.
    EXECUTE $sql$
        SELECT n.entry_id, n.month, e.txid
          FROM (SELECT DISTINCT entry_id, partition_month_start(created_at) AS month FROM new_postings) n
          LEFT JOIN LATERAL (SELECT e.created_txid AS txid FROM ledger_journalentry e
                              WHERE e.id = n.entry_id AND e.created_at >= n.month
                                AND e.created_at < partition_month_end(n.month)) e ON true
         WHERE e.txid IS DISTINCT FROM txid_current()
         LIMIT 1
    $sql$ INTO bad;
    IF bad.entry_id IS NOT NULL AND bad.txid IS NULL THEN
        RAISE EXCEPTION 'posting of entry % refused: no such entry in % (an entry and its postings share a month)',
            bad.entry_id, to_char(bad.month AT TIME ZONE 'UTC', 'YYYY-MM')
            USING ERRCODE = 'foreign_key_violation';
    ELSIF bad.entry_id IS NOT NULL THEN
        RAISE EXCEPTION 'entry % was committed earlier; postings cannot be added to it', bad.entry_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

-- The cached plan is pruned to the entry's month when it runs (its created_at is a parameter). It is
-- made once per session, perhaps while that month's partition is still empty, when a sequential scan
-- looks cheapest and would stay in the plan as the month fills: enable_seqscan = off keeps the
-- entry_id index (planning per call instead, plan_cache_mode = force_custom_plan, cost a third of
-- the posting rate in bench/ledger_bench.py).
CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_seqscan = off AS $$
DECLARE
    legs bigint;
    unbalanced text;
BEGIN
    -- The entry's postings are in its month (checked as they were inserted): one partition.
    SELECT coalesce(sum(s.n), 0), min(s.asset_id) FILTER (WHERE s.net <> 0) INTO legs, unbalanced
      FROM (SELECT asset_id, count(*) AS n, sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS net
              FROM ledger_posting
             WHERE entry_id = NEW.id AND created_at >= partition_month_start(NEW.created_at)
               AND created_at < partition_month_end(NEW.created_at)
             GROUP BY asset_id) s;
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
