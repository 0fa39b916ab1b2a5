-- Balances are derived from postings by PostgreSQL; no other writer can move them.
--
-- * One statement-level trigger on ledger_posting adds each account's credits minus debits, read from
--   the statement's transition table, to its balance: one UPDATE per INSERT statement, however many
--   rows it inserts. The balance changes in the statement that inserts the postings, by exactly their
--   sum, so "insert postings, then read the balance" sees the new value in the same transaction.
-- * Every other UPDATE of ledger_ledgeraccount is refused (one statement-level check). A client
--   statement runs at trigger depth 0, so a plain UPDATE (psql, ORM `.update()`, `.save()`) is
--   refused. A nested UPDATE is allowed only while current_user owns ledger_post_balances(), which is
--   SECURITY DEFINER: the application's role cannot pass by running its own UPDATE from a trigger on a
--   temporary table (it may create those; the check would see the application's role).
-- * An account is created with balance 0.
-- * The functions that read ledger tables run with a fixed search_path (this schema, then pg_temp):
--   a temporary table named like a ledger table cannot stand in for it.
-- Corrections are reversing entries (docs/OPERATIONS.md). The nightly reconcile still compares every
-- stored balance with its postings: it now finds only what bypassed the triggers (superuser
-- `session_replication_role = replica`, disabled triggers).

-- Functions created below capture this search_path (`SET search_path FROM CURRENT`).
SELECT set_config('ledger.saved_search_path', current_setting('search_path'), true);
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

CREATE FUNCTION ledger_post_balances() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    -- Attached anywhere else (a trigger on a table of the caller's choosing), it would apply
    -- postings that are not postings.
    IF TG_RELID <> 'ledger_posting'::regclass OR TG_OP <> 'INSERT' OR TG_LEVEL <> 'STATEMENT' OR TG_WHEN <> 'AFTER'
    THEN
        RAISE EXCEPTION 'ledger_post_balances() runs only as the AFTER INSERT statement trigger of ledger_posting'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- EXECUTE plans the statement per call: a transition table holds 2 rows or 10 000, and one
    -- cached plan (a hash join over every account, say) would be wrong for the other size.
    EXECUTE $sql$
        UPDATE ledger_ledgeraccount AS acc SET balance = acc.balance + d.delta
          FROM (SELECT account_id, sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS delta
                  FROM new_postings GROUP BY account_id) AS d
         WHERE acc.id = d.account_id AND d.delta <> 0
    $sql$;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION ledger_post_balances() FROM PUBLIC;

-- "posting_moves_balances" sorts after "posting_check_new": the scale and entry checks run first.
CREATE TRIGGER posting_moves_balances AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_post_balances();

CREATE FUNCTION ledger_check_account_update() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    -- Depth 1 is this trigger under a client statement; 2 or more, under another trigger. Only
    -- ledger_post_balances() runs as its owner there (or the owner, who could drop the triggers anyway).
    IF pg_trigger_depth() > 1 AND EXISTS (
        SELECT 1 FROM pg_proc
         WHERE oid = 'ledger_post_balances()'::regprocedure AND pg_get_userbyid(proowner) = current_user
    ) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'ledger account balances change only through postings: UPDATE on ledger_ledgeraccount refused'
        USING ERRCODE = 'integrity_constraint_violation',
              HINT = 'Post a journal entry (a reversing entry to correct one).';
END $$;

CREATE TRIGGER ledgeraccount_from_postings_only BEFORE UPDATE ON ledger_ledgeraccount
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_account_update();

CREATE FUNCTION ledger_refuse_opening_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger account (%, %, %) must open with balance 0, not %; balances come from postings',
        NEW.owner_id, NEW.asset_id, NEW.kind, NEW.balance
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

-- Row level, but the WHEN clause is evaluated without calling a function: an account opened at
-- zero costs nothing.
CREATE TRIGGER ledgeraccount_opens_at_zero BEFORE INSERT ON ledger_ledgeraccount
    FOR EACH ROW WHEN (NEW.balance <> 0) EXECUTE FUNCTION ledger_refuse_opening_balance();

-- The invariant checks of 0002/0003 read ledger tables too: pin their search_path the same way.
ALTER FUNCTION ledger_check_new_postings() SET search_path FROM CURRENT;
ALTER FUNCTION ledger_check_entry_balanced() SET search_path FROM CURRENT;

SELECT set_config('search_path', current_setting('ledger.saved_search_path'), true);
