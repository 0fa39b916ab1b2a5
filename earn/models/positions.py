"""Customers' positions, the subscriptions and redemptions that change them, and daily accruals."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.fields import MoneyField
from earn.models.products import PayoutMode, RedemptionMode, TermType


class PositionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    MATURED = "matured", _("Matured")
    REDEEMED = "redeemed", _("Redeemed early")
    RENEWED = "renewed", _("Renewed")


class Position(models.Model):
    """What a customer holds in one product.

    Demand: one position per (user, product), increased and reduced over time.
    Fixed: one position per subscription (a lot), pinned to the terms it was bought under.
    What earns on day D is the sum of the position's changes effective on or before D
    (see `PositionChange`), so an accrual run for D gives the same answer whenever it runs.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="positions")
    product = models.ForeignKey("earn.Product", on_delete=models.PROTECT, related_name="positions")
    terms = models.ForeignKey("earn.ProductTerms", on_delete=models.PROTECT, related_name="positions")
    asset = models.ForeignKey("ledger.Asset", on_delete=models.PROTECT, related_name="+")
    term_type = models.CharField(max_length=8, choices=TermType.choices)
    status = models.CharField(max_length=10, choices=PositionStatus.choices, default=PositionStatus.ACTIVE,
                              db_index=True)
    principal = MoneyField(default=0)
    value_date = models.DateField(help_text=_("first day the (first) principal earns"))
    maturity_date = models.DateField(null=True, blank=True, help_text=_("fixed: value date + term"))
    auto_renew = models.BooleanField(default=False)
    auto_compound = models.BooleanField(default=False, help_text=_("demand: interest added to principal"))
    renewed_from = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="renewed_to")
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["user", "product"], name="position_user_product_idx"),
                   models.Index(fields=["status", "maturity_date"], name="position_status_maturity_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gte=0), name="position_principal_non_negative"),
            models.UniqueConstraint(fields=["user", "product"], condition=Q(term_type="demand"),
                                    name="position_one_demand_per_user_product"),
            models.CheckConstraint(condition=Q(term_type="demand") | Q(maturity_date__isnull=False),
                                   name="position_fixed_has_maturity"),
        ]

    def __str__(self) -> str:
        return f"position {self.pk} ({self.product_id}, user {self.user_id})"


class PositionChange(models.Model):
    """A change of what earns, effective from a day: +amount from the value date (T+1) for money
    added on T; −amount from T for money taken out on T (so it earns nothing for T), except the
    part taken from money not yet earning, which is removed from T+1."""

    class Reason(models.TextChoices):
        SUBSCRIPTION = "subscription", _("Subscription")
        REDEMPTION = "redemption", _("Redemption")
        MATURITY = "maturity", _("Maturity")
        COMPOUND = "compound", _("Compounded interest")
        RENEWAL = "renewal", _("Renewal")

    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="changes")
    effective_date = models.DateField(db_index=True)
    amount = MoneyField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["position", "effective_date"], name="positionchange_pos_date_idx")]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="positionchange_amount_non_zero")]

    def __str__(self) -> str:
        return f"{self.amount:+} from {self.effective_date} ({self.reason})"


