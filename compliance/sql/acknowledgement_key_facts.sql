-- The acknowledgement key row also records the customer, product and disclosure (compliance 0014), so the
-- gate reads a customer's latest acknowledgement from this one plain table: the same query on the
-- partitioned table has no month to prune by and locks every month's partition and index.

SELECT set_config('compliance.saved_search_path', current_setting('search_path'), true);
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

CREATE OR REPLACE FUNCTION acknowledgement_keys_claim() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO compliance_acknowledgementkey (id, accepted_at, user_id, product_id, disclosure_id)
    VALUES (NEW.id, NEW.accepted_at, NEW.user_id, NEW.product_id, NEW.disclosure_id);
    RETURN NEW;
END $$;

-- Existing keys (the key table is append-only: its guard is lifted for this one statement).
ALTER TABLE compliance_acknowledgementkey DISABLE TRIGGER acknowledgementkey_append_only;
UPDATE compliance_acknowledgementkey k
   SET user_id = a.user_id, product_id = a.product_id, disclosure_id = a.disclosure_id
  FROM compliance_acknowledgement a
 WHERE a.id = k.id AND a.accepted_at = k.accepted_at;
ALTER TABLE compliance_acknowledgementkey ENABLE TRIGGER acknowledgementkey_append_only;

SELECT set_config('search_path', current_setting('compliance.saved_search_path'), true);
