DROP TRIGGER IF EXISTS auditevent_append_only ON compliance_auditevent;
DROP FUNCTION IF EXISTS compliance_refuse_change();
