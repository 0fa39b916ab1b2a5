"""Proof of liabilities: per date and asset, a Merkle sum tree over what the service owes each customer.

A snapshot, its leaves and its stored nodes are written once, in one transaction per asset, and never
changed: PostgreSQL refuses UPDATE and DELETE on the three tables (liabilities/sql/immutable.sql).
`LiabilityRun` is the only mutable row: the progress of one date's build.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.fields import MoneyField


def UnitsField(**kwargs: object) -> models.DecimalField:  # noqa: N802 - reads like a field class
    """An exact integer count of an asset's smallest unit (NUMERIC(60,0): 10³⁸ at 18 decimals fits)."""
    return models.DecimalField(max_digits=60, decimal_places=0, **kwargs)  # type: ignore[arg-type]


class LiabilityRun(models.Model):
    """Progress of one date's snapshot: the assets done so far (each committed with its snapshot)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    date = models.DateField(unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    assets_done = models.PositiveIntegerField(default=0)
    leaves = models.PositiveBigIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date"]
        constraints = [models.CheckConstraint(
            condition=Q(status="running", finished_at__isnull=True) | Q(status="done", finished_at__isnull=False),
            name="liabilityrun_finished_when_done")]

    def __str__(self) -> str:
        return f"liabilities {self.date} ({self.status})"


class LiabilitySnapshot(models.Model):
    """The public part: one asset's root and total at the end of `date` (UTC)."""

    date = models.DateField()
    asset = models.ForeignKey("ledger.Asset", on_delete=models.PROTECT, related_name="+")
    scale = models.PositiveSmallIntegerField()
    root = models.CharField(max_length=64, help_text=_("hex SHA-256 of the root node"))
    total = MoneyField(help_text=_("the sum of every leaf, in the asset"))
    total_units = UnitsField(help_text=_("the same sum in the asset's smallest unit (the root's sum)"))
    leaves = models.PositiveIntegerField()
    cutoff = models.DateTimeField(help_text=_("balances as of this instant (the end of the date)"))
    built_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "asset_id"]
        constraints = [
            models.UniqueConstraint(fields=["date", "asset"], name="liabilitysnapshot_date_asset_unique"),
            models.CheckConstraint(condition=Q(root__regex=r"^[0-9a-f]{64}$"), name="liabilitysnapshot_root_hex"),
            models.CheckConstraint(condition=Q(total__gte=0) & Q(total_units__gte=0) & Q(leaves__gt=0),
                                   name="liabilitysnapshot_non_negative"),
        ]

    def __str__(self) -> str:
        return f"liabilities {self.date} {self.asset_id} {self.root[:12]}"


class LiabilityLeaf(models.Model):
    """One customer's liability in one asset: private (the customer sees only their own, in their proof)."""

    snapshot = models.ForeignKey(LiabilitySnapshot, on_delete=models.PROTECT, related_name="+")
    idx = models.PositiveIntegerField(help_text=_("position in the tree (leaves ordered by hash)"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    hash = models.BinaryField(max_length=32)
    salt = models.BinaryField(max_length=32)
    units = UnitsField()
    available = MoneyField()
    earn = MoneyField()
    accrued = MoneyField()
    pending = MoneyField()
    committed = MoneyField(default=0, help_text="committed to launches, not yet allocated")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "idx"], name="liabilityleaf_snapshot_idx_unique"),
            models.UniqueConstraint(fields=["snapshot", "user"], name="liabilityleaf_snapshot_user_unique"),
            models.CheckConstraint(condition=Q(units__gt=0) & Q(available__gte=0) & Q(earn__gte=0)
                                   & Q(accrued__gte=0) & Q(pending__gte=0) & Q(committed__gte=0),
                                   name="liabilityleaf_non_negative"),
        ]

    def __str__(self) -> str:
        return f"leaf {self.snapshot_id}:{self.idx}"


class LiabilityNode(models.Model):
    """A stored node: level 0 holds the roots of the blocks of 256 leaves, the top level the root."""

    snapshot = models.ForeignKey(LiabilitySnapshot, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField()
    idx = models.PositiveIntegerField()
    hash = models.BinaryField(max_length=32)
    units = UnitsField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "level", "idx"], name="liabilitynode_position_unique"),
            models.CheckConstraint(condition=Q(units__gte=0), name="liabilitynode_non_negative"),
        ]

    def __str__(self) -> str:
        return f"node {self.snapshot_id}:{self.level}:{self.idx}"
