-- The ledger's checks find what they need on the entry's key row (a table without months) in the common case,
-- so a money request no longer parses and plans two month-pruned probes of the partitioned tables.
--
-- The key row (ledger_journalentrykey, one per entry, unique across months) now records, written only by these
-- triggers running as the ledger's owner (the runtime role has no UPDATE on the table, and a key row must open
-- empty, journalentrykey_opens_empty):
-- * entry_txid: the transaction that wrote the key's entry (set by the entry's insert trigger, which already
--   checked the key against the entry);
-- * legs: how many postings the entry has been given so far;
-- * posted_at_once: its postings so far came in one statement that balanced them (at least two, every asset
--   netting to zero), with no posting before.
-- The posting check (ledger_check_new_postings) then admits a statement's postings with one UPDATE of their
-- entries' key rows: the entry written by this transaction, in the postings' month. Only when that update misses
-- an entry does it run the month probes of ledger 0010 (plan_time_pruning.sql), which name the fault with the
-- same messages and SQLSTATEs as before. The balanced-entry check at commit reads the key row and is done when
-- the postings came at once; otherwise (postings added over several statements) it sums the entry's postings in
-- its month as before. The rules are unchanged: an entry's postings may still come row by row in its own
-- transaction, checked at COMMIT.

SELECT set_config('ledger.saved_search_path', current_setting('search_path'), true);
SELECT set_config('search_path', quote_ident(current_schema()) || ', pg_temp', true);

-- Existing rows: their entries are committed (entry_txid NULL: no transaction can add postings to them).
ALTER TABLE ledger_journalentrykey
    ADD COLUMN entry_txid bigint,
    ADD COLUMN legs integer NOT NULL DEFAULT 0,
    ADD COLUMN posted_at_once boolean NOT NULL DEFAULT false;

CREATE FUNCTION ledger_refuse_key_progress() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'journal entry key % must open empty: entry_txid, legs and posted_at_once are kept by the ledger''s triggers',
        NEW.idempotency_key USING ERRCODE = 'integrity_constraint_violation';
END $$;

-- Evaluated without calling a function when the row opens empty (every insert but a forged one).
CREATE TRIGGER journalentrykey_opens_empty BEFORE INSERT ON ledger_journalentrykey
    FOR EACH ROW WHEN (NEW.entry_txid IS NOT NULL OR NEW.legs <> 0 OR NEW.posted_at_once)
    EXECUTE FUNCTION ledger_refuse_key_progress();

