"""`manage.py reconcile`: recompute the ledger from its postings; exit 1 on any mismatch."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.management.arguments import int_at_least
from ledger.reconcile import ledger_reconcile


class Command(BaseCommand):
    help = "Recompute every ledger balance from its postings, check every entry balances, run registered checks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--max-details", type=int_at_least(0), default=100,
                            help="print at most this many mismatches (all are counted)")

    def handle(self, *args: Any, max_details: int, **options: Any) -> None:
        report = ledger_reconcile()
        self.stdout.write(f"accounts checked: {report.accounts_checked}")
        self.stdout.write(f"entries checked:  {report.entries_checked}")
        self.stdout.write(f"checks run:       {', '.join(report.checks_run)}")
        if report.ok:
            self.stdout.write(self.style.SUCCESS("mismatches:       0 (ledger reconciles)"))
            return
        self.stdout.write(self.style.ERROR(f"mismatches:       {len(report.mismatches)}"))
        for mismatch in report.mismatches[:max_details]:
            self.stdout.write(f"  {mismatch}")
        if len(report.mismatches) > max_details:
            self.stdout.write(f"  … and {len(report.mismatches) - max_details} more")
        raise CommandError(f"reconciliation found {len(report.mismatches)} mismatch(es)", returncode=1)
