"""`manage.py distribute_pool_yield [--date D]`: pool fees and rewards for one day, or every day still due."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.dates import parse_day
from pools.services.distribution import pools_distribute_day, pools_distribute_pending


class Command(BaseCommand):
    help = "Distribute pool trading fees and rewards: --date D for one day, else every day due up to yesterday."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", default=None, help="YYYY-MM-DD (UTC day)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["date"]:
            try:
                day = parse_day(options["date"])
            except ValueError as exc:
                raise CommandError("--date is YYYY-MM-DD") from exc
            # A day not over would be paid at today's shares, and the catch-up (which resumes after the latest day
            # distributed) would then skip every day before it: 9999-12-31 stopped the daily job for good.
            if day >= timezone.localtime(timezone.now(), dt.UTC).date():
                raise CommandError(f"{day} has not ended yet (UTC): a day's fees and rewards are paid once it is over")
            results = pools_distribute_day(day)
        else:
            results = pools_distribute_pending()
        for r in results:
            what = "already distributed" if r.skipped else (
                f"{r.positions} positions, fees {r.fee_a} / {r.fee_b}, reward {r.reward}"
                + (f" ({r.reward_compounded} reinvested)" if r.reward_compounded else ""))
            self.stdout.write(f"pool {r.pool_id} {r.date}: {what}")
        if not results:
            self.stdout.write("nothing due")
