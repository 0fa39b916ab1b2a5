"""Shared model base."""

from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    """created_at from business time (timezone.now), so tests can move the clock."""

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        abstract = True
