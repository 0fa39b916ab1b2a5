-- Four-eyes deposit requests: what was requested never changes, a decision is final, rows are never deleted.
CREATE FUNCTION ledger_pendingdeposit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'pending deposits are kept: DELETE refused' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.status <> 'pending' THEN
        RAISE EXCEPTION 'pending deposit % was already decided (%)', OLD.id, OLD.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (NEW.user_id, NEW.asset_id, NEW.amount, NEW.reference, NEW.requested_by_id, NEW.requested_at,
        NEW.usd_value) IS DISTINCT FROM (OLD.user_id, OLD.asset_id, OLD.amount, OLD.reference, OLD.requested_by_id,
        OLD.requested_at, OLD.usd_value) THEN
        RAISE EXCEPTION 'pending deposit %: only the decision may be written', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER pendingdeposit_guard BEFORE UPDATE OR DELETE ON ledger_pendingdeposit
    FOR EACH ROW EXECUTE FUNCTION ledger_pendingdeposit_guard();
