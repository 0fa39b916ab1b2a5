-- A subscription's or a launch commitment's acknowledgement is one that its own customer gave for its own
-- product: the foreign key carries (acknowledgement, user, product) to the key row, whose three columns
-- PostgreSQL copied from the acknowledgement (compliance 0014). Before, the key held the id only, and
-- nothing but the application stopped a row from citing another customer's acknowledgement. Still one
-- index probe per row (now on ackkey_id_user_product), deferred to the commit as before. A NULL
-- acknowledgement is not checked (MATCH SIMPLE), as before. Pool deposits keep the id-only key: they carry
-- no customer or product column of their own (their position does).
ALTER TABLE earn_subscription DROP CONSTRAINT subscription_acknowledgement_key_fk;
ALTER TABLE earn_subscription ADD CONSTRAINT subscription_acknowledgement_key_fk
    FOREIGN KEY (acknowledgement_id, user_id, product_id)
    REFERENCES compliance_acknowledgementkey (id, user_id, product_id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE earn_launchcommitment DROP CONSTRAINT launchcommitment_acknowledgement_key_fk;
ALTER TABLE earn_launchcommitment ADD CONSTRAINT launchcommitment_acknowledgement_key_fk
    FOREIGN KEY (acknowledgement_id, user_id, product_id)
    REFERENCES compliance_acknowledgementkey (id, user_id, product_id) DEFERRABLE INITIALLY DEFERRED;
