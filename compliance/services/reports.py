"""Exporting a compliance report: the export is recorded in the audit trail before any data leaves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.pdf import summary_pdf
from compliance.reports import KINDS, CsvCopy, ReportKind
from core.audit import audit_record
from core.db_router import replica_reads
from core.errors import NotFound, ValidationFailed
from core.models import AuditEvent

if TYPE_CHECKING:
    from accounts.models import User

FORMATS = ("csv", "pdf")


@dataclass(frozen=True)
class Export:
    kind: ReportKind
    start: dt.datetime
    end: dt.datetime
    format: str
    event: AuditEvent

    @property
    def filename(self) -> str:
        last = (self.end - dt.timedelta(microseconds=1)).astimezone(dt.UTC)
        return f"{self.kind.key}_{self.start.astimezone(dt.UTC):%Y%m%d}_{last:%Y%m%d}.{self.format}"


def report_kind(key: str) -> ReportKind:
    kind = KINDS.get(key)
    if kind is None:
        raise NotFound(_("Unknown report; one of: %(kinds)s") % {"kinds": ", ".join(KINDS)}, field="kind")
    return kind


def report_export(*, actor: User | int | None, kind: str, start: dt.datetime, end: dt.datetime, fmt: str,
                  channel: str = "api") -> Export:
    """Check the request and record the export (who, what, which period, which format, from where)."""
    report = report_kind(kind)
    if fmt not in FORMATS:
        raise ValidationFailed(_("Format is csv or pdf."), field="format")
    if end <= start:
        raise ValidationFailed(_("The end of the period must be after its start."), field="to")
    with transaction.atomic():
        event = audit_record(actor=actor, action="report.export", object_type="report", object_id=report.key,
                             after={"kind": report.key, "from": start, "to": end, "format": fmt, "channel": channel})
    return Export(report, start, end, fmt, event)


def export_csv(export: Export) -> CsvCopy:
    """The CSV as ~64 KiB byte chunks written by PostgreSQL's COPY (its `rows` are known once it is read)."""
    return CsvCopy(export.kind, export.start, export.end)


def export_pdf(export: Export) -> bytes:
    actor = getattr(export.event.actor, "email", None) or "system"
    with replica_reads():
        summary = export.kind.summary(export.start, export.end)
    return summary_pdf(export.kind, summary, start=export.start, end=export.end,
                       actor=actor, generated_at=timezone.now(), audit_sequence=export.event.sequence,
                       audit_hash=export.event.hash)
