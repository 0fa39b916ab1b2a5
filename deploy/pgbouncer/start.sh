#!/bin/sh
# Starts PgBouncer for docker compose: writes its password file from the environment (the runtime role only:
# the owner migrates past the pooler, the superuser is never pooled), readable by PgBouncer alone.
set -eu
umask 077
mkdir -p /tmp/pgbouncer
printf '"%s" "%s"\n' "${EARN_APP_DB_ROLE:-earn_app}" "${EARN_APP_DB_PASSWORD:?}" > /tmp/pgbouncer/userlist.txt
if [ "$(id -u)" = 0 ]; then
    # PgBouncer refuses to run as root: it drops to the image's postgres user.
    chown -R postgres /tmp/pgbouncer
    exec pgbouncer -u postgres /etc/pgbouncer/pgbouncer.ini
fi
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
