"""Monthly statements: the figures of one customer's month, frozen once built, and the run that builds them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Statement(models.Model):
    """One customer's month. `figures` holds every number shown (decimal strings), computed from the ledger
    at build time; the PDF and CSV are rendered from them on download, in the customer's language then."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="statements")
    month = models.DateField(help_text=_("first day of the month"))
    figures = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-month", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "month"], name="statement_user_month_unique"),
            models.CheckConstraint(condition=Q(month__day=1), name="statement_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"statement {self.user_id} {self.month:%Y-%m}"


class StatementRun(models.Model):
    """Progress of one month's statements: customers are taken in id order; `last_user_id` is the cursor,
    moved in the same transaction as the statements it covers, so a rerun resumes where it stopped."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    month = models.DateField(unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    last_user_id = models.BigIntegerField(default=0)
    customers = models.PositiveIntegerField(default=0, help_text=_("customers looked at"))
    statements = models.PositiveIntegerField(default=0, help_text=_("statements written"))
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["month"]
        constraints = [models.CheckConstraint(condition=Q(month__day=1), name="statementrun_month_first_day")]

    def __str__(self) -> str:
        return f"statements {self.month:%Y-%m} ({self.status})"
