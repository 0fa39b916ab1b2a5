"""Shared model base."""

from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    """created_at from business time (timezone.now), so tests can move the clock."""

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        abstract = True


class IdempotencyRecord(models.Model):
    """The first answer to a money-moving request, replayed for the same key and body."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    scope = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotencyrecord_user_key_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
