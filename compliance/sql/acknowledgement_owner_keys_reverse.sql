-- Back to compliance 0013's id-only foreign keys.
ALTER TABLE earn_subscription DROP CONSTRAINT subscription_acknowledgement_key_fk;
ALTER TABLE earn_subscription ADD CONSTRAINT subscription_acknowledgement_key_fk FOREIGN KEY (acknowledgement_id)
    REFERENCES compliance_acknowledgementkey (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE earn_launchcommitment DROP CONSTRAINT launchcommitment_acknowledgement_key_fk;
ALTER TABLE earn_launchcommitment ADD CONSTRAINT launchcommitment_acknowledgement_key_fk
    FOREIGN KEY (acknowledgement_id) REFERENCES compliance_acknowledgementkey (id) DEFERRABLE INITIALLY DEFERRED;
