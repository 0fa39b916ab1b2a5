"""`manage.py settle`: standard redemptions due and fixed positions at maturity (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from earn.services.settlement import settle


class Command(BaseCommand):
    help = "Settle standard redemptions that are due and fixed-term positions that have matured."

    def handle(self, *args, **options) -> None:
        result = settle(progress=lambda stage, n: self.stdout.write(f"\r{stage}: {n}", ending=""))
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(
            f"Settled {result.redemptions_settled} redemption(s); matured {result.positions_matured} position(s), "
            f"{result.positions_renewed} renewed; {result.waiting_for_accrual} waiting for the last day's accrual."))
