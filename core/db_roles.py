"""Least-privilege database roles: what the runtime role may do, kept in one place.

Two roles (docs/OPERATIONS.md, "Database roles"): the *owner* owns the schema and runs `migrate`;
the *runtime* role (web, worker, beat) owns nothing and gets only the DML the application needs.
Ownership is what PostgreSQL checks for ALTER TABLE (so DISABLE TRIGGER) and DROP; superuser is
what it checks for `SET session_replication_role`; TRUNCATE (which fires no row triggers) is a
privilege of its own. The runtime role has none of them, and on the append-only tables below no
UPDATE or DELETE either, so the database's privilege checks, not only the triggers, refuse to
rewrite the books.

`runtime_grants_apply` is run by `manage.py db_grant_runtime` as the owner after every `migrate`.
It reads the tables from the catalog, so tables added by later migrations get normal DML without
a change here; only a new append-only table must be added to `APPEND_ONLY_TABLES`.
"""

from __future__ import annotations

from pathlib import Path

from django.db.backends.base.base import BaseDatabaseWrapper

# Rows are written once and never changed or removed: SELECT and INSERT only.
# (ledger_ledgeraccount is *not* here: the posting trigger updates balances as the invoking role.)
# Partitions of these tables (core/partitions.py) get no privileges at all: they are reached through the table.
APPEND_ONLY_TABLES = ("ledger_journalentry", "ledger_journalentrykey", "ledger_posting", "ledger_reconcilerun",
                      "compliance_auditevent", "core_auditeventkey", "compliance_acknowledgement",
                      "compliance_acknowledgementkey",
                      "liabilities_liabilitysnapshot", "liabilities_liabilityleaf", "liabilities_liabilitynode")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
APPEND_ONLY_PRIVILEGES = ("SELECT", "INSERT")
# Append-only key tables that only SECURITY DEFINER triggers write (from the audit event or acknowledgement
# being inserted): SELECT only. A subscription's and a commitment's foreign key trusts the acknowledgement's key
# row (who acknowledged which product); one the application could write would vouch for an acknowledgement
# never given, and a forged audit key would take a sequence or chain position from the trail.
TRIGGER_FILLED_TABLES = ("core_auditeventkey", "compliance_acknowledgementkey")
# Column-level UPDATE on append-only tables, for a step that fills in columns written empty: the audit
# chainer (core.audit.audit_chain) links events after their commit. The table's trigger still refuses any
# other change, and a chained event's chain columns (docs/OPERATIONS.md, "Database roles").
APPEND_ONLY_COLUMN_UPDATES = {"compliance_auditevent": ("prev_hash", "hash", "chain_position")}
# Privileges the runtime role must hold on no table at all.
NEVER_PRIVILEGES = ("TRUNCATE", "REFERENCES", "TRIGGER")
SCHEMA = "public"
# Idempotent bootstrap run by a superuser: creates the owner and runtime roles and hands the database
# (and anything already in it) to the owner. Used by `make run`, and by the docker-compose init script.
BOOTSTRAP_SQL = Path(__file__).resolve().parent.parent / "deploy" / "postgres" / "roles.sql"

_TABLES = """
    SELECT c.relname, c.relispartition FROM pg_class c
     WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
     ORDER BY c.relname
"""


class RoleError(Exception):
    """The runtime role is missing, too powerful, or ended up with a privilege it must not have."""


def runtime_grants_apply(connection: BaseDatabaseWrapper, role: str) -> list[str]:
    """(Re)apply the runtime role's privileges in one transaction; return the tables it covered.

    Run as the owner of the schema. Everything the role held before is revoked first, so a grant
    added by hand does not survive the next run. Raises RoleError, with nothing changed, when the
    role is unfit or the outcome is not least-privilege.
    """
    from django.db import transaction

    quote = connection.ops.quote_name
    who = quote(role)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _check_role(cursor, role)
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
        cursor.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {quote(database)} TO {who}")
        cursor.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {who}")
        # PostgreSQL 15 no longer lets PUBLIC create in `public`; older clusters upgraded in place still do.
        cursor.execute(f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM PUBLIC, {who}")
        cursor.execute(_TABLES, [SCHEMA])
        rows = cursor.fetchall()
        tables = [name for name, is_partition in rows if not is_partition]
        # A partition (core/partitions.py) is reached through its table, whose privileges PostgreSQL checks:
        # the runtime role gets none on the partition itself, so it cannot address one directly.
        for name in sorted(name for name, is_partition in rows if is_partition):
            cursor.execute(f"REVOKE ALL ON TABLE {SCHEMA}.{quote(name)} FROM {who}")
        missing = sorted(set(APPEND_ONLY_TABLES) - set(tables))
        if missing:
            raise RoleError(f"append-only tables not found (run migrate first): {', '.join(missing)}")
        for table in tables:
            privileges = (("SELECT",) if table in TRIGGER_FILLED_TABLES
                          else APPEND_ONLY_PRIVILEGES if table in APPEND_ONLY_TABLES else TABLE_PRIVILEGES)
            cursor.execute(f"REVOKE ALL ON TABLE {SCHEMA}.{quote(table)} FROM {who}")
            cursor.execute(f"GRANT {', '.join(privileges)} ON TABLE {SCHEMA}.{quote(table)} TO {who}")
            if table in APPEND_ONLY_COLUMN_UPDATES:
                columns = ", ".join(quote(column) for column in APPEND_ONLY_COLUMN_UPDATES[table])
                cursor.execute(f"GRANT UPDATE ({columns}) ON TABLE {SCHEMA}.{quote(table)} TO {who}")
        # USAGE: nextval for inserts; no UPDATE, so no setval.
        cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {SCHEMA} FROM {who}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {who}")
        # Tables a later migration creates are usable before the next run of this function; a new
        # append-only table loses UPDATE and DELETE when it runs (the deploy runs it right after migrate).
        cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA} GRANT {', '.join(TABLE_PRIVILEGES)} "
                       f"ON TABLES TO {who}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA} GRANT USAGE, SELECT ON SEQUENCES TO {who}")
        problems = runtime_privilege_problems(cursor, role)
        if problems:
            raise RoleError("the runtime role would keep privileges it must not have: " + "; ".join(problems))
    return tables


