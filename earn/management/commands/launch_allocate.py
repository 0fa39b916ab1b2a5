"""`manage.py launch_allocate --product ID`: allocate a closed launch (idempotent; resumes a stopped run)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from earn.services.launch import Progress, launch_allocate, launches_due


class Command(BaseCommand):
    help = ("Allocate a launch whose window has closed: quota pro-rata or first come first served, positions "
            "opened, the rest refunded. Safe to run again: it resumes where a stopped run left off.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--product", type=int, help="the launch product's id")
        parser.add_argument("--due", action="store_true", help="every launch whose window has closed")
        parser.add_argument("--batch", type=int, default=1000, help="customers settled per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["product"]) == bool(options["due"]):
            raise CommandError("Give --product ID or --due.")
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1.")
        products = [options["product"]] if options["product"] else launches_due()
        for product_id in products:
            self._one(product_id, options["batch"])

    def _one(self, product_id: int, batch: int) -> None:
        started = time.perf_counter()

        def progress(p: Progress) -> None:
            run = p.run
            if p.step == "closed":
                self.stdout.write(f"product {product_id}: window closed (quota {run.quota.normalize():f}, "
                                  f"{run.method})")
            elif p.step == "allocated":
                self.stdout.write(f"product {product_id}: {run.commitments} commitment(s) from {run.customers} "
                                  f"customer(s), {run.committed_total.normalize():f} committed → "
                                  f"{run.allocated_total.normalize():f} allocated, "
                                  f"{run.refunded_total.normalize():f} refunded")
            elif p.step == "settling":
                self.stdout.write(f"product {product_id}: settled {run.customers_settled}/{run.customers} customers")

        try:
            run = launch_allocate(product_id, batch=batch, progress=progress)
        except ApplicationError as exc:
            raise CommandError(f"product {product_id}: {exc.message}") from exc
        self.stdout.write(self.style.SUCCESS(
            f"product {product_id}: {run.status} — {run.customers_settled} customer(s) settled in "
            f"{time.perf_counter() - started:.2f}s"))
