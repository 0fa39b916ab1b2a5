"""`manage.py run_accrual [--date D]`: accrue every ended day not yet accrued (or one day), inline.

Works the same chunk rows as the Celery tasks, so it can finish a run the workers started (chunks a
worker holds are waited for, never done twice). Shows a progress bar per day and a summary.
"""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.management.arguments import int_at_least, iso_day
from earn.services import accrual


class BarProgress(accrual.Progress):
    """One tqdm bar per day: positions done, rate and ETA."""

    def __init__(self, stream, enabled: bool) -> None:
        self.stream, self.enabled, self.bar = stream, enabled, None

    def day_started(self, day: dt.date, positions: int, chunks: int) -> None:
        self.close()
        if self.enabled:
            self.bar = tqdm(total=positions, desc=f"{day} ({chunks} chunks)", unit="pos", file=self.stream,
                            dynamic_ncols=True, mininterval=0.5)

    def chunk_done(self, day: dt.date, rows: int) -> None:
        if self.bar is not None:
            self.bar.update(rows)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Command(BaseCommand):
    help = "Accrue daily interest for every ended day not yet accrued (idempotent, resumable)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--date", type=iso_day, help="accrue only this day (YYYY-MM-DD)")
        parser.add_argument("--chunk-size", type=int_at_least(1), default=None,
                            help="positions per chunk for days not yet planned (default: ACCRUAL_CHUNK_SIZE)")

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        progress = BarProgress(self.stderr._out, enabled=options["verbosity"] >= 1)
        try:
            if options["date"]:
                days: list[accrual.AccrualDayResult] | None = [
                    accrual.accrue_day(options["date"], chunk_size=options["chunk_size"], progress=progress)]
            else:
                days = accrual.accrue_pending(chunk_size=options["chunk_size"], progress=progress)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            progress.close()
        if days is None:
            self.stdout.write(self.style.WARNING("Another accrual run is in progress; nothing done."))
            return
        if not days:
            self.stdout.write("Nothing to accrue: every ended day is done.")
        for day in days:
            totals = ", ".join(f"{asset} {format(total, 'f')}" for asset, total in sorted(day.posted.items())) or "-"
            self.stdout.write(f"{day.date}: {day.positions} positions in {day.chunks} chunk(s); posted {totals}")
        elapsed = time.monotonic() - started
        rate = sum(d.positions for d in days) / max(elapsed, 1e-9)
        self.stdout.write(self.style.SUCCESS(f"Done in {elapsed:.1f}s ({rate:,.0f} positions/s)."))
