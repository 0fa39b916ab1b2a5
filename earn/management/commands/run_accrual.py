"""`manage.py run_accrual [--date D]`: accrue every ended day not yet accrued (or one day)."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from earn.services import accrual


class Command(BaseCommand):
    help = "Accrue daily interest for every ended day not yet accrued (idempotent)."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("--date", type=dt.date.fromisoformat, help="accrue only this day (YYYY-MM-DD)")
        parser.add_argument("--chunk-size", type=int, default=accrual.DEFAULT_CHUNK)

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        started = time.monotonic()

        def progress(day: dt.date, index: int, total: int) -> None:
            elapsed = time.monotonic() - started
            self.stdout.write(f"\r{day}: chunk {index}/{total}  ({elapsed:.1f}s)", ending="")
            self.stdout.flush()

        try:
            if options["date"]:
                days = [accrual.accrue_day(options["date"], chunk_size=options["chunk_size"],
                                           progress=lambda i, n: progress(options["date"], i, n))]
            else:
                days = accrual.accrue_pending(chunk_size=options["chunk_size"], progress=progress)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if days is None:
            self.stdout.write(self.style.WARNING("Another accrual run is in progress; nothing done."))
            return
        self.stdout.write("")
        if not days:
            self.stdout.write("Nothing to accrue: every ended day is done.")
        for day in days:
            totals = ", ".join(f"{asset} {format(total, 'f')}" for asset, total in sorted(day.posted.items())) or "-"
            self.stdout.write(f"{day.date}: {day.positions} positions in {day.chunks} chunk(s); posted {totals}")
        rate = sum(d.positions for d in days) / max(time.monotonic() - started, 1e-9)
        self.stdout.write(self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f}s ({rate:,.0f} positions/s)."))
