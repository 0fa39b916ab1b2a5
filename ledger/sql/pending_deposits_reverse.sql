DROP TRIGGER IF EXISTS pendingdeposit_guard ON ledger_pendingdeposit;
DROP FUNCTION IF EXISTS ledger_pendingdeposit_guard();
