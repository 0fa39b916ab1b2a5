"""A lease on the inline accrual catch-up, held across its transactions."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccrualLease(models.Model):
    """Who runs the inline accrual catch-up (`run_accrual`), until when; one row per lease name.

    The catch-up commits each chunk in its own transaction, so exclusion must outlive a transaction. A
    session advisory lock would: but behind a transaction pooler (PgBouncer) the session belongs to whichever
    client the pooler gives it to next, and the unlock may reach another session. This row is taken and given
    back in short transactions under the transaction-scoped accrual lock, renewed after every chunk, and
    lapses on its own when its holder dies (`expires_at`).
    """

    name = models.CharField(max_length=32, primary_key=True)
    holder = models.UUIDField(null=True, blank=True, help_text=_("the run holding the lease; empty when free"))
    expires_at = models.DateTimeField(null=True, blank=True, help_text=_("the lease lapses after this"))

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(holder__isnull=True, expires_at__isnull=True)
                                              | models.Q(holder__isnull=False, expires_at__isnull=False),
                                              name="accrual_lease_holder_has_expiry")]

    def __str__(self) -> str:
        return f"accrual lease {self.name} ({self.holder or 'free'})"
