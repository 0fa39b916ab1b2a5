DROP FUNCTION IF EXISTS partition_month_ensure(regclass, date);
DROP FUNCTION IF EXISTS partition_month_end(timestamptz);
DROP FUNCTION IF EXISTS partition_month_start(timestamptz);
