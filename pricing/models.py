"""Price snapshots: the USD value of one unit of an asset at a moment.

Append-only history; the latest snapshot per asset is "the price". Compliance values holdings with it
(exposure limits) and pools re-balance their reserves to it.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.fields import MoneyField


class PriceSnapshot(models.Model):
    asset = models.ForeignKey("ledger.Asset", on_delete=models.PROTECT, related_name="prices")
    price_usd = MoneyField(verbose_name=_("price in USD"))
    as_of = models.DateTimeField(_("as of"), default=timezone.now, db_index=True)
    source = models.CharField(_("source"), max_length=32, default="manual")

    class Meta:
        ordering = ["asset_id", "-as_of", "-id"]
        indexes = [models.Index(fields=["asset", "-as_of", "-id"], name="price_latest_idx")]
        constraints = [models.CheckConstraint(condition=models.Q(price_usd__gt=0), name="price_positive")]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.price_usd} @ {self.as_of:%Y-%m-%d %H:%M}"
