-- Restore the check bodies of invariants.sql (same rules, slower plans).

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
    SELECT DISTINCT n.entry_id INTO bad
      FROM new_postings n JOIN ledger_journalentry e ON e.id = n.entry_id
     WHERE e.created_txid <> txid_current()
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entry % was committed earlier; postings cannot be added to it', bad.entry_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    legs integer;
    unbalanced text;
BEGIN
    SELECT count(*) INTO legs FROM ledger_posting WHERE entry_id = NEW.id;
    IF legs < 2 THEN
        RAISE EXCEPTION 'journal entry % has % posting(s); at least 2 are required', NEW.id, legs
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT asset_id INTO unbalanced
      FROM ledger_posting WHERE entry_id = NEW.id
     GROUP BY asset_id
    HAVING sum(CASE side WHEN 'C' THEN amount ELSE -amount END) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not balance in %', NEW.id, unbalanced
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
