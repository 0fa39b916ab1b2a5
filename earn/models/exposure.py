"""Exposure limits: how much of customers' money (in USD) may sit with one venue, protocol or counterparty.

A limit is per name, summed across every product naming it (a venue runs several products), so it is a row
keyed by (kind, name), not a product field. Compliance and operations edit it in the admin; every change is
an audit event (`earn.services.exposure_limits`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Trim
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.fields import MoneyField


class ExposureKind(models.TextChoices):
    VENUE = "venue", _("Venue or protocol")
    COUNTERPARTY = "counterparty", _("Counterparty (borrower or issuer)")


class ExposureLimit(models.Model):
    """The most customers' assets (USD at current prices) that products naming `name` may hold together."""

    kind = models.CharField(_("applies to"), max_length=12, choices=ExposureKind.choices, default=ExposureKind.VENUE)
    name = models.CharField(_("name"), max_length=120,
                            help_text=_("as written in the products' vetting data (case is ignored)"))
    limit_usd = MoneyField(verbose_name=_("limit (USD)"))
    note = models.TextField(_("note"), blank=True, help_text=_("why this limit: the review it comes from"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "kind", name="exposurelimit_kind_name_unique"),
            models.CheckConstraint(condition=Q(kind__in=["venue", "counterparty"]), name="exposurelimit_kind_known"),
            models.CheckConstraint(condition=Q(limit_usd__gt=0), name="exposurelimit_limit_positive"),
            models.CheckConstraint(condition=~Q(name="") & Q(name=Trim("name")), name="exposurelimit_name_trimmed"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"
