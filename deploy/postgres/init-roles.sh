#!/usr/bin/env bash
# Database roles for docker compose (docs/OPERATIONS.md, "Database roles"), run by the postgres image's
# superuser: on the first start of an empty volume (mounted into /docker-entrypoint-initdb.d), or by hand
# on an existing one:  docker compose exec postgres bash /docker-entrypoint-initdb.d/10-earn-roles.sh
# Creates the owner and runtime roles with their passwords and gives the database to the owner
# (deploy/postgres/roles.sql, idempotent). The superuser's own credentials are never given to the app.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-earn}" \
     -v owner_role="${EARN_OWNER_DB_ROLE:-earn_owner}" -v owner_password="${EARN_OWNER_DB_PASSWORD:?}" \
     -v runtime_role="${EARN_APP_DB_ROLE:-earn_app}" -v runtime_password="${EARN_APP_DB_PASSWORD:?}" <<'SQL'
SET earn.owner_role = :'owner_role';
SET earn.owner_password = :'owner_password';
SET earn.runtime_role = :'runtime_role';
SET earn.runtime_password = :'runtime_password';
\i /earn-postgres/roles.sql
SQL
