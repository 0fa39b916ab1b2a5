-- Back to balances written by the application (the code before this migration).
ALTER FUNCTION ledger_check_entry_balanced() RESET search_path;
ALTER FUNCTION ledger_check_new_postings() RESET search_path;
DROP TRIGGER IF EXISTS ledgeraccount_opens_at_zero ON ledger_ledgeraccount;
DROP FUNCTION IF EXISTS ledger_refuse_opening_balance();
DROP TRIGGER IF EXISTS ledgeraccount_from_postings_only ON ledger_ledgeraccount;
DROP FUNCTION IF EXISTS ledger_check_account_update();
DROP TRIGGER IF EXISTS posting_moves_balances ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_post_balances();
