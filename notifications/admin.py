"""Admin: what customers were told, and when (read-only; only the notification services write)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "kind", "subject", "created_at", "emailed_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("user__email", "key", "subject")
