"""`manage.py liabilities_snapshot --date YYYY-MM-DD`: the proof-of-liabilities snapshot of a day, once."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from liabilities.services import AssetOutcome, NotReady, Progress, date_parse, liabilities_build, yesterday


class Command(BaseCommand):
    help = ("Build the Merkle sum trees of every customer's liabilities at the end of a day (default: "
            "yesterday, UTC). A day already built is never rebuilt: its roots are printed.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="YYYY-MM-DD (default: yesterday, UTC)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = date_parse(options["date"]) if options["date"] else yesterday()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        out, style = self.stdout, self.style
        started = time.perf_counter()

        class Printer(Progress):
            def asset_done(self, outcome: AssetOutcome) -> None:
                s = outcome.snapshot
                state = "built" if outcome.created else "already built"
                out.write(f"{s.date} {s.asset_id}: {state}, {s.leaves} leaves, total {s.total.normalize():f}, "
                          f"root {s.root} ({time.perf_counter() - started:.1f}s)")

        try:
            run, outcomes = liabilities_build(day, progress=Printer())
        except NotReady as exc:
            raise CommandError(str(exc)) from exc
        made = sum(1 for o in outcomes if o.created)
        self.stdout.write(style.SUCCESS(f"{day}: {len(outcomes)} asset(s), {made} built now, "
                                        f"{run.leaves} leaves in all"))
