SELECT set_config('compliance.saved_search_path', current_setting('search_path'), true);
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

CREATE OR REPLACE FUNCTION acknowledgement_keys_claim() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO compliance_acknowledgementkey (id, accepted_at) VALUES (NEW.id, NEW.accepted_at);
    RETURN NEW;
END $$;

SELECT set_config('search_path', current_setting('compliance.saved_search_path'), true);
