-- A liabilities snapshot is published once: its snapshot row, leaves and stored nodes never change.
-- Statement-level, so a 10⁶-row INSERT pays nothing and any UPDATE or DELETE (even one matching no
-- row) is refused. TRUNCATE stays with the table owner, as for the ledger.
CREATE FUNCTION liabilities_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'liabilities snapshots are immutable: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER liabilitysnapshot_immutable BEFORE UPDATE OR DELETE ON liabilities_liabilitysnapshot
    FOR EACH STATEMENT EXECUTE FUNCTION liabilities_refuse_change();
CREATE TRIGGER liabilityleaf_immutable BEFORE UPDATE OR DELETE ON liabilities_liabilityleaf
    FOR EACH STATEMENT EXECUTE FUNCTION liabilities_refuse_change();
CREATE TRIGGER liabilitynode_immutable BEFORE UPDATE OR DELETE ON liabilities_liabilitynode
    FOR EACH STATEMENT EXECUTE FUNCTION liabilities_refuse_change();
