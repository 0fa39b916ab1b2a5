"""`manage.py statements --month YYYY-MM`: every customer's statement of a month, resumable, with progress."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from statements.models import StatementRun
from statements.services import CHUNK, MonthNotReady, Progress, month_parse, previous_month, statements_run


class Command(BaseCommand):
    help = "Build every customer's monthly statement (default: last month); a rerun resumes where it stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: the month before today, UTC)")
        parser.add_argument("--chunk-size", type=int, default=CHUNK, help="customers per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            month = month_parse(options["month"]) if options["month"] else previous_month()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        out = self.stdout

        class Printer(Progress):
            def chunk_done(self, run: StatementRun) -> None:
                out.write(f"{run.month:%Y-%m}: {run.customers} customers looked at, {run.statements} statements "
                          f"written (up to customer {run.last_user_id})")

        try:
            run = statements_run(month, chunk_size=options["chunk_size"], progress=Printer())
        except MonthNotReady as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"{run.month:%Y-%m}: done, {run.customers} customers, {run.statements} statements"))
