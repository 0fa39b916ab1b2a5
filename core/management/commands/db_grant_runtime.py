"""`manage.py db_grant_runtime [--role NAME]`: (re)apply the runtime role's privileges; run as the owner after migrate.

Idempotent. Fails (exit 1, nothing changed) when the role is missing, has any power beyond LOGIN,
is the role running the command, or would keep UPDATE/DELETE on an append-only table or TRUNCATE
anywhere. The grants themselves live in core.db_roles.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from core.db_roles import APPEND_ONLY_TABLES, TRIGGER_FILLED_TABLES, RoleError, runtime_grants_apply


class Command(BaseCommand):
    help = "Grant the runtime database role the privileges the app needs, and no more (run as the owner)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", default=None,
                            help="the runtime role (default: settings.DATABASE_RUNTIME_ROLE)")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the database alias to connect with")

    def handle(self, *args: Any, **options: Any) -> None:
        role = options["role"] or settings.DATABASE_RUNTIME_ROLE
        try:
            tables = runtime_grants_apply(connections[options["database"]], role)
        except RoleError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{role}: SELECT, INSERT, UPDATE, DELETE on {len(tables) - len(APPEND_ONLY_TABLES)} "
                          f"tables; SELECT, INSERT only on "
                          f"{', '.join(t for t in APPEND_ONLY_TABLES if t not in TRIGGER_FILLED_TABLES)}; "
                          f"SELECT only on {', '.join(TRIGGER_FILLED_TABLES)}; "
                          "no TRUNCATE; sequences USAGE.")
