"""`manage.py partitions`: list, create ahead, or export and detach the monthly partitions (core/partitions.py).

    manage.py partitions                       # list every partitioned table's partitions
    manage.py partitions --ensure [--months N] # this month and the next N (default PARTITION_MONTHS_AHEAD)
    manage.py partitions --detach-before 2019-01 --export-dir /backups/partitions

--detach-before exports each month partition before the month with COPY (one file per partition, and
its SHA-256 beside it), then detaches it; it refuses (exit 1, nothing changed) a month within the
retention period of docs/COMPLIANCE.md, or when a table's guard refuses (the ledger: an open customer
account). Nothing is deleted: the detached tables stay until an operator drops them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.partitions import PartitionError, detach_before, ensure_partitions, parse_month, partitions_list

MAX_MONTHS_AHEAD = 120


class Command(BaseCommand):
    help = "List, create ahead (--ensure), or export and detach (--detach-before YYYY-MM) the monthly partitions."

    def add_arguments(self, parser: Any) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--ensure", action="store_true", help="create this month's and the next months' partitions")
        action.add_argument("--detach-before", metavar="YYYY-MM",
                            help="export, then detach, every month partition before this month")
        parser.add_argument("--months", type=int, default=None,
                            help=f"with --ensure: months ahead (0 to {MAX_MONTHS_AHEAD})")
        parser.add_argument("--export-dir", type=Path, help="with --detach-before: where the COPY files go")

    def handle(self, *args: Any, **options: Any) -> None:
        self._check(options)
        try:
            if options["ensure"]:
                created = ensure_partitions(options["months"])
                for name in created:
                    self.stdout.write(f"created {name}")
                self.stdout.write(f"{len(created)} partition(s) created")
            elif options["detach_before"]:
                if options["export_dir"] is None:
                    raise CommandError("--detach-before needs --export-dir (the partitions are exported first)")
                for done in detach_before(parse_month(options["detach_before"]), options["export_dir"]):
                    self.stdout.write(f"detached {done.partition}: {done.rows} rows exported to {done.path} "
                                      f"(sha256 {done.sha256})")
            else:
                for p in partitions_list():
                    label = "default" if p.month is None else f"{p.month:%Y-%m}"
                    rows = "never analysed" if p.rows < 0 else f"~{p.rows} rows"
                    self.stdout.write(f"{p.parent:24} {p.name:36} {label:8} {rows}")
        except PartitionError as error:
            raise CommandError(str(error)) from error
        except OSError as error:  # the export directory: missing parent, not a directory, no room, no permission
            raise CommandError(f"--export-dir {options['export_dir']}: {error.strerror or error}") from error

    @staticmethod
    def _check(options: dict[str, Any]) -> None:
        """Arguments that would be ignored, or that no month count or path can mean, are refused before any work."""
        months, export_dir = options["months"], options["export_dir"]
        if months is not None and not options["ensure"]:
            raise CommandError("--months goes with --ensure")
        if months is not None and not 0 <= months <= MAX_MONTHS_AHEAD:
            # Each month is a partition per table in one transaction: 100 000 ran PostgreSQL out of shared memory.
            raise CommandError(f"--months is 0 to {MAX_MONTHS_AHEAD}")
        if export_dir is not None and not options["detach_before"]:
            raise CommandError("--export-dir goes with --detach-before")
        if export_dir is not None and "\x00" in str(export_dir):
            raise CommandError("--export-dir holds a NUL character")