CREATE OR REPLACE FUNCTION ledger_entry_key_claim() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    claimed record;
BEGIN
    -- The services claimed the key already (one update finds it and records this transaction as the entry's).
    UPDATE ledger_journalentrykey SET entry_txid = txid_current()
     WHERE idempotency_key = NEW.idempotency_key AND entry_id = NEW.id AND entry_created_at = NEW.created_at
       AND entry_txid IS NULL;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    -- Anything else claims it here.
    INSERT INTO ledger_journalentrykey (idempotency_key, entry_id, entry_created_at)
    VALUES (NEW.idempotency_key, NEW.id, NEW.created_at) ON CONFLICT DO NOTHING;
    IF FOUND THEN
        UPDATE ledger_journalentrykey SET entry_txid = txid_current() WHERE idempotency_key = NEW.idempotency_key;
        RETURN NEW;
    END IF;
    SELECT entry_id, entry_created_at INTO claimed FROM ledger_journalentrykey
     WHERE idempotency_key = NEW.idempotency_key;
    IF claimed.entry_id IS DISTINCT FROM NEW.id OR claimed.entry_created_at IS DISTINCT FROM NEW.created_at THEN
        RAISE EXCEPTION 'duplicate key value violates unique constraint "ledger_journalentry_idempotency_key": %',
            NEW.idempotency_key
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'ledger_journalentrykey_pkey',
                  DETAIL = format('Key (idempotency_key)=(%s) or entry id %s is already taken.',
                                  NEW.idempotency_key, NEW.id);
    END IF;
    RETURN NEW;  -- the same entry again: its primary key refuses it
END $$;

CREATE OR REPLACE FUNCTION ledger_check_new_postings() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT SET enable_seqscan = off SET jit = off AS $$
DECLARE
    bad record;
    month timestamptz;
    entries bigint;
    admitted bigint;
BEGIN
    SELECT n.entry_id, n.amount, a.code, a.scale INTO bad
      FROM new_postings n JOIN ledger_asset a ON a.code = n.asset_id
     WHERE n.amount <> trunc(n.amount, a.scale)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting of % % in entry % is finer than the asset scale %',
            bad.amount, bad.code, bad.entry_id, bad.scale USING ERRCODE = 'check_violation';
    END IF;
    SELECT count(DISTINCT entry_id) INTO entries FROM new_postings;
    -- Each entry's key row: written by this transaction, in the postings' month (all of them).
    UPDATE ledger_journalentrykey k
       SET legs = k.legs + s.n,
           posted_at_once = (k.legs = 0 AND s.n >= 2 AND s.balanced)
      FROM (SELECT entry_id, sum(n) AS n, min(lo) AS lo, max(hi) AS hi, bool_and(net = 0) AS balanced
              FROM (SELECT entry_id, count(*) AS n, min(created_at) AS lo, max(created_at) AS hi,
                           sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS net
                      FROM new_postings GROUP BY entry_id, asset_id) per_asset
             GROUP BY entry_id) s
     WHERE k.entry_id = s.entry_id AND k.entry_txid = txid_current()
       AND partition_month_start(s.lo) = partition_month_start(k.entry_created_at)
       AND partition_month_start(s.hi) = partition_month_start(k.entry_created_at);
    GET DIAGNOSTICS admitted = ROW_COUNT;
    IF admitted = entries THEN
        RETURN NULL;
    END IF;
    -- Some posting's entry is not this transaction's, or not in its month: the month probes say which.
    FOR month IN SELECT DISTINCT partition_month_start(created_at) FROM new_postings LOOP
        EXECUTE $sql$
            SELECT n.entry_id, e.txid
              FROM (SELECT DISTINCT entry_id FROM new_postings WHERE created_at >= $1 AND created_at < $2) n
              LEFT JOIN LATERAL (SELECT e.created_txid AS txid FROM ledger_journalentry e
                                  WHERE e.id = n.entry_id AND e.created_at >= $1 AND e.created_at < $2
                                  LIMIT 1) e ON true
             WHERE e.txid IS DISTINCT FROM txid_current()
             LIMIT 1
        $sql$ INTO bad USING month, partition_month_end(month);
        IF bad.entry_id IS NOT NULL AND bad.txid IS NULL THEN
            RAISE EXCEPTION 'posting of entry % refused: no such entry in % (an entry and its postings share a month)',
                bad.entry_id, to_char(month AT TIME ZONE 'UTC', 'YYYY-MM')
                USING ERRCODE = 'foreign_key_violation';
        ELSIF bad.entry_id IS NOT NULL THEN
            RAISE EXCEPTION 'entry % was committed earlier; postings cannot be added to it', bad.entry_id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END LOOP;
    -- The entries exist in their months with this transaction's id, yet their key rows did not say so (an id
    -- written into created_txid by hand): refused all the same.
    RAISE EXCEPTION 'postings refused: % of % entries were not written by this transaction', entries - admitted, entries
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_seqscan = off SET jit = off AS $$
DECLARE
    legs bigint;
    unbalanced text;
BEGIN
    -- Its postings came at once, balanced (the posting check wrote so on the key row): nothing left to sum.
    IF (SELECT k.posted_at_once FROM ledger_journalentrykey k WHERE k.entry_id = NEW.id) THEN
        RETURN NULL;
    END IF;
    -- The entry's postings are in its month (checked as they were inserted): one partition.
    EXECUTE $sql$
        SELECT coalesce(sum(s.n), 0), min(s.asset_id) FILTER (WHERE s.net <> 0)
          FROM (SELECT asset_id, count(*) AS n, sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS net
                  FROM ledger_posting
                 WHERE entry_id = $1 AND created_at >= $2 AND created_at < $3
                 GROUP BY asset_id) s
    $sql$ INTO legs, unbalanced
        USING NEW.id, partition_month_start(NEW.created_at), partition_month_end(NEW.created_at);
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

SELECT set_config('search_path', current_setting('ledger.saved_search_path'), true);
