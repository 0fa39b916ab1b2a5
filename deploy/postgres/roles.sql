-- Database roles bootstrap, run by a superuser connected to the application's database (idempotent).
--
-- Reads the names and passwords from the session settings earn.owner_role, earn.owner_password,
-- earn.runtime_role and earn.runtime_password (set_config, or psql variables in init-roles.sh).
-- * the owner role owns the database, the schema objects, and runs migrations;
-- * the runtime role (web, worker, beat) is a plain LOGIN role; its privileges are applied by
--   `manage.py db_grant_runtime`, run as the owner after every migrate.
-- Objects created earlier by another role (a database first migrated as a superuser) are handed to
-- the owner, so the next migrate can alter them. An empty password leaves the current one.
DO $bootstrap$
DECLARE
    owner_role text := current_setting('earn.owner_role');
    owner_password text := current_setting('earn.owner_password');
    runtime_role text := current_setting('earn.runtime_role');
    runtime_password text := current_setting('earn.runtime_password');
    role_name text;
    obj record;
BEGIN
    IF owner_role = '' OR runtime_role = '' OR owner_role = runtime_role THEN
        RAISE EXCEPTION 'two distinct role names are needed (earn.owner_role, earn.runtime_role)';
    END IF;
    FOREACH role_name IN ARRAY ARRAY[owner_role, runtime_role] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I LOGIN', role_name);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- exists already (or another session created it just now)
        END;
        -- Only when needed: concurrent ALTER ROLEs of one role can fail ("tuple concurrently updated").
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name AND (NOT rolcanlogin OR rolsuper OR rolcreatedb
                   OR rolcreaterole OR rolreplication OR rolbypassrls)) THEN
            EXECUTE format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                           role_name);
        END IF;
    END LOOP;
    IF owner_password <> '' THEN
        EXECUTE format('ALTER ROLE %I PASSWORD %L', owner_role, owner_password);
    END IF;
    IF runtime_password <> '' THEN
        EXECUTE format('ALTER ROLE %I PASSWORD %L', runtime_role, runtime_password);
    END IF;
    -- The runtime role must not inherit the owner's rights.
    IF pg_has_role(runtime_role, owner_role, 'MEMBER') THEN
        EXECUTE format('REVOKE %I FROM %I', owner_role, runtime_role);
    END IF;

    -- The runtime role's prepared statements run the plan made once for them (config/settings/base.py,
    -- DATABASE_PLAN_CACHE_MODE; a direct connection asks for it at start-up, one through PgBouncer cannot).
    IF NOT EXISTS (SELECT 1 FROM pg_db_role_setting s
                    WHERE s.setrole = to_regrole(runtime_role)
                      AND s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
                      AND 'plan_cache_mode=force_generic_plan' = ANY (s.setconfig)) THEN
        EXECUTE format('ALTER ROLE %I IN DATABASE %I SET plan_cache_mode = force_generic_plan',
                       runtime_role, current_database());
    END IF;

    EXECUTE format('ALTER DATABASE %I OWNER TO %I', current_database(), owner_role);
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), runtime_role);
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;

    -- Tables, views (and with them their indexes, triggers and owned sequences), then free-standing
    -- sequences and functions that someone else owns.
    FOR obj IN
        SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
           AND c.relowner <> to_regrole(owner_role)
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I',
                       CASE obj.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                        WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                       obj.name, owner_role);
    END LOOP;
    FOR obj IN
        SELECT c.oid::regclass AS name FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S' AND c.relowner <> to_regrole(owner_role)
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                                      AND d.deptype IN ('a', 'i'))
    LOOP
        EXECUTE format('ALTER SEQUENCE %s OWNER TO %I', obj.name, owner_role);
    END LOOP;
    FOR obj IN
        SELECT p.oid::regprocedure AS name FROM pg_proc p
         WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> to_regrole(owner_role)
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO %I', obj.name, owner_role);
    END LOOP;
END
$bootstrap$;
