-- The ledger's invariants once ledger_journalentry and ledger_posting are partitioned by month
-- (created_at, UTC months; migration 0009 converts the tables, core/partitions.py).
--
-- * Idempotency keys: a partitioned table's unique index must include the partition column, so a
--   key could repeat in two months. Keys live in ledger_journalentrykey (key primary key, entry id
--   unique, the entry's created_at). ledger.services claims the keys there first (INSERT … ON
--   CONFLICT DO NOTHING: a replay inserts nothing) and writes the entries with the ids it claimed;
--   every row written to ledger_journalentry by any other way goes through the BEFORE INSERT row
--   trigger below, which claims its key or checks the claim is this very row. A key row stays when
--   its month is detached (retention): an archived key is never reused.
-- * A posting names its entry by id only (a foreign key to a partitioned table would have to carry
--   the entry's created_at). The statement-level check of new postings, which already looks up each
--   entry, now also refuses a posting whose entry does not exist in the posting's month (same
--   SQLSTATE as a foreign key): an entry and its postings are always in the same month's partitions,
--   so a month is detached whole.
-- * pendingdeposit.entry_id references the key table's entry_id (unique, never deleted).
-- * Append-only: the statement-level refusals of 0006 stay on the parents; a row-level refusal is
--   added on the parents, which PostgreSQL clones onto every partition (present and future), so a
--   statement naming a partition directly is refused too (statement triggers fire only for the table
--   a statement names).

SELECT set_config('ledger.saved_search_path', current_setting('search_path'), true);
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

CREATE FUNCTION ledger_entry_key_claim() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    claimed record;
BEGIN
    -- The services claimed the key already (one probe finds it); anything else claims it here.
    SELECT entry_id, entry_created_at INTO claimed FROM ledger_journalentrykey
     WHERE idempotency_key = NEW.idempotency_key;
    IF claimed.entry_id = NEW.id AND claimed.entry_created_at = NEW.created_at THEN
        RETURN NEW;
    END IF;
    INSERT INTO ledger_journalentrykey (idempotency_key, entry_id, entry_created_at)
    VALUES (NEW.idempotency_key, NEW.id, NEW.created_at) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        SELECT entry_id, entry_created_at INTO claimed FROM ledger_journalentrykey
         WHERE idempotency_key = NEW.idempotency_key;
        IF claimed.entry_id IS DISTINCT FROM NEW.id OR claimed.entry_created_at IS DISTINCT FROM NEW.created_at THEN
            RAISE EXCEPTION 'duplicate key value violates unique constraint "ledger_journalentry_idempotency_key": %',
                NEW.idempotency_key
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'ledger_journalentrykey_pkey',
                      DETAIL = format('Key (idempotency_key)=(%s) or entry id %s is already taken.',
                                      NEW.idempotency_key, NEW.id);
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER journalentry_key_claim BEFORE INSERT ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_key_claim();

CREATE OR REPLACE FUNCTION ledger_check_new_postings() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.entry_id, n.amount, a.code, a.scale INTO bad
      FROM new_postings n JOIN ledger_asset a ON a.code = n.asset_id
     WHERE n.amount <> trunc(n.amount, a.scale)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting of % % in entry % is finer than the asset scale %',
            bad.amount, bad.code, bad.entry_id, bad.scale USING ERRCODE = 'check_violation';
    END IF;
    -- One primary-key probe per distinct (entry, month), in that month's partition (run-time pruning).
    -- EXECUTE plans it per statement: a plan cached while this month's partition was empty would
    -- read it with a sequential scan once it is not.
    EXECUTE $sql$
        SELECT n.entry_id, n.month, e.txid
          FROM (SELECT DISTINCT entry_id, partition_month_start(created_at) AS month FROM new_postings) n
          LEFT JOIN LATERAL (SELECT e.created_txid AS txid FROM ledger_journalentry e
                              WHERE e.id = n.entry_id AND e.created_at >= n.month
                                AND e.created_at < partition_month_end(n.month)) e ON true
         WHERE e.txid IS DISTINCT FROM txid_current()
         LIMIT 1
    $sql$ INTO bad;
    IF bad.entry_id IS NOT NULL AND bad.txid IS NULL THEN
        RAISE EXCEPTION 'posting of entry % refused: no such entry in % (an entry and its postings share a month)',
            bad.entry_id, to_char(bad.month AT TIME ZONE 'UTC', 'YYYY-MM')
            USING ERRCODE = 'foreign_key_violation';
    ELSIF bad.entry_id IS NOT NULL THEN
        RAISE EXCEPTION 'entry % was committed earlier; postings cannot be added to it', bad.entry_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

-- The cached plan is pruned to the entry's month when it runs (its created_at is a parameter). It is
-- made once per session, perhaps while that month's partition is still empty, when a sequential scan
-- looks cheapest and would stay in the plan as the month fills: enable_seqscan = off keeps the
-- entry_id index (planning per call instead, plan_cache_mode = force_custom_plan, cost a third of
-- the posting rate in bench/ledger_bench.py).
CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_seqscan = off AS $$
DECLARE
    legs bigint;
    unbalanced text;
BEGIN
    -- The entry's postings are in its month (checked as they were inserted): one partition.
    SELECT coalesce(sum(s.n), 0), min(s.asset_id) FILTER (WHERE s.net <> 0) INTO legs, unbalanced
      FROM (SELECT asset_id, count(*) AS n, sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS net
              FROM ledger_posting
             WHERE entry_id = NEW.id AND created_at >= partition_month_start(NEW.created_at)
               AND created_at < partition_month_end(NEW.created_at)
             GROUP BY asset_id) s;
    IF legs < 2 THEN
        RAISE EXCEPTION 'journal entry % has % posting(s); at least 2 are required', NEW.id, legs
            USING ERRCODE = 'check_violation';
    END IF;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance in %', NEW.id, unbalanced
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_refuse_partition_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_ARGV[0]
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER journalentry_rows_append_only BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_partition_change('ledger_journalentry');
CREATE TRIGGER posting_rows_append_only BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_partition_change('ledger_posting');

ALTER TABLE ledger_pendingdeposit ADD CONSTRAINT pendingdeposit_entry_key_fk FOREIGN KEY (entry_id)
    REFERENCES ledger_journalentrykey (entry_id) DEFERRABLE INITIALLY DEFERRED;

SELECT set_config('search_path', current_setting('ledger.saved_search_path'), true);
