"""`manage.py risk_alerts [--date D]`: the daily IL and exposure alerts for one day (default yesterday)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.dates import parse_day
from notifications.staff_alerts import percent_text
from pools.services.il_alerts import PoolResult, risk_alerts_run, yesterday


class Command(BaseCommand):
    help = ("Impermanent-loss alerts (holders past their pool product's threshold, and staff) and exposure-limit "
            "breaches (staff) for --date D (UTC day, default yesterday). Safe to rerun: nobody is alerted twice.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", default=None, help="YYYY-MM-DD (UTC day)")

    def handle(self, *args: Any, **options: Any) -> None:
        day = None
        if options["date"]:
            try:
                day = parse_day(options["date"])
            except ValueError as exc:
                raise CommandError("--date is YYYY-MM-DD") from exc
            # A day not over yet would be alerted at today's prices, and its real alert never sent (one per day).
            if day > yesterday():
                raise CommandError(f"{day} has not ended yet (UTC): alerts are for a whole day, at its closing prices")

        def progress(done: int, total: int, r: PoolResult) -> None:
            if r.skipped:
                what = f"skipped ({r.skipped})"
            elif r.alert is not None:
                what = (f"{len(r.past)} of {r.positions} positions past {percent_text(r.threshold)}, worst loss "
                        f"{percent_text(r.alert.worst_il)}: alert recorded")
            else:
                what = f"{r.positions} positions, none past {percent_text(r.threshold)}"
            self.stdout.write(f"[{done}/{total}] product {r.product_id}: {what}")

        result = risk_alerts_run(day=day, progress=progress)
        self.stdout.write(f"{result.day}: {len(result.pools)} pools checked, {len(result.alerts)} IL alerts, "
                          f"{result.breaches} exposure limits breached")
