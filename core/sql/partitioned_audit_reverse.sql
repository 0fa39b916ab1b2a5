DROP TRIGGER IF EXISTS auditeventkey_append_only ON core_auditeventkey;
DROP FUNCTION IF EXISTS audit_event_key_refuse_change();
DROP TRIGGER IF EXISTS auditevent_keys_chain ON compliance_auditevent;
DROP FUNCTION IF EXISTS audit_event_keys_chain();
DROP TRIGGER IF EXISTS auditevent_keys_claim ON compliance_auditevent;
DROP FUNCTION IF EXISTS audit_event_keys_claim();
