DROP TRIGGER IF EXISTS liabilitysnapshot_immutable ON liabilities_liabilitysnapshot;
DROP TRIGGER IF EXISTS liabilityleaf_immutable ON liabilities_liabilityleaf;
DROP TRIGGER IF EXISTS liabilitynode_immutable ON liabilities_liabilitynode;
DROP FUNCTION IF EXISTS liabilities_refuse_change();
