ALTER TABLE pools_pooldeposit DROP CONSTRAINT IF EXISTS pooldeposit_acknowledgement_key_fk;
ALTER TABLE earn_launchcommitment DROP CONSTRAINT IF EXISTS launchcommitment_acknowledgement_key_fk;
ALTER TABLE earn_subscription DROP CONSTRAINT IF EXISTS subscription_acknowledgement_key_fk;
DROP TRIGGER IF EXISTS acknowledgementkey_append_only ON compliance_acknowledgementkey;
DROP TRIGGER IF EXISTS acknowledgement_append_only ON compliance_acknowledgement;
DROP FUNCTION IF EXISTS compliance_refuse_acknowledgement_change();
DROP TRIGGER IF EXISTS acknowledgement_keys_claim ON compliance_acknowledgement;
DROP FUNCTION IF EXISTS acknowledgement_keys_claim();
