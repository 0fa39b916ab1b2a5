-- Acknowledgements once compliance_acknowledgement is partitioned by month of accepted_at (UTC months;
-- migration compliance 0013 converts the table, core/partitions.py).
--
-- * The id is unique across months in compliance_acknowledgementkey (id primary key, accepted_at), which
--   PostgreSQL fills in with a BEFORE INSERT row trigger on the parent, cloned onto every partition
--   (SECURITY DEFINER: the runtime role reads the key table and writes nothing into it by hand). A key
--   row stays when its month is detached for retention: an id is never reused.
-- * Subscriptions, launch commitments and pool deposits reference the key table (a foreign key to a
--   partitioned table would have to carry accepted_at): an unknown acknowledgement is refused as before.
-- * Acknowledgements are append-only: a row-level trigger on the parent, cloned by PostgreSQL onto every
--   partition (present and future), refuses UPDATE and DELETE, so a referenced acknowledgement cannot
--   disappear behind its key (TRUNCATE is left to the owner, as for the ledger).

SELECT set_config('compliance.saved_search_path', current_setting('search_path'), true);
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

CREATE FUNCTION acknowledgement_keys_claim() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO compliance_acknowledgementkey (id, accepted_at) VALUES (NEW.id, NEW.accepted_at);
    RETURN NEW;
END $$;

CREATE TRIGGER acknowledgement_keys_claim BEFORE INSERT ON compliance_acknowledgement
    FOR EACH ROW EXECUTE FUNCTION acknowledgement_keys_claim();

CREATE FUNCTION compliance_refuse_acknowledgement_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_ARGV[0], TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER acknowledgement_append_only BEFORE UPDATE OR DELETE ON compliance_acknowledgement
    FOR EACH ROW EXECUTE FUNCTION compliance_refuse_acknowledgement_change('compliance_acknowledgement');
CREATE TRIGGER acknowledgementkey_append_only BEFORE UPDATE OR DELETE ON compliance_acknowledgementkey
    FOR EACH ROW EXECUTE FUNCTION compliance_refuse_acknowledgement_change('compliance_acknowledgementkey');

ALTER TABLE earn_subscription ADD CONSTRAINT subscription_acknowledgement_key_fk FOREIGN KEY (acknowledgement_id)
    REFERENCES compliance_acknowledgementkey (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE earn_launchcommitment ADD CONSTRAINT launchcommitment_acknowledgement_key_fk
    FOREIGN KEY (acknowledgement_id) REFERENCES compliance_acknowledgementkey (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE pools_pooldeposit ADD CONSTRAINT pooldeposit_acknowledgement_key_fk FOREIGN KEY (acknowledgement_id)
    REFERENCES compliance_acknowledgementkey (id) DEFERRABLE INITIALLY DEFERRED;

SELECT set_config('search_path', current_setting('compliance.saved_search_path'), true);
