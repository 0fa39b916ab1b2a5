-- Back to ledger 0004's ledger_post_balances(): every posting statement EXECUTEs its balance UPDATE.

SELECT set_config('ledger.saved_search_path', current_setting('search_path'), true);
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

CREATE OR REPLACE FUNCTION ledger_post_balances() RETURNS trigger
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

SELECT set_config('search_path', current_setting('ledger.saved_search_path'), true);
