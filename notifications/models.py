"""Customer notifications: one row per (user, key) is both the inbox item and the email's record."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    SUBSCRIPTION_CONFIRMED = "subscription_confirmed", _("Subscription confirmed")
    REDEMPTION_CONFIRMED = "redemption_confirmed", _("Redemption confirmed")
    MATURITY_UPCOMING = "maturity_upcoming", _("Upcoming maturity")
    RATE_CHANGED = "rate_changed", _("Rate change")
    DISCLOSURE_UPDATED = "disclosure_updated", _("New disclosure to acknowledge")
    ACTION_REQUIRED = "action_required", _("Action needed")
    POOL_DEPOSIT_CONFIRMED = "pool_deposit_confirmed", _("Pool deposit confirmed")
    IL_ALERT = "il_alert", _("Impermanent loss alert")
    STAFF_IL_ALERT = "staff_il_alert", _("Impermanent loss alert (staff)")
    STAFF_EXPOSURE_BREACH = "staff_exposure_breach", _("Exposure limit breached (staff)")
    LAUNCH_ALLOCATED = "launch_allocated", _("Launch allocation")

    STATEMENT_READY = "statement_ready", _("Monthly statement")


class Notification(models.Model):
    """Written once per (user, key) — the key names the event (e.g. `subscription:42`), so a
    retried hook or a re-run sweep never notifies twice. Subject and body are stored in the
    customer's language at the time, as the email was sent."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    key = models.CharField(max_length=120)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    link = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notification_user_key_unique")]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.key}"


class OutboxMessage(models.Model):
    """A notification to send, written in the transaction of the change it reports (a subscription, a
    redemption …) and sent by a worker (`notifications.services.outbox_drain`): it exists exactly when that
    change committed, and stays until a drain has written its Notification row. Deleted by the drain in the
    transaction that writes the Notification, so a worker that dies mid-drain leaves it for the next one;
    the Notification's (user, key) uniqueness makes a second write of one event a no-op.

    `user_id` is a plain integer, not a foreign key: the change that wrote the row already holds the user,
    and a key check per money request would only lock the user row again (the drain skips a user that is
    gone or inactive, as `notification_send` always did)."""

    user_id = models.BigIntegerField()
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    key = models.CharField(max_length=120)
    params = models.JSONField(default=dict)
    link = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.key}"
