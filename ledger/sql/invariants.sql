-- Ledger invariants enforced by PostgreSQL, whatever code writes the tables.

-- Every posting's asset is its account's asset (composite foreign key).
ALTER TABLE ledger_posting
    ADD CONSTRAINT posting_account_asset_fk FOREIGN KEY (account_id, asset_id)
    REFERENCES ledger_ledgeraccount (id, asset_id) DEFERRABLE INITIALLY IMMEDIATE;

-- The transaction that created an entry; postings may only be added by that same transaction,
-- so a committed entry can never be unbalanced by a later INSERT.
ALTER TABLE ledger_journalentry ADD COLUMN created_txid bigint NOT NULL DEFAULT txid_current();

-- Entries and postings are append-only.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER journalentry_append_only BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER posting_append_only BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
-- TRUNCATE is left to the table owner (test teardown uses it); the application's database role
-- in production is not the owner and holds no TRUNCATE privilege (docs/OPERATIONS.md).

-- Statement-level check of newly inserted postings (one pass over the transition table, so a
-- 10 000-leg chunk costs one query, not 10 000): the entry belongs to this transaction and each
-- amount is a whole number of the asset's smallest unit.
CREATE FUNCTION ledger_check_new_postings() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER posting_check_new AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_new_postings();

-- At commit, every entry created in the transaction has at least two postings and sums to zero
-- per asset. One check per entry, over that entry's postings only (linear, not quadratic).
CREATE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE CONSTRAINT TRIGGER journalentry_balanced AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();