def _check_role(cursor, role: str) -> None:
    cursor.execute("SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolreplication, "
                   "rolname = current_user, pg_has_role(rolname, current_user, 'MEMBER') "
                   "FROM pg_roles WHERE rolname = %s", [role])
    row = cursor.fetchone()
    if row is None:
        raise RoleError(f"role {role} does not exist (create it first: docs/OPERATIONS.md, Database roles)")
    superuser, createdb, createrole, bypassrls, replication, is_me, member_of_me = row
    if is_me:
        raise RoleError(f"{role} is the role running this command: the runtime role must not be the owner")
    powers = [name for name, held in (("SUPERUSER", superuser), ("CREATEDB", createdb), ("CREATEROLE", createrole),
                                      ("BYPASSRLS", bypassrls), ("REPLICATION", replication)) if held]
    if powers:
        raise RoleError(f"role {role} has {', '.join(powers)}; the runtime role must have none of them")
    if member_of_me:
        raise RoleError(f"role {role} is a member of the owner role and would inherit its ownership")
    cursor.execute("SELECT count(*) FROM pg_class WHERE relnamespace = %s::regnamespace AND relowner = to_regrole(%s)",
                   [SCHEMA, role])
    owned = cursor.fetchone()[0]
    if owned:
        raise RoleError(f"role {role} owns {owned} objects in schema {SCHEMA}: it is an owner, not a runtime role")


def runtime_privilege_problems(cursor, role: str) -> list[str]:
    """What the runtime role holds (directly or through role membership) that it must not; [] when none."""
    problems: list[str] = []
    cursor.execute("SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls OR rolreplication "
                   "FROM pg_roles WHERE rolname = %s", [role])
    row = cursor.fetchone()
    if row is None:
        return [f"role {role} does not exist"]
    if row[0]:
        problems.append(f"{role} has a role attribute beyond LOGIN")
    cursor.execute("SELECT pg_has_role(%s, datdba, 'USAGE') FROM pg_database WHERE datname = current_database()",
                   [role])
    if cursor.fetchone()[0]:
        problems.append(f"{role} owns the database (or inherits from its owner)")
    cursor.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = %s::regnamespace AND pg_has_role(%s, c.relowner, "
        "'USAGE') UNION ALL SELECT p.proname FROM pg_proc p WHERE p.pronamespace = %s::regnamespace "
        "AND pg_has_role(%s, p.proowner, 'USAGE') UNION ALL SELECT n.nspname FROM pg_namespace n "
        "WHERE n.nspname = %s AND pg_has_role(%s, n.nspowner, 'USAGE')",
        [SCHEMA, role, SCHEMA, role, SCHEMA, role])
    owned = sorted({name for (name,) in cursor.fetchall()})
    if owned:
        problems.append(f"{role} owns (or inherits ownership of) {', '.join(owned[:10])}")
    checks: list[tuple[str, tuple[str, ...] | None]] = [(privilege, None) for privilege in NEVER_PRIVILEGES]
    checks += [(privilege, APPEND_ONLY_TABLES) for privilege in ("UPDATE", "DELETE")]
    checks += [("INSERT", TRIGGER_FILLED_TABLES)]
    for privilege, only in checks:
        # A partition of an append-only table counts as that table (pg_partition_root).
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = %s::regnamespace "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND has_table_privilege(%s, c.oid, %s) "
            "AND (%s::text[] IS NULL OR c.relname = ANY(%s::text[])"
            "     OR (c.relispartition AND pg_partition_root(c.oid)::regclass::text = ANY(%s::text[]))) ORDER BY 1",
            [SCHEMA, role, privilege, list(only) if only else None, list(only) if only else None,
             list(only) if only else None])
        tables = [name for (name,) in cursor.fetchall()]
        if tables:
            problems.append(f"{role} has {privilege} on {', '.join(tables[:10])}")
    cursor.execute("SELECT has_schema_privilege(%s, %s, 'CREATE')", [role, SCHEMA])
    if cursor.fetchone()[0]:
        problems.append(f"{role} may create objects in schema {SCHEMA}")
    return problems


def roles_bootstrap(cursor, *, owner: str, owner_password: str, runtime: str,
                    runtime_password: str) -> None:
    """Create (or update) both roles and give the current database to the owner. Run as a superuser.

    An empty password leaves the role's password as it is (for clusters that authenticate otherwise).
    """
    # Transaction-local settings (set_config's `true`): nothing of the names or passwords stays in the session.
    with cursor.connection.transaction():
        for name, value in (("owner_role", owner), ("owner_password", owner_password), ("runtime_role", runtime),
                            ("runtime_password", runtime_password)):
            cursor.execute("SELECT set_config(%s, %s, true)", [f"earn.{name}", value])
        cursor.execute(BOOTSTRAP_SQL.read_text())
