-- Back to ledger 0010's checks: every posting statement and every entry's commit probe their month.
SELECT set_config('ledger.saved_search_path', current_setting('search_path'), true);
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

CREATE OR REPLACE FUNCTION ledger_entry_key_claim() RETURNS trigger
    LANGUAGE plpgsql SECURITY INVOKER SET search_path FROM CURRENT AS $$
DECLARE
    claimed record;
BEGIN
    SELECT entry_id, entry_created_at INTO claimed FROM ledger_journalentrykey
     WHERE idempotency_key = NEW.idempotency_key;
    IF claimed.entry_id = NEW.id AND claimed.entry_created_at = NEW.created_at THEN
        RETURN NEW;
    END IF;
    INSERT INTO ledger_journalentrykey (idempotency_key, entry_id, entry_created_at)
    VALUES (NEW.idempotency_key, NEW.id, NEW.created_at) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        SELECT entry_id, entry_created_at INTO claimed FROM ledger_journalentrykey
         WHERE idempotency_key = NEW.idempotency_key;
        IF claimed.entry_id IS DISTINCT FROM NEW.id OR claimed.entry_created_at IS DISTINCT FROM NEW.created_at THEN
            RAISE EXCEPTION 'duplicate key value violates unique constraint "ledger_journalentry_idempotency_key": %',
                NEW.idempotency_key
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'ledger_journalentrykey_pkey',
                      DETAIL = format('Key (idempotency_key)=(%s) or entry id %s is already taken.',
                                      NEW.idempotency_key, NEW.id);
        END IF;
    END IF;
    RETURN NEW;
END $$;

SELECT set_config('search_path', current_setting('ledger.saved_search_path'), true);

-- The posting and balanced-entry checks as ledger 0010 wrote them.
ALTER FUNCTION ledger_check_new_postings() SECURITY INVOKER;
DROP TRIGGER IF EXISTS journalentrykey_opens_empty ON ledger_journalentrykey;
DROP FUNCTION IF EXISTS ledger_refuse_key_progress();
ALTER TABLE ledger_journalentrykey DROP COLUMN entry_txid, DROP COLUMN legs, DROP COLUMN posted_at_once;
