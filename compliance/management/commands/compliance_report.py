"""`manage.py compliance_report KIND --from D --to D --format csv|pdf -o FILE` (the export is audited)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import user_ids_by_email
from compliance.reports import KINDS
from compliance.services.reports import export_csv, export_pdf, report_export
from core.dates import day_end, day_start
from core.errors import ApplicationError


def _bound(text: str, *, end: bool) -> dt.datetime:
    day = dt.date.fromisoformat(text)
    return day_end(day) if end else day_start(day)


class Command(BaseCommand):
    help = "Export a compliance report (CSV streamed to the file, or the PDF summary) for any date range."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (UTC), inclusive")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (UTC), inclusive")
        parser.add_argument("--format", dest="fmt", choices=["csv", "pdf"], default="csv")
        parser.add_argument("-o", "--output", required=True, help="file to write")
        parser.add_argument("--actor", help="email of the staff member the export is recorded for")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            start, end = _bound(options["start"], end=False), _bound(options["end"], end=True)
        except ValueError as exc:
            raise CommandError(f"dates are YYYY-MM-DD: {exc}") from exc
        actor = None
        if options["actor"]:
            actor = user_ids_by_email(emails=[options["actor"]]).get(options["actor"].lower())
            if actor is None:
                raise CommandError(f"no user {options['actor']}")
        try:
            export = report_export(actor=actor, kind=options["kind"], start=start, end=end, fmt=options["fmt"],
                                   channel="command")
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        rows = 0
        try:
            if export.format == "pdf":
                with open(options["output"], "wb") as out:
                    out.write(export_pdf(export))
            else:
                stream = export_csv(export)
                with open(options["output"], "wb") as out:
                    for chunk in stream:
                        out.write(chunk)
                rows = stream.rows or 0
        except OSError as exc:  # a missing directory, no permission, no room: exit 1, not a traceback
            raise CommandError(f"cannot write {options['output']}: {exc.strerror or exc}") from exc
        detail = f"{rows} rows, " if export.format == "csv" else ""
        self.stdout.write(f"{export.kind.key} {options['start']}..{options['end']} -> {options['output']} "
                          f"({detail}audit event #{export.event.sequence})")
