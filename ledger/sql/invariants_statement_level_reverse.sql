-- Back to the row-level append-only triggers of invariants.sql (same rule).
DROP TRIGGER IF EXISTS journalentry_append_only_update ON ledger_journalentry;
DROP TRIGGER IF EXISTS journalentry_append_only_delete ON ledger_journalentry;
DROP TRIGGER IF EXISTS posting_append_only_update ON ledger_posting;
DROP TRIGGER IF EXISTS posting_append_only_delete ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_refuse_changed_rows();
CREATE TRIGGER journalentry_append_only BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER posting_append_only BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
