DROP TRIGGER IF EXISTS journalentry_balanced ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_check_entry_balanced();
DROP TRIGGER IF EXISTS posting_check_new ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_check_new_postings();
DROP TRIGGER IF EXISTS posting_append_only ON ledger_posting;
DROP TRIGGER IF EXISTS journalentry_append_only ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_refuse_change();
ALTER TABLE ledger_journalentry DROP COLUMN IF EXISTS created_txid;
ALTER TABLE ledger_posting DROP CONSTRAINT IF EXISTS posting_account_asset_fk;
