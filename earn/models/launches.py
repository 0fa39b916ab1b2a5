"""Launch mode: customers' commitments during a product's launch window, and the allocation run after it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ledger.models import MoneyField


class CommitmentStatus(models.TextChoices):
    COMMITTED = "committed", _("Committed")
    ALLOCATED = "allocated", _("Allocated")  # allocation computed, money not moved yet
    SETTLED = "settled", _("Settled")  # allocation in a position, the rest refunded


class LaunchCommitment(models.Model):
    """An amount a customer committed to a launch; the money sits in their `committed` ledger account.

    `allocated` and `refunded` are written together by the allocation run (they add up to `amount`);
    status turns `settled` in the transaction that moves the money (position opened, rest refunded).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="launch_commitments")
    product = models.ForeignKey("earn.Product", on_delete=models.PROTECT, related_name="commitments")
    amount = MoneyField()
    status = models.CharField(max_length=10, choices=CommitmentStatus.choices, default=CommitmentStatus.COMMITTED)
    allocated = MoneyField(null=True, blank=True)
    refunded = MoneyField(null=True, blank=True)
    position = models.ForeignKey("earn.Position", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The database's foreign key points at compliance_acknowledgementkey (acknowledgements are partitioned).
    acknowledgement = models.ForeignKey("compliance.Acknowledgement", null=True, blank=True, db_constraint=False,
                                        on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["product", "user"], name="commitment_product_user_idx"),
                   models.Index(fields=["user", "created_at"], name="commitment_user_time_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="commitment_amount_positive"),
            models.CheckConstraint(
                condition=(Q(status="committed", allocated__isnull=True, refunded__isnull=True)
                           | (~Q(status="committed") & Q(allocated__gte=0, refunded__gte=0,
                                                         allocated__lte=models.F("amount"))
                              & Q(refunded=models.F("amount") - models.F("allocated")))),
                name="commitment_allocation_adds_up",
            ),
            models.CheckConstraint(condition=~Q(status="settled") | Q(settled_at__isnull=False),
                                   name="commitment_settled_has_time"),
        ]

    def __str__(self) -> str:
        return f"commitment {self.pk}: {self.amount} to {self.product_id} ({self.status})"


class LaunchRun(models.Model):
    """The allocation of one product's launch: progress kept here, so a rerun resumes where it stopped.

    `closed` (no commitment can be added any more), `allocated` (every commitment's allocation and refund
    written, in one transaction), `done` (every customer settled: positions opened, refunds posted).
    """

    class Status(models.TextChoices):
        CLOSED = "closed", _("Window closed")
        ALLOCATED = "allocated", _("Allocated")
        DONE = "done", _("Done")

    product = models.OneToOneField("earn.Product", on_delete=models.PROTECT, related_name="launch_run")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CLOSED)
    method = models.CharField(max_length=8)
    quota = MoneyField(help_text=_("what was offered (the product's quota, within its cap room)"))
    commitments = models.PositiveIntegerField(default=0)
    customers = models.PositiveIntegerField(default=0)
    committed_total = MoneyField(default=0)
    allocated_total = MoneyField(default=0)
    refunded_total = MoneyField(default=0)
    customers_settled = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    allocated_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(allocated_total__lte=models.F("quota")),
                                   name="launchrun_within_quota"),
            models.CheckConstraint(
                condition=Q(status="closed")
                | Q(allocated_total=models.F("committed_total") - models.F("refunded_total")),
                name="launchrun_totals_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"launch run {self.product_id} ({self.status})"
