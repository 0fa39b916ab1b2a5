-- A launch's commit barrier and its "no commitment after the close" rule, kept by PostgreSQL.
--
-- Each new commitment takes the launch's barrier shared (a transaction-scoped advisory lock keyed by the
-- product; earn.services.launch.LAUNCH_LOCK_CLASS, 0x4C4E4348 "LNCH") and is refused if the allocation's
-- run row exists. The close step takes the barrier exclusive before it writes the run row, so it waits for
-- every commitment in flight; a commitment that waited for the close sees its run row, because in READ
-- COMMITTED each statement of this (volatile) function reads with a snapshot taken when it starts, after the
-- lock is granted. Whatever inserts a commitment — the service, or anyone holding the application's role —
-- meets the same rule, so no commitment is written after the allocation read them.

SELECT set_config('earn.saved_search_path', current_setting('search_path'), true);
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

CREATE OR REPLACE FUNCTION earn_launch_commitment_barrier() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1280197448, NEW.product_id::integer);
    IF EXISTS (SELECT 1 FROM earn_launchrun WHERE product_id = NEW.product_id) THEN
        RAISE EXCEPTION 'launch % is closed for allocation: no commitment can be added', NEW.product_id
            USING ERRCODE = 'object_not_in_prerequisite_state', CONSTRAINT = 'launch_closed';
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS launchcommitment_barrier ON earn_launchcommitment;
CREATE TRIGGER launchcommitment_barrier BEFORE INSERT ON earn_launchcommitment
    FOR EACH ROW EXECUTE FUNCTION earn_launch_commitment_barrier();

SELECT set_config('search_path', current_setting('earn.saved_search_path'), true);
