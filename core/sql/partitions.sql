-- Monthly range partitions: the month arithmetic and the partition-creating function.
--
-- Months are UTC calendar months whatever the session's TimeZone (a timestamptz bound is an
-- instant; `+ interval '1 month'` on a timestamptz would follow the session's zone).

CREATE FUNCTION partition_month_start(ts timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN date_trunc('month', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';

CREATE FUNCTION partition_month_end(ts timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (date_trunc('month', ts AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';

-- Create the partition of `parent` for the month starting `month` (a first of month), unless one
-- exists. Named <parent>_pYYYY_MM. SECURITY DEFINER: the scheduled job runs as the runtime role,
-- which owns no table and may not create one; this function creates only a month partition of a
-- table that is already range-partitioned, nothing else. The new partition gets no grants: the
-- application reads and writes through the parent (PostgreSQL checks the parent's privileges), so
-- the runtime role cannot address a partition directly.
-- Refuses (raises) when the default partition already holds rows of that month: moving them is
-- an operator's decision (docs/OPERATIONS.md, "Partitions").
CREATE FUNCTION partition_month_ensure(parent regclass, month date) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    strategy "char";
    keycol text;
    keytype regtype;
    name text := (SELECT relname FROM pg_class WHERE oid = parent) || to_char(month, '"_p"YYYY"_"MM');
    lo text;
    hi text;
    dflt regclass;
    grantee record;
BEGIN
    IF month <> date_trunc('month', month)::date THEN
        RAISE EXCEPTION 'partition month must be a first of month, not %', month USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT p.partstrat, a.attname, a.atttypid::regtype INTO strategy, keycol, keytype
      FROM pg_partitioned_table p JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = parent AND p.partnatts = 1;
    IF strategy IS DISTINCT FROM 'r' THEN
        RAISE EXCEPTION '% is not range-partitioned on one column', parent USING ERRCODE = 'wrong_object_type';
    END IF;
    IF to_regclass(quote_ident(name)) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    IF keytype = 'timestamp with time zone'::regtype THEN
        lo := quote_literal(month::timestamp AT TIME ZONE 'UTC');
        hi := quote_literal((month + interval '1 month')::timestamp AT TIME ZONE 'UTC');
    ELSIF keytype = 'date'::regtype THEN
        lo := quote_literal(month);
        hi := quote_literal((month + interval '1 month')::date);
    ELSE
        RAISE EXCEPTION '% is partitioned on a %, not a date or timestamptz', parent, keytype
            USING ERRCODE = 'wrong_object_type';
    END IF;
    SELECT i.inhrelid::regclass INTO dflt FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
    IF dflt IS NOT NULL THEN
        EXECUTE format('SELECT 1 FROM %s WHERE %I >= %s AND %I < %s LIMIT 1', dflt, keycol, lo, keycol, hi);
        -- (FOUND is not set by EXECUTE; GET DIAGNOSTICS is.)
        DECLARE n bigint; BEGIN
            GET DIAGNOSTICS n = ROW_COUNT;
            IF n > 0 THEN
                RAISE EXCEPTION 'the default partition % holds rows of %; move them before creating the month',
                    dflt, to_char(month, 'YYYY-MM') USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
        END;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%s) TO (%s)', name, parent, lo, hi);
    FOR grantee IN SELECT DISTINCT a.grantee FROM pg_class c, aclexplode(c.relacl) a
                    WHERE c.oid = to_regclass(quote_ident(name)) AND a.grantee <> c.relowner LOOP
        EXECUTE format('REVOKE ALL ON TABLE %I FROM %s', name,
                       CASE WHEN grantee.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(grantee.grantee)) END);
    END LOOP;
    RETURN name;
END $$;
