"""`manage.py audit_verify`: check the whole audit hash chain; exit 1 naming the first broken event."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.audit_verify import audit_chain_verify
from core.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain from the first event; exit 1 naming the first broken event."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=10_000, help="events read per query")
        parser.add_argument("--progress", action="store_true", help="show a progress bar (default on a terminal)")

    def handle(self, *args: Any, **options: Any) -> None:
        show = options["progress"] or (options["verbosity"] >= 1 and sys.stderr.isatty())
        bar = tqdm(total=AuditEvent.objects.count(), unit="event", disable=not show, file=sys.stderr)
        try:
            report = audit_chain_verify(batch=options["batch"], progress=bar.update)
        finally:
            bar.close()
        if not report.intact:
            raise CommandError(f"audit chain broken at event #{report.broken_sequence}: {report.reason} "
                               f"({report.checked} events before it are intact)", returncode=1)
        if options["verbosity"] >= 1:
            last = f"last #{report.last_sequence}, hash {report.last_hash}" if report.checked else "empty trail"
            self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked} events ({last})"))
