-- Back to 0008's bodies (invariants_linear.sql, search_path pinned as balances_from_postings.sql does).
SELECT set_config('ledger.saved_search_path', current_setting('search_path'), true);
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

ALTER TABLE ledger_pendingdeposit DROP CONSTRAINT IF EXISTS pendingdeposit_entry_key_fk;
DROP TRIGGER IF EXISTS journalentry_rows_append_only ON ledger_journalentry;
DROP TRIGGER IF EXISTS posting_rows_append_only ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_refuse_partition_change();
DROP TRIGGER IF EXISTS journalentry_key_claim ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_entry_key_claim();

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
    SELECT n.entry_id INTO bad
      FROM (SELECT DISTINCT entry_id FROM new_postings) n
     WHERE (SELECT e.created_txid FROM ledger_journalentry e WHERE e.id = n.entry_id) <> txid_current()
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entry % was committed earlier; postings cannot be added to it', bad.entry_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

ALTER FUNCTION ledger_check_entry_balanced() RESET enable_seqscan;
CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    legs bigint;
    unbalanced text;
BEGIN
    SELECT coalesce(sum(s.n), 0), min(s.asset_id) FILTER (WHERE s.net <> 0) INTO legs, unbalanced
      FROM (SELECT asset_id, count(*) AS n, sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS net
              FROM ledger_posting WHERE entry_id = NEW.id GROUP BY asset_id) s;
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
