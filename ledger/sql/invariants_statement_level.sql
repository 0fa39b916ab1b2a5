-- Append-only as statement-level checks: one call per UPDATE or DELETE statement, reading the rows it
-- changed from the statement's transition table, instead of one call per row.
--
-- The rule is unchanged: a statement that updates or deletes any entry or posting is refused (its
-- changes are rolled back with it), with the same message and SQLSTATE. A statement that matches no
-- row passes, as before (its transition table is empty): a cascade or a fast delete that finds
-- nothing is not an error. TRUNCATE stays the owner's (see invariants.sql).
--
-- Every other ledger trigger already runs per statement over a transition table (the scale and
-- entry checks of new postings, the balance update, the account-update refusal) or does no per-row
-- work on the hot path: the balanced-entry check is a deferred constraint trigger, which PostgreSQL
-- allows only per row; it runs once per journal entry at commit (a job's chunk is one entry), and
-- an account opened at zero is passed by the WHEN clause of ledgeraccount_opens_at_zero without a
-- function call.

CREATE FUNCTION ledger_refuse_changed_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows) THEN
        RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER journalentry_append_only ON ledger_journalentry;
DROP TRIGGER posting_append_only ON ledger_posting;

-- A trigger with a transition table handles one event, so UPDATE and DELETE get one each.
CREATE TRIGGER journalentry_append_only_update AFTER UPDATE ON ledger_journalentry
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_changed_rows();
CREATE TRIGGER journalentry_append_only_delete AFTER DELETE ON ledger_journalentry
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_changed_rows();
CREATE TRIGGER posting_append_only_update AFTER UPDATE ON ledger_posting
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_changed_rows();
CREATE TRIGGER posting_append_only_delete AFTER DELETE ON ledger_posting
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_changed_rows();
