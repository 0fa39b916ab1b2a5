-- Audit events are written unchained (prev_hash, hash and chain_position NULL) and chained later by
-- core.audit.audit_chain. The row trigger still refuses every DELETE and every UPDATE except that one
-- step: filling in the three chain columns of an unchained event, content untouched.
CREATE OR REPLACE FUNCTION compliance_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.hash IS NULL AND OLD.prev_hash IS NULL AND OLD.chain_position IS NULL
       AND NEW.hash IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.chain_position IS NOT NULL
       AND (NEW.sequence, NEW.created_at, NEW.actor_id, NEW.action, NEW.object_type, NEW.object_id,
            NEW.before, NEW.after, NEW.payload)
           IS NOT DISTINCT FROM
           (OLD.sequence, OLD.created_at, OLD.actor_id, OLD.action, OLD.object_type, OLD.object_id,
            OLD.before, OLD.after, OLD.payload)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
