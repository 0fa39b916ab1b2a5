"""Disclosures, acknowledgements and the tamper-evident audit trail."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DisclosureStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CURRENT = "current", _("Approved, current")
    SUPERSEDED = "superseded", _("Approved, superseded")
    REJECTED = "rejected", _("Rejected")


class Disclosure(models.Model):
    """One version of a product's risk disclosure, bilingual; the English version prevails.

    `risk_statements` is a list of {"key", "en", "zh-hant"}; a customer ticks every one.
    `sha256` covers the canonical content (bodies + statements), so an acknowledgement proves
    exactly what was shown.
    """

    product = models.ForeignKey("earn.Product", on_delete=models.PROTECT, related_name="disclosures")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=DisclosureStatus.choices, default=DisclosureStatus.DRAFT)
    body_en = models.TextField(_("body (English)"))
    body_zh_hant = models.TextField(_("body (Traditional Chinese)"))
    risk_statements = models.JSONField(_("risk statements"), default=list)
    sha256 = models.CharField(max_length=64)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["product_id", "version"]
        permissions = [("approve_disclosure", "Can approve a disclosure version")]
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="disclosure_product_version_unique"),
            models.UniqueConstraint(fields=["product"], condition=Q(status="current"),
                                    name="disclosure_one_current_per_product"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "rejected"]) | Q(approved_by__isnull=False, approved_at__isnull=False),
                name="disclosure_approval_recorded",
            ),
            models.CheckConstraint(condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("author")),
                                   name="disclosure_maker_not_checker"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} disclosure v{self.version}"


class AuditEvent(models.Model):
    """Append-only, hash-chained: hash = sha256(prev_hash ‖ canonical JSON of the event).

    Written only by `compliance.audit.audit_record`, in the same transaction as the change it
    records. PostgreSQL refuses UPDATE and DELETE.
    """

    sequence = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="auditevent_object_idx")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}"


class Acknowledgement(models.Model):
    """A customer's acknowledgement of one disclosure version: what was shown, and when, from where."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="acknowledgements")
    product = models.ForeignKey("earn.Product", on_delete=models.PROTECT, related_name="acknowledgements")
    disclosure = models.ForeignKey(Disclosure, on_delete=models.PROTECT, related_name="acknowledgements")
    disclosure_version = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    statements = models.JSONField(help_text=_("keys of the risk statements ticked"))
    language = models.CharField(max_length=8)
    accepted_at = models.DateTimeField(default=timezone.now, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["user", "product", "-accepted_at"], name="ack_user_product_idx")]

    def __str__(self) -> str:
        return f"ack {self.user_id} {self.product_id} v{self.disclosure_version}"


class Refusal(models.Model):
    """A refused subscription (or other money move), kept for the compliance reports."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="refusals")
    product = models.ForeignKey("earn.Product", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="refusals")
    action = models.CharField(max_length=32, default="subscribe")
    amount = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True)
    codes = models.JSONField()
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"refusal {self.user_id} {self.codes}"