class Subscription(models.Model):
    """One accepted subscription; the API's `POST /subscriptions` answer."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscriptions")
    product = models.ForeignKey("earn.Product", on_delete=models.PROTECT, related_name="subscriptions")
    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="subscriptions")
    terms = models.ForeignKey("earn.ProductTerms", on_delete=models.PROTECT, related_name="+")
    amount = MoneyField()
    value_date = models.DateField()
    maturity_date = models.DateField(null=True, blank=True)
    # The database's foreign key points at compliance_acknowledgementkey (acknowledgements are partitioned).
    acknowledgement = models.ForeignKey("compliance.Acknowledgement", null=True, blank=True, db_constraint=False,
                                        on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="subscription_amount_positive")]

    def __str__(self) -> str:
        return f"subscription {self.pk}: {self.amount} to {self.product_id}"


class RedemptionStatus(models.TextChoices):
    PENDING = "pending", _("Pending settlement")
    SETTLED = "settled", _("Settled")


class Redemption(models.Model):
    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="redemptions")
    amount = MoneyField(help_text=_("principal redeemed"))
    payout = MoneyField(help_text=_("what the customer receives"))
    forfeited = MoneyField(default=0, help_text=_("interest clawed back under the early-redemption rule"))
    mode = models.CharField(max_length=10, choices=RedemptionMode.choices)
    early = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=RedemptionStatus.choices)
    settles_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "settles_at"], name="redemption_status_due_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="redemption_amount_positive"),
            models.CheckConstraint(condition=Q(payout__gte=0) & Q(forfeited__gte=0),
                                   name="redemption_payout_forfeit_non_negative"),
        ]

    def __str__(self) -> str:
        return f"redemption {self.pk}: {self.amount} ({self.mode})"


class Accrual(models.Model):
    """Interest of one position for one day; unique per (position, day), so it is posted once.

    posted = floor_to_scale(exact + previous carry); carry = exact + previous carry − posted.
    """

    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="accruals")
    date = models.DateField()
    base = MoneyField()
    apr = MoneyField(help_text=_("effective APR on the base (marginal tiers blended)"))
    exact = MoneyField()
    posted = MoneyField()
    carry = MoneyField()
    payout = models.CharField(max_length=12, choices=[*PayoutMode.choices, ("compound", _("Compounded"))])
    paid_out = models.BooleanField(default=True, help_text=_("at-maturity interest: false until settled"))
    run = models.ForeignKey("earn.AccrualRun", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["position_id", "date"]
        constraints = [
            models.UniqueConstraint(fields=["position", "date"], name="accrual_position_date_unique"),
            models.CheckConstraint(condition=Q(posted__gte=0, exact__gte=0, carry__gte=0, base__gte=0),
                                   name="accrual_amounts_non_negative"),
        ]

    def __str__(self) -> str:
        return f"accrual {self.position_id} {self.date}: {self.posted}"


class AccrualRun(models.Model):
    """Progress of one day's accrual, tracked in the database (not the broker)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    date = models.DateField(unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    positions = models.PositiveBigIntegerField(default=0)
    posted_total = MoneyField(default=0)
    planned_at = models.DateTimeField(null=True, blank=True, help_text=_("when its chunks were written"))
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"accrual run {self.date} ({self.status})"


class AccrualChunk(models.Model):
    """One id range of one day's run: the unit a worker commits in one transaction.

    The range bounds customer ids: every position of a customer falls in one chunk, so the customer's
    interest of the day is one ledger credit per account (the accrual rows keep the per-position detail).

    The bounds are stored when the day is planned, so every retry, worker or command works on the
    same ranges (and the same ledger idempotency keys). A worker holds the row lock while it works;
    status turns `done` in the same transaction as the accrual rows and postings.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")

    class Unit(models.TextChoices):
        CUSTOMER = "customer", _("Customer ids")
        POSITION = "position", _("Position ids")

    run = models.ForeignKey(AccrualRun, on_delete=models.PROTECT, related_name="chunks")
    unit = models.CharField(
        max_length=8, choices=Unit.choices, default=Unit.CUSTOMER,
        help_text=_("what lo and hi bound: customer ids (every position of a customer in one chunk, so one "
                    "credit per customer account and day), or position ids (chunks planned by older releases)"))
    lo = models.BigIntegerField(help_text=_("first id of the range"))
    hi = models.BigIntegerField(help_text=_("last id of the range"))
    planned = models.PositiveIntegerField(default=0, help_text=_("positions in range when planned"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    dispatches = models.PositiveIntegerField(default=0, help_text=_("times handed to the task queue"))
    enqueued_at = models.DateTimeField(null=True, blank=True)
    positions = models.PositiveIntegerField(default=0, help_text=_("accrual rows written"))
    posted_total = MoneyField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "lo"]
        constraints = [
            models.UniqueConstraint(fields=["run", "lo"], name="accrual_chunk_run_lo_unique"),
            models.CheckConstraint(condition=Q(lo__lte=models.F("hi")), name="accrual_chunk_bounds_ordered"),
        ]
        indexes = [models.Index(fields=["status", "enqueued_at"], name="accrual_chunk_pending_idx",
                                condition=Q(status="pending"))]

    def __str__(self) -> str:
        return f"accrual chunk {self.run_id}:{self.lo}-{self.hi} ({self.status})"
