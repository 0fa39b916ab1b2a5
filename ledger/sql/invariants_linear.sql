-- Linear-time invariant checks (replaces the bodies installed by invariants.sql; same rules).
--
-- The first versions let the planner scan whole tables per check, so posting cost grew with the
-- size of the ledger (quadratic over its life; found by bench/ledger_bench.py):
-- * the per-entry balance check ran `... WHERE entry_id = $1 GROUP BY asset_id ... LIMIT 1`, which
--   PostgreSQL served by walking the asset_id index over every posting of the asset;
-- * the "entry created by this transaction" check joined the inserted postings to journal entries
--   with a merge join over the whole entries primary key.
-- Now the balance check is one aggregate over the entry's postings (entry_id index) and the
-- transaction check is one primary-key lookup per distinct new entry (a correlated subquery).

CREATE OR REPLACE FUNCTION ledger_check_new_postings() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
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
