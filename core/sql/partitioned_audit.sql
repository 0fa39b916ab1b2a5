-- Audit events once compliance_auditevent is partitioned by month of created_at (UTC months; migration
-- core 0005 converts the table, core/partitions.py).
--
-- * Uniqueness across months: a partitioned table's unique index must include the partition column,
--   so `sequence`, `chain_position` and `hash` are unique in core_auditeventkey instead (sequence the
--   primary key, the other two unique). PostgreSQL fills it in itself: a BEFORE INSERT row trigger
--   claims each event's sequence (and its chain columns, if an insert ever comes chained); the chaining
--   UPDATE statement fills in positions and hashes, set-based, from its transition table. A duplicate
--   fails the statement with the key table's unique violation. Both run as SECURITY DEFINER: the
--   runtime role reads the key table and writes nothing into it by hand.
-- * The row triggers are on the parent and PostgreSQL clones them onto every partition, present and
--   future: a statement naming a partition claims its keys and is refused the same changes. The
--   statement-level chaining trigger fires only for a statement naming the parent; the runtime role
--   has no privilege on a partition (partitions get no grants), so every chaining passes through it.
--   (Row level on insert: one event per request, where a transition table costs more than the row
--   trigger; statement level on chaining: thousands of rows per statement.)
-- * Key rows stay when a month is detached (retention): a sequence, a position or a hash is never
--   reused, the chainer continues from the highest position (core.audit.audit_chain), and the
--   verifier checks the first live event after a detached month against the hash kept here
--   (core.audit_verify).

SELECT set_config('core.saved_search_path', current_setting('search_path'), true);
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

CREATE FUNCTION audit_event_keys_claim() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO core_auditeventkey (sequence, created_at, chain_position, hash)
    VALUES (NEW.sequence, NEW.created_at, NEW.chain_position, NEW.hash);
    RETURN NEW;
END $$;

CREATE TRIGGER auditevent_keys_claim BEFORE INSERT ON compliance_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_keys_claim();

-- The row trigger lets an UPDATE only fill in the chain columns of an unchained event; the event's key
-- row is filled in the same statement (its unique indexes are what refuse a position or hash twice).
CREATE FUNCTION audit_event_keys_chain() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    filled bigint;
    chained bigint;
BEGIN
    UPDATE core_auditeventkey k SET chain_position = c.chain_position, hash = c.hash
      FROM chained_events c
     WHERE k.sequence = c.sequence AND k.chain_position IS NULL AND k.hash IS NULL;
    GET DIAGNOSTICS filled = ROW_COUNT;
    SELECT count(*) INTO chained FROM chained_events;
    IF filled <> chained THEN
        RAISE EXCEPTION 'audit events chained without their key: % of % key rows filled in', filled, chained
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER auditevent_keys_chain AFTER UPDATE ON compliance_auditevent
    REFERENCING NEW TABLE AS chained_events FOR EACH STATEMENT EXECUTE FUNCTION audit_event_keys_chain();

-- The key table is append-only too, but for the same chaining step (TRUNCATE is left to the owner, as
-- for the ledger: the runtime role holds no TRUNCATE privilege).
CREATE FUNCTION audit_event_key_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.chain_position IS NULL AND OLD.hash IS NULL
       AND NEW.chain_position IS NOT NULL AND NEW.hash IS NOT NULL
       AND (NEW.sequence, NEW.created_at) IS NOT DISTINCT FROM (OLD.sequence, OLD.created_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit event keys are append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER auditeventkey_append_only BEFORE UPDATE OR DELETE ON core_auditeventkey
    FOR EACH ROW EXECUTE FUNCTION audit_event_key_refuse_change();

SELECT set_config('search_path', current_setting('core.saved_search_path'), true);
